// `rcgate send|ask|upload|devices|users` as a person or a script runs them: the real rcgate binary
// against rcgate-api-test-server (the real ApiServer with a scripted service), asserting what is
// printed on stdout and stderr, the exit codes and what reached the API.
#include <signal.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/process.hpp"

namespace rcgate::test {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

const std::string kKey = "cli-test-key-0123456789abcdef";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

class CliApi : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.file("state"));
    server_ = Process({RCGATE_API_TEST_SERVER, "--key", kKey, "--port-file",
                       dir_.file("state/api.port"), "--calls-file", dir_.file("calls.jsonl")},
                      dir_.file("server.log"));
    ASSERT_TRUE(eventually([&] { return std::filesystem::exists(dir_.file("state/api.port")); }))
        << server_.log();
    port_ = std::stoi(read_file(dir_.file("state/api.port")));
    ASSERT_GT(port_, 0);
    config_ = write_config("api:\n  port: " + std::to_string(port_) + "\n  key: " + kKey + "\n");
  }

  void TearDown() override {
    if (server_.running()) {
      server_.signal(SIGTERM);
      EXPECT_EQ(server_.wait(5s), 0) << server_.log();
    }
  }

  std::string write_config(const std::string& api_section, const std::string& name = "rcgate.yaml") {
    const std::string path = dir_.file(name);
    std::ofstream f(path);
    f << "rocketchat:\n  url: http://127.0.0.1:1\n  auth:\n    username: camera-bot\n"
         "    password: bot-password\n"
      << "state_dir: " << dir_.file("state") << "\n"
      << api_section;
    return path;
  }

  // Runs rcgate with stdout and stderr kept apart (a shell redirects stderr to a file).
  CliRun run(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
             std::chrono::milliseconds limit = 30s) {
    const std::string n = std::to_string(++runs_);
    const std::string out = dir_.file("out-" + n), err = dir_.file("err-" + n);
    std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>\"$CLI_TEST_STDERR\"",
                                     rcgate_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto full_env = env;
    full_env["CLI_TEST_STDERR"] = err;
    Process p(argv, out, full_env);
    CliRun r;
    r.code = p.wait(limit);
    if (r.code < 0) p.signal(SIGKILL);
    r.out = read_file(out);
    r.err = read_file(err);
    return r;
  }

  std::vector<Json> calls() {
    std::vector<Json> out;
    std::istringstream in(read_file(dir_.file("calls.jsonl")));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) out.push_back(Json::parse(line));
    }
    return out;
  }

  TempDir dir_;
  Process server_;
  int port_ = 0;
  std::string config_;
  int runs_ = 0;
};

#define EXPECT_HAS(text, part) \
  EXPECT_NE((text).find(part), std::string::npos) << "missing '" << (part) << "' in:\n" << (text)

// --- send -----------------------------------------------------------------------------------

TEST_F(CliApi, SendPrintsSentAndPassesEveryField) {
  auto r = run({"send", "--config", config_, "--device", "Porte d'entrée", "--thread", "T1",
                "--ttl", "1h", "--id", "my-1", "hello", "world"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "sent\n");
  EXPECT_EQ(r.err, "");
  auto c = calls();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]["verb"], "send");
  EXPECT_EQ(c[0]["params"], (Json{{"device", "Porte d'entrée"},
                                  {"text", "hello world"},
                                  {"thread", "T1"},
                                  {"ttl", "1h"},
                                  {"id", "my-1"}}));
}

