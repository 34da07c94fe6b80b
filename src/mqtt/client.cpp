#include "mqtt/client.hpp"

#include <mosquitto.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "core/backoff.hpp"
#include "net/fd_watch.hpp"
#include "net/loop.hpp"

namespace rcgate::mqtt {

namespace {

using namespace std::chrono_literals;

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string error_text(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(errno);
  if (rc == MOSQ_ERR_TLS)
    return "TLS failed: is the broker's certificate signed by mqtt.tls.ca_file (or a system CA), "
           "and does it name mqtt.host? Does the broker speak TLS on this port?";
  return mosquitto_strerror(rc);
}

}  // namespace

struct Client::Impl {
  Impl(net::Loop& loop, ClientOptions options, ClientHandlers handlers)
      : loop(loop),
        options(std::move(options)),
        handlers(std::move(handlers)),
        backoff(this->options.backoff_initial, this->options.backoff_max),
        retry_timer(loop),
        misc_timer(loop),
        connect_timer(loop) {
    init_library();
    mosq = mosquitto_new(this->options.client_id.c_str(), /*clean_session=*/true, this);
    if (!mosq) throw std::runtime_error("mqtt: cannot create a client: " + error_text(MOSQ_ERR_ERRNO));
    mosquitto_connect_callback_set(mosq, &Impl::on_connect_cb);
    mosquitto_disconnect_callback_set(mosq, &Impl::on_disconnect_cb);
    mosquitto_message_callback_set(mosq, &Impl::on_message_cb);
    configure();
  }

  ~Impl() {
    watch.reset();  // before libmosquitto closes the socket
    mosquitto_destroy(mosq);
  }

