#pragma once
// rcgate's command line: `rcgate [COMMAND] [--config FILE] ...`.
namespace rcgate::app {
int main(int argc, char** argv);
}