TEST_F(CliApi, SendPrintsQueuedWithTheId) {
  // Options before the command work as well.
  auto r = run({"--config", config_, "send", "--room=general", "--", "queue", "me"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "queued (id q-7)\n");
  ASSERT_EQ(calls().size(), 1u);
  EXPECT_EQ(calls()[0]["params"]["room"], "general");
}

TEST_F(CliApi, AnErrorPrintsTheSentenceAndExits1) {
  auto r = run({"send", "--config", config_, "--user", "nope", "hi"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "rcgate: no device, room or user named 'nope': see rcgate devices\n");
}

// --- usage and configuration errors ---------------------------------------------------------

TEST_F(CliApi, UsageErrorsExit64AndSayWhatIsWrong) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"send", "hi"}, "say where: --device NAME, --room NAME or --user USERNAME"},
      {{"send", "--room", "a", "--user", "b", "hi"}, "give only one of --device, --room and --user"},
      {{"send", "--room", "a"}, "the message text is missing"},
      {{"send", "--room"}, "--room needs a value"},
      {{"send", "--room", "a", "--colour", "red", "hi"}, "unknown option '--colour'"},
      {{"send", "--room", "a", "--json", "hi"}, "unknown option '--json'"},
      {{"ask", "--room", "a"}, "the question is missing"},
      {{"ask", "--room", "a", "--answers", "Yes,No", "--answer", "Maybe", "Q?"}, "either --answers"},
      {{"upload", "--room", "a"}, "give a FILE to upload or --camera NAME"},
      {{"upload", "--room", "a", "--camera", "door", "x.jpg"}, "either a FILE or --camera"},
      {{"devices", "extra"}, "unexpected argument 'extra'"},
  };
  for (const auto& [args, message] : cases) {
    auto full = args;
    full.insert(full.end(), {"--config", config_});
    auto r = run(full);
    EXPECT_EQ(r.code, 64) << args[0] << ": " << r.err;
    EXPECT_HAS(r.err, message);
    EXPECT_HAS(r.err, "(see rcgate " + args[0] + " --help)");
  }
  // The daemon's commands too: 64, no longer 2.
  EXPECT_EQ(run({"--bogus"}).code, 64);
  EXPECT_EQ(run({"bogus"}).code, 64);
  EXPECT_EQ(run({"check", "--config"}).code, 64);
  EXPECT_TRUE(calls().empty());
}

TEST_F(CliApi, HelpListsTheCommandsAndEachHasItsOwn) {
  auto help = run({"help"});
  EXPECT_EQ(help.code, 0);
  for (const char* command : {"send", "ask", "upload", "devices", "users"}) {
    EXPECT_HAS(help.out, std::string("  ") + command + " ");
    auto own = run({command, "--help"});
    EXPECT_EQ(own.code, 0) << command;
    EXPECT_EQ(own.out.rfind(std::string("usage: rcgate ") + command, 0), 0u) << own.out;
    EXPECT_HAS(own.out, "exit codes: 0 ok, 1 failure");
  }
  EXPECT_HAS(help.out, "64 usage error");
}

TEST_F(CliApi, ABadConfigurationExits78) {
  const std::string bad = dir_.file("bad.yaml");
  std::ofstream(bad) << "rocketchat:\n  url: chat.example.org\n";
  auto r = run({"send", "--config", bad, "--room", "a", "hi"});
  EXPECT_EQ(r.code, 78) << r.err;
  EXPECT_HAS(r.err, "rocketchat.url");
  auto weak = write_config("api:\n  port: 1\n  key: short\n", "weak.yaml");
  auto w = run({"devices", "--config", weak});
  EXPECT_EQ(w.code, 78) << w.err;
  EXPECT_HAS(w.err, "the key is too short");
  EXPECT_TRUE(calls().empty());
}

// --- finding the API and its key ------------------------------------------------------------

TEST_F(CliApi, AWrongKeyIsRefused) {
  auto wrong = write_config("api:\n  port: " + std::to_string(port_) +
                                "\n  key: not-the-right-key-at-all\n",
                            "wrong.yaml");
  auto r = run({"devices", "--config", wrong});
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.err, "the API key is wrong");
  EXPECT_HAS(r.err, "is not the running rcgate's");
  EXPECT_EQ(r.err.find("not-the-right-key-at-all"), std::string::npos) << "key printed";
  // RCGATE_API_KEY wins over the file, both ways.
  EXPECT_EQ(run({"devices", "--config", wrong}, {{"RCGATE_API_KEY", kKey}}).code, 0);
  EXPECT_EQ(run({"devices", "--config", config_}, {{"RCGATE_API_KEY", "also-wrong-0123456789"}}).code, 1);
  EXPECT_EQ(calls().size(), 1u);
}

TEST_F(CliApi, ADaemonThatIsNotRunningIsExplained) {
  server_.signal(SIGTERM);
  ASSERT_EQ(server_.wait(5s), 0);
  auto r = run({"send", "--config", config_, "--room", "a", "hi"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "rcgate: rcgate is not running or its API is off (could not connect to "
                   "127.0.0.1:" + std::to_string(port_) +
                       "): start it with systemctl start rcgate, and check the api: section\n");
}

TEST_F(CliApi, AnApiThatIsOffIsExplained) {
  auto off = write_config("", "off.yaml");
  auto r = run({"users", "--config", off});
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.err, "the local API is off in " + off);
}