  void configure() {
    const auto& o = options;
    if (!o.will_topic.empty()) {
      mosquitto_will_set(mosq, o.will_topic.c_str(), static_cast<int>(o.will_payload.size()),
                         o.will_payload.data(), 1, true);
    }
    if (!o.username.empty()) {
      mosquitto_username_pw_set(mosq, o.username.c_str(),
                                o.password.empty() ? nullptr : o.password.c_str());
    }
    if (o.tls) {
      int rc = MOSQ_ERR_SUCCESS;
      if (!o.ca_file.empty())
        rc = mosquitto_tls_set(mosq, o.ca_file.c_str(), nullptr, nullptr, nullptr, nullptr);
      else
        rc = mosquitto_int_option(mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
      if (rc != MOSQ_ERR_SUCCESS)
        throw std::runtime_error("mqtt: TLS set-up failed (ca_file '" + o.ca_file +
                                 "'): " + error_text(rc));
      if (!o.tls_verify) {
        mosquitto_tls_opts_set(mosq, /*SSL_VERIFY_NONE*/ 0, nullptr, nullptr);
        mosquitto_tls_insecure_set(mosq, true);
      }
    }
  }

  std::string where() const {
    return std::string(options.tls ? "mqtts://" : "mqtt://") + options.host + ":" +
           std::to_string(options.port);
  }

  // ---- connecting

  void do_connect() {
    if (stopped) return;
    watch.reset();  // libmosquitto closes the old socket first
    const int rc = first_attempt
                       ? mosquitto_connect_async(mosq, options.host.c_str(), options.port,
                                                 static_cast<int>(options.keepalive.count()))
                       : mosquitto_reconnect_async(mosq);
    if (rc != MOSQ_ERR_SUCCESS) {
      // Checked once: a wrong host or a refused port is reported from the next attempt on, too.
      return on_lost("connect: " + error_text(rc));
    }
    first_attempt = false;
    connecting = true;
    connect_timer.start(options.connect_timeout, [this] {
      if (connecting) on_lost("no answer from the broker within " +
                              std::to_string(options.connect_timeout.count()) + " ms");
    });
    sync_watch();
    arm_misc();
  }

  void on_connack(int rc) {
    connect_timer.cancel();
    connecting = false;
    if (rc != 0) {
      refused_reason = std::string("the broker refused the connection: ") +
                       mosquitto_connack_string(rc) +
                       (rc == 4 || rc == 5 ? " (check mqtt.username and the password)" : "");
      return;  // libmosquitto reports the failure from loop_read: on_lost follows
    }
    backoff.reset();
    was_connected = true;
    is_connected = true;
    spdlog::info("mqtt: connected to {} as '{}'", where(), options.client_id);
    for (const auto& [pattern, qos] : subscriptions)
      mosquitto_subscribe(mosq, nullptr, pattern.c_str(), qos);
    if (handlers.on_connected) handlers.on_connected();
  }

  void on_lost(const std::string& why) {
    if (stopped) return;
    std::string reason = refused_reason.empty() ? why : refused_reason;
    refused_reason.clear();
    watch.reset();
    connect_timer.cancel();
    misc_timer.cancel();
    connecting = false;
    const bool had = is_connected;
    is_connected = false;
    const auto delay = backoff.next();
    if (had) {
      spdlog::warn("mqtt: lost the connection to {}: {}; reconnecting in {} ms", where(), reason,
                   delay.count());
      if (handlers.on_disconnected) handlers.on_disconnected(reason);
    } else {
      spdlog::warn("mqtt: cannot connect to {}: {}; retrying in {} ms", where(), reason,
                   delay.count());
    }
    retry_timer.start(delay, [this] { do_connect(); });
  }

  // ---- driving libmosquitto

  // Watches the current socket: readable always, writable while output is queued. A socket
  // libmosquitto replaced or closed is let go of first.
  void sync_watch() {
    if (stopped) return;
    const int fd = mosquitto_socket(mosq);
    if (watch && watch->fd() != fd) watch.reset();
    if (fd < 0) return;
    if (!watch) watch = std::make_unique<net::FdWatch>(loop, fd);
    if (!watch->waiting_readable()) watch->wait_readable([this](bool) { on_io(false); });
    if (mosquitto_want_write(mosq) && !watch->waiting_writable())
      watch->wait_writable([this](bool) { on_io(true); });
  }

  void on_io(bool write) {
    const int rc = write ? mosquitto_loop_write(mosq, 64) : mosquitto_loop_read(mosq, 64);
    after(rc, write ? "write" : "read");
  }

  void after(int rc, const char* what) {
    if (rc != MOSQ_ERR_SUCCESS) return on_lost(std::string(what) + ": " + error_text(rc));
    sync_watch();
  }

  // libmosquitto's keepalive (PINGREQ, and giving up on a silent broker) runs in loop_misc.
  void arm_misc() {
    const auto every = std::clamp<std::chrono::milliseconds>(options.keepalive / 4, 1s, 15s);
    misc_timer.start(every, [this] {
      if (stopped || mosquitto_socket(mosq) < 0) return;
      after(mosquitto_loop_misc(mosq), "keepalive");
      if (!stopped && mosquitto_socket(mosq) >= 0) arm_misc();
    });
  }

  // ---- libmosquitto's callbacks (called inside loop_read/write, on the loop thread)

  static void on_connect_cb(mosquitto*, void* self, int rc) { static_cast<Impl*>(self)->on_connack(rc); }
  static void on_disconnect_cb(mosquitto*, void*, int) {
    // The loop_* call that noticed returns an error too: on_lost runs from there.
  }
  static void on_message_cb(mosquitto*, void* self, const mosquitto_message* m) {
    auto* impl = static_cast<Impl*>(self);
    if (!impl->handlers.on_message || !m->topic) return;
    std::string payload(static_cast<const char*>(m->payload), static_cast<std::size_t>(m->payloadlen));
    impl->handlers.on_message(m->topic, payload, m->retain);
  }

  // ---- the orderly end

  void stop(const std::string& topic, const std::string& payload, std::chrono::milliseconds flush) {
    if (stopped) return;
    stopped = true;
    retry_timer.cancel();
    misc_timer.cancel();
    connect_timer.cancel();
    watch.reset();  // the flush below is synchronous
    if (!is_connected) return;
    is_connected = false;
    if (!topic.empty())
      mosquitto_publish(mosq, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                        payload.data(), 1, true);
    mosquitto_disconnect(mosq);
    const auto deadline = std::chrono::steady_clock::now() + flush;
    while (mosquitto_socket(mosq) >= 0 && mosquitto_want_write(mosq)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{mosquitto_socket(mosq), POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      if (mosquitto_loop_write(mosq, 64) != MOSQ_ERR_SUCCESS) break;
    }
  }

  net::Loop& loop;
  ClientOptions options;
  ClientHandlers handlers;
  Backoff backoff;
  net::Timer retry_timer;
  net::Timer misc_timer;
  net::Timer connect_timer;
  mosquitto* mosq = nullptr;
  std::unique_ptr<net::FdWatch> watch;
  std::vector<std::pair<std::string, int>> subscriptions;
  std::string refused_reason;
  bool first_attempt = true;
  bool connecting = false;
  bool is_connected = false;
  bool was_connected = false;
  bool stopped = false;
};

Client::Client(net::Loop& loop, ClientOptions options, ClientHandlers handlers)
    : impl_(std::make_unique<Impl>(loop, std::move(options), std::move(handlers))) {}

Client::~Client() = default;

void Client::start() {
  impl_->stopped = false;
  impl_->do_connect();
}

void Client::stop(const std::string& final_topic, const std::string& final_payload,
                  std::chrono::milliseconds flush) {
  impl_->stop(final_topic, final_payload, flush);
}

bool Client::connected() const { return impl_->is_connected; }

bool Client::publish(const std::string& topic, const std::string& payload, bool retain, int qos) {
  if (!impl_->is_connected) return false;
  const int rc = mosquitto_publish(impl_->mosq, nullptr, topic.c_str(),
                                   static_cast<int>(payload.size()), payload.data(), qos, retain);
  if (rc != MOSQ_ERR_SUCCESS) {
    spdlog::warn("mqtt: cannot publish on {}: {}", topic, error_text(rc));
    return false;
  }
  impl_->sync_watch();  // what did not fit in the socket waits for it to be writable
  return true;
}

void Client::subscribe(const std::string& pattern, int qos) {
  impl_->subscriptions.emplace_back(pattern, qos);
  if (impl_->is_connected) {
    mosquitto_subscribe(impl_->mosq, nullptr, pattern.c_str(), qos);
    impl_->sync_watch();
  }
}

std::string Client::where() const { return impl_->where(); }

}  // namespace rcgate::mqtt
