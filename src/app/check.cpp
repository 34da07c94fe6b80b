#include "app/check.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "app/app.hpp"
#include "net/loop.hpp"
#include "rocketchat/realtime_client.hpp"
#include "rocketchat/rest_client.hpp"

namespace rcgate::app {
namespace {

using json = nlohmann::json;

class Report {
 public:
  explicit Report(std::ostream& out) : out_(out) {}
  void ok(const std::string& what, const std::string& text) { line("OK  ", what, text); }
  void warn(const std::string& what, const std::string& text) {
    ++warnings_;
    line("WARN", what, text);
  }
  void fail(const std::string& what, const std::string& text) {
    ++failures_;
    line("FAIL", what, text);
  }
  void skip(const std::string& what, const std::string& text) { line("SKIP", what, text); }
  int finish() {
    out_ << "result: " << failures_ << (failures_ == 1 ? " failure, " : " failures, ")
         << warnings_ << (warnings_ == 1 ? " warning" : " warnings") << "\n";
    return failures_ == 0 && warnings_ == 0 ? 0 : 1;
  }
  bool failed() const { return failures_ > 0; }

 private:
  void line(const char* tag, const std::string& what, const std::string& text) {
    out_ << tag << "  " << what << ": " << text << "\n";
    out_.flush();
  }
  std::ostream& out_;
  int warnings_ = 0;
  int failures_ = 0;
};

// Runs the loop until the callback given to `start` has been called (or the time is up).
template <class T, class Start>
std::optional<T> await(net::Loop& loop, std::chrono::milliseconds limit, Start start) {
  std::optional<T> out;
  net::Timer timer(loop);
  timer.start(limit, [&] { loop.stop(); });
  start([&](T value) {
    out = std::move(value);
    loop.stop();
  });
  loop.restart();
  loop.run();
  return out;
}

std::string human_size(std::int64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

// DNS and TCP are checked by hand so that each gets its own line and fix.
bool check_dns_tcp(const Url& url, Report& r) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &res);
  if (rc != 0) {
    r.fail("dns", "cannot resolve '" + url.host + "': " + gai_strerror(rc) +
                      ". Fix: check rocketchat.url and this machine's DNS (/etc/resolv.conf)");
    return false;
  }
  std::string first_error;
  bool connected = false;
  std::string address;
  for (addrinfo* ai = res; ai && !connected; ai = ai->ai_next) {
    char host[NI_MAXHOST] = "";
    ::getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST);
    if (address.empty()) address = host;
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    int c = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (c != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 5000) == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        c = err == 0 ? 0 : -1;
        errno = err;
      } else {
        errno = ETIMEDOUT;
      }
    }
    if (c == 0) {
      connected = true;
      address = host;
    } else if (first_error.empty()) {
      first_error = std::string(host) + ": " + std::strerror(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  r.ok("dns", url.host + " resolves to " + address);
  if (!connected) {
    r.fail("tcp", "cannot connect to port " + std::to_string(url.port) + " (" + first_error +
                      "). Fix: is Rocket.Chat running and reachable from here (firewall, port "
                      "in rocketchat.url)?");
    return false;
  }
  r.ok("tcp", "connected to " + address + " port " + std::to_string(url.port));
  return true;
}

}  // namespace