TEST_F(CliApi, Port0MeansThePortFileInTheStateDir) {
  auto zero = write_config("api:\n  port: 0\n  key: " + kKey + "\n", "zero.yaml");
  auto r = run({"users", "--config", zero, "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  std::filesystem::remove(dir_.file("state/api.port"));
  auto gone = run({"users", "--config", zero});
  EXPECT_EQ(gone.code, 1);
  EXPECT_HAS(gone.err, dir_.file("state/api.port"));
  EXPECT_HAS(gone.err, "rcgate is not running or its API is off");
}

TEST_F(CliApi, ApiFlagAndEnvironmentKeyNeedNoConfiguration) {
  auto r = run({"users", "--api", "http://127.0.0.1:" + std::to_string(port_)},
               {{"RCGATE_API_KEY", kKey}});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_HAS(r.out, "alice");
  auto bad = run({"users", "--api", "ftp://x"}, {{"RCGATE_API_KEY", kKey}});
  EXPECT_EQ(bad.code, 64) << bad.err;
}

// --- ask ------------------------------------------------------------------------------------

TEST_F(CliApi, AskWaitsThroughLongPollsAndPrintsTheAnswer) {
  auto r = run({"ask", "--config", config_, "--room", "general", "--answers", "Yes, No",
                "--timeout", "5m", "--to", "alice", "--to", "bob", "Open", "the", "door?"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Yes\n");
  auto c = calls();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0]["verb"], "ask");
  EXPECT_EQ(c[0]["params"]["question"], "Open the door?");
  EXPECT_EQ(c[0]["params"]["answers"], Json::array({"Yes", "No"}));
  EXPECT_EQ(c[0]["params"]["timeout"], "5m");
  EXPECT_EQ(c[0]["params"]["users"], Json::array({"alice", "bob"}));
  EXPECT_TRUE(c[0]["params"]["wait"].is_number()) << c[0];
  EXPECT_EQ(c[1]["verb"], "ask_status");
  EXPECT_EQ(c[1]["params"]["id"], "a-1");
  EXPECT_TRUE(c[1]["params"]["wait"].is_number()) << c[1];
}

TEST_F(CliApi, AskJsonPrintsTheResult) {
  auto r = run({"ask", "--config", config_, "--user", "alice", "--answer", "Yes", "--answer",
                "No", "--json", "Lights off?"});
  EXPECT_EQ(r.code, 0) << r.err;
  const Json j = Json::parse(r.out);
  EXPECT_EQ(j["status"], "answered");
  EXPECT_EQ(j["answer"], "Yes");
  EXPECT_EQ(j["answered_by"]["username"], "alice");
  EXPECT_EQ(calls()[0]["params"]["answers"], Json::array({"Yes", "No"}));
}

TEST_F(CliApi, AskThatTimesOutExits2) {
  auto r = run({"ask", "--config", config_, "--room", "general", "timeout", "please"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_HAS(r.err, "timed out");
  auto j = run({"ask", "--config", config_, "--room", "general", "--json", "timeout", "again"});
  EXPECT_EQ(j.code, 2);
  EXPECT_EQ(Json::parse(j.out)["status"], "timed_out");
}

TEST_F(CliApi, AskThatIsCancelledExits1) {
  auto r = run({"ask", "--config", config_, "--room", "general", "cancel", "me"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_HAS(r.err, "cancelled");
}

TEST_F(CliApi, InterruptingAnAskCancelsIt) {
  const std::string err = dir_.file("interrupted.err");
  Process p({"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>\"$CLI_TEST_STDERR\"", rcgate_binary(), "ask",
             "--config", config_, "--room", "general", "never", "answered"},
            dir_.file("interrupted.out"), {{"CLI_TEST_STDERR", err}});
  ASSERT_TRUE(eventually([&] {
    for (const auto& c : calls()) {
      if (c["verb"] == "ask_status") return true;
    }
    return false;
  })) << read_file(err);
  p.signal(SIGINT);
  EXPECT_EQ(p.wait(10s), 1) << read_file(err);
  EXPECT_HAS(read_file(err), "interrupted: the ask a-1 was cancelled");
  auto c = calls();
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c.back()["verb"], "ask_cancel");
  EXPECT_EQ(c.back()["params"]["id"], "a-1");
}

// --- upload ---------------------------------------------------------------------------------

TEST_F(CliApi, UploadSendsTheFileItselfAsTheBody) {
  std::string bytes(300 * 1024, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 % 251);
  const std::string path = dir_.file("snap shot.jpg");
  std::ofstream(path, std::ios::binary) << bytes;
  auto r = run({"upload", "--config", config_, "--user", "alice", "--caption", "the door & more",
                "--thread", "T9", path});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "sent\n");
  auto c = calls();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0]["verb"], "upload");
  EXPECT_EQ(c[0]["params"], (Json{{"user", "alice"},
                                  {"file_name", "snap shot.jpg"},
                                  {"caption", "the door & more"},
                                  {"thread", "T9"}}));
  EXPECT_EQ(c[0]["bytes_size"], bytes.size());
  EXPECT_EQ(read_file(dir_.file("calls.jsonl.upload")), bytes);
}

TEST_F(CliApi, UploadACameraSnapshotAndItsFailure) {
  auto ok = run({"upload", "--config", config_, "--room", "general", "--camera", "door"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(ok.out, "sent\n");
  auto broken = run({"upload", "--config", config_, "--room", "general", "--camera", "broken"});
  EXPECT_EQ(broken.code, 1);
  EXPECT_EQ(broken.err, "rcgate: camera 'broken' did not answer: connect: refused\n");
  auto c = calls();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0]["params"], (Json{{"room", "general"}, {"camera", "door"}}));
  EXPECT_EQ(c[0]["bytes_size"], 0);
}

TEST_F(CliApi, UploadProblemsWithTheFile) {
  auto missing = run({"upload", "--config", config_, "--room", "general", dir_.file("nothing.jpg")});
  EXPECT_EQ(missing.code, 1);
  EXPECT_HAS(missing.err, "cannot read " + dir_.file("nothing.jpg") + ": No such file or directory");
  // Over the server's limit (max_upload_mb 2): refused, with the setting named.
  const std::string big = dir_.file("big.bin");
  std::ofstream(big, std::ios::binary) << std::string(4 * 1024 * 1024, 'x');
  auto large = run({"upload", "--config", config_, "--room", "general", big});
  EXPECT_EQ(large.code, 1) << large.err;
  EXPECT_HAS(large.err, "api.max_upload_mb");
  EXPECT_TRUE(calls().empty());
}

// --- devices and users ----------------------------------------------------------------------

// The display column where `word` starts in `line` (code points, not bytes).
std::size_t column_of(const std::string& line, const std::string& word) {
  const auto at = line.find(word);
  if (at == std::string::npos) return std::string::npos;
  std::size_t n = 0;
  for (std::size_t i = 0; i < at; ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) ++n;
  }
  return n;
}

TEST_F(CliApi, DevicesAsAnAlignedTableOrJson) {
  auto r = run({"devices", "--config", config_});
  EXPECT_EQ(r.code, 0) << r.err;
  std::istringstream in(r.out);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0].rfind("NAME", 0), 0u) << r.out;
  EXPECT_EQ(lines[1].rfind("Porte d'entrée", 0), 0u) << r.out;
  EXPECT_EQ(lines[2].rfind("garage", 0), 0u) << r.out;
  // Columns line up, accented names included.
  EXPECT_EQ(column_of(lines[0], "TYPE"), column_of(lines[1], " p ") + 1) << r.out;
  EXPECT_EQ(column_of(lines[0], "TYPE"), column_of(lines[2], " c ") + 1) << r.out;
  EXPECT_EQ(column_of(lines[0], "ID"), column_of(lines[1], "r1")) << r.out;
  EXPECT_EQ(column_of(lines[0], "ID"), column_of(lines[2], "r22")) << r.out;
  EXPECT_HAS(lines[1], "open the door");  // a newline in a cell stays on its line
  EXPECT_HAS(lines[1], " yes ");
  EXPECT_HAS(lines[2], " no ");
  EXPECT_EQ(column_of(lines[0], "LAST SENDER"), column_of(lines[2], "-")) << r.out;  // empty

  auto j = run({"devices", "--config", config_, "--json"});
  EXPECT_EQ(j.code, 0);
  const Json devices = Json::parse(j.out);
  ASSERT_TRUE(devices.is_array());
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[0]["name"], "Porte d'entrée");
}

TEST_F(CliApi, UsersAsATableOrJson) {
  auto r = run({"users", "--config", config_});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("USERNAME", 0), 0u) << r.out;
  EXPECT_HAS(r.out, "Alice Martin");
  EXPECT_HAS(r.out, "allow");
  EXPECT_HAS(r.out, "admin");
  auto j = run({"users", "--config", config_, "--json"});
  EXPECT_EQ(Json::parse(j.out)[1]["username"], "bob");
}

}  // namespace
}  // namespace rcgate::test
