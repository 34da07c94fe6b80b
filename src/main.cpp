#include "app/cli.hpp"

int main(int argc, char** argv) { return rcgate::app::main(argc, argv); }