int run_check(const config::Settings& settings, const std::string& config_path,
              std::ostream& out) {
  Report r(out);
  const auto& rs = settings.rocketchat;
  const Url server = rs.url.as_http();
  out << "rcgate check: " << server.to_string() << " (" << config_path << ")\n";
  r.ok("config", config_path + " is valid");
  if (!check_dns_tcp(server, r)) return r.finish();

  net::Loop loop;
  auto opts = realtime_options(settings);
  rc::RestOptions rest_opts;
  rest_opts.timeout = rs.request_timeout;
  rest_opts.max_rate_limit_retries = 1;
  rc::RestClient rest(loop, server, opts.tls, rest_opts);
  const auto limit = rs.request_timeout + std::chrono::milliseconds(2000);

  // TLS and the server version come from the first request.
  auto info = await<rc::RestResult>(loop, limit, [&](auto done) { rest.info(done); });
  if (!info) {
    r.fail("server", "no answer to GET /api/info within the request timeout");
    return r.finish();
  }
  if (info->stage == net::FailStage::Tls) {
    r.fail("tls", info->error +
                      ". Fix: if the server uses a private or self-signed certificate, set "
                      "rocketchat.tls.ca_file to its CA (PEM); tls.verify: false also works but "
                      "lets anyone on the network read the traffic");
    return r.finish();
  }
  if (server.secure()) {
    if (rs.tls.verify)
      r.ok("tls", "certificate verified for " + server.host);
    else
      r.warn("tls", "certificate NOT verified (rocketchat.tls.verify: false). Fix: set "
                    "rocketchat.tls.ca_file to the server's CA and turn verify back on");
  }
  if (!info->ok()) {
    r.fail("server", "GET /api/info failed: " + info->error +
                         ". Fix: is rocketchat.url the address of Rocket.Chat itself (with its "
                         "sub-path, if any)?");
    return r.finish();
  }
  std::string version = info->body.is_object() ? info->body.value("version", std::string{}) : "";
  if (version.empty() && info->body.is_object() && info->body.contains("info"))
    version = info->body["info"].value("version", std::string{});
  if (version.empty()) {
    r.warn("server", "the server did not say its version; is this Rocket.Chat?");
  } else if (std::atoi(version.c_str()) < 6) {
    r.warn("server", "Rocket.Chat " + version +
                         " is older than rcgate supports (6.0 and later). Fix: upgrade the server");
  } else {
    r.ok("server", "Rocket.Chat " + version);
  }

  // Login: a password login makes a token that is deleted again at the end, so running check
  // does not pile tokens up on the server.
  std::string user_id, token;
  bool logged_in_with_password = false;
  if (opts.credentials.uses_password()) {
    auto login = await<rc::RestResult>(loop, limit, [&](auto done) {
      rest.login_password(opts.credentials.username, opts.credentials.password, done);
    });
    if (!login || !login->ok()) {
      std::string err = login ? login->error : "no answer";
      std::string type = login ? login->error_type : "";
      if (type == "totp-required")
        r.fail("login", "the account '" + opts.credentials.username +
                            "' has two-factor authentication on. Fix: turn 2FA off for the bot, "
                            "or use a personal access token (rocketchat.auth.user_id + token)");
      else if (login && (login->status == 401 || login->status == 403))
        r.fail("login", "the server refused '" + opts.credentials.username + "' (" + err +
                            "). Fix: check rocketchat.auth.username and the password");
      else
        r.fail("login", "login failed: " + err);
      r.skip("realtime", "needs a login");
      r.skip("roles", "needs a login");
      r.skip("rooms", "needs a login");
      r.skip("uploads", "needs a login");
      return r.finish();
    }
    const json& data = login->body["data"];
    user_id = data.value("userId", "");
    token = data.value("authToken", "");
    logged_in_with_password = true;
  } else {
    user_id = opts.credentials.user_id;
    token = opts.credentials.token;
  }
  rest.set_credentials(user_id, token);
  auto me = await<rc::RestResult>(loop, limit, [&](auto done) { rest.me(done); });
  if (!me || !me->ok()) {
    r.fail("login", "GET /api/v1/me refused the credentials (" +
                        (me ? me->error : std::string("no answer")) +
                        "). Fix: check rocketchat.auth.user_id and the token");
    return r.finish();
  }
  std::string username = me->body.value("username", std::string{});
  r.ok("login", "logged in as " + username + " (" + user_id + ")" +
                    (logged_in_with_password ? " with the password" : " with the token"));

  // Realtime: a DDP session that resumes the token and subscribes, as the daemon does.
  {
    auto ropts = opts;
    ropts.credentials = {user_id, token, "", ""};
    ropts.state_dir.clear();  // check never touches the daemon's saved session
    ropts.backoff_max = ropts.backoff_initial;
    std::string failure;
    bool online = false;
    rc::RealtimeHandlers h;
    net::Timer deadline(loop);
    h.on_online = [&](const rc::Identity&) {
      online = true;
      loop.stop();
    };
    h.on_status = [&](const rc::LinkStatus& st) {
      if (st.state == rc::LinkState::BackingOff || st.state == rc::LinkState::Stopped) {
        failure = st.reason;
        loop.stop();
      }
    };
    rc::RealtimeClient client(loop, ropts, h);
    deadline.start(rs.connect_timeout + rs.request_timeout, [&] {
      failure = "no answer in time";
      loop.stop();
    });
    client.start();
    loop.restart();
    loop.run();
    client.stop();
    Url ws = rs.url.as_websocket();
    ws.path = rs.url.join("/websocket");
    if (online)
      r.ok("realtime", "logged in and subscribed over " + ws.to_string());
    else
      r.fail("realtime", "the realtime API at " + ws.to_string() + " failed: " + failure +
                             ". Fix: a reverse proxy must pass WebSocket upgrades for /websocket");
  }

  // Roles: without 'bot' the server rate-limits the account (PROTOCOL.md §2.7, §8.2).
  bool has_bot_role = false;
  if (me->body.contains("roles") && me->body["roles"].is_array()) {
    for (const auto& role : me->body["roles"])
      if (role == "bot") has_bot_role = true;
  }
  if (has_bot_role)
    r.ok("roles", username + " has the 'bot' role");
  else
    r.warn("roles", username +
                        " lacks the 'bot' role, so the server will rate-limit it (10 REST calls "
                        "a minute per endpoint). Fix: Administration > Users > " +
                        username + " > Roles: add 'bot'");

  auto subs = await<rc::RestResult>(loop, limit, [&](auto done) { rest.subscriptions(done); });
  if (!subs || !subs->ok()) {
    r.fail("rooms", "GET /api/v1/subscriptions.get failed: " +
                        (subs ? subs->error : std::string("no answer")));
  } else {
    int channels = 0, groups = 0, dms = 0, other = 0;
    const json& list = subs->body.contains("update") ? subs->body["update"] : json::array();
    for (const auto& s : list) {
      std::string t = s.value("t", "");
      if (t == "c") ++channels;
      else if (t == "p") ++groups;
      else if (t == "d") ++dms;
      else ++other;
    }
    std::string text = "member of " + std::to_string(channels + groups + other) + " rooms (" +
                       std::to_string(channels) + " public, " + std::to_string(groups) +
                       " private) and " + std::to_string(dms) + " direct conversations";
    if (channels + groups + other == 0)
      r.warn("rooms", text + ". Fix: add the bot to the rooms it should serve");
    else
      r.ok("rooms", text);
  }

  auto limit_setting = await<rc::RestResult>(
      loop, limit, [&](auto done) { rest.public_setting("FileUpload_MaxFileSize", done); });
  std::optional<std::int64_t> max_size;
  if (limit_setting && limit_setting->ok() && limit_setting->body.contains("settings")) {
    for (const auto& s : limit_setting->body["settings"])
      if (s.value("_id", "") == "FileUpload_MaxFileSize" && s.contains("value") &&
          s["value"].is_number())
        max_size = s["value"].get<std::int64_t>();
  }
  if (!max_size)
    r.warn("uploads", "the server did not say its upload size limit (FileUpload_MaxFileSize)");
  else if (*max_size < 0)
    r.ok("uploads", "no upload size limit");
  else if (*max_size == 0)
    r.warn("uploads", "uploads are limited to 0 bytes. Fix: Administration > Settings > File "
                      "Upload > Maximum File Upload Size");
  else
    r.ok("uploads", "files up to " + human_size(*max_size) + " accepted");

  if (logged_in_with_password) {
    await<rc::RestResult>(loop, limit, [&](auto done) { rest.logout(done); });
  }
  return r.finish();
}

}  // namespace rcgate::app
