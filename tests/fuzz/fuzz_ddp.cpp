// libFuzzer target: the whole path a server frame takes in rcgate's realtime client. The input
// is one WebSocket text frame: ddp::parse, then for stream events (changed on
// stream-room-messages / stream-notify-user) the message model and the classifier, as
// RealtimeClient and Gateway do. A frame that parses is encoded again the way the simulator
// writes it and must parse back to the same type and id. The fast path for message events
// (rc::FastMessageParser) reads every input too: when it returns a Message, the general path must
// deliver the same Message.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "rocketchat/classifier.hpp"
#include "rocketchat/ddp/codec.hpp"
#include "rocketchat/fast_message.hpp"
#include "rocketchat/message.hpp"
#include "support/message_compare.hpp"

namespace {

using rcgate::ddp::Type;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_ddp: %s\n", what);
  std::abort();
}

// The frame as the simulator would send it; empty for frames it never sends.
std::string encode_again(const rcgate::ddp::Frame& f) {
  namespace ddp = rcgate::ddp;
  switch (f.type) {
    case Type::Ping: return ddp::encode_ping(f.id);
    case Type::Pong: return ddp::encode_pong(f.id);
    case Type::Connected: return ddp::encode_connected(f.session);
    case Type::Ready: return ddp::encode_ready(f.ids);
    case Type::Updated: return ddp::encode_updated(f.ids);
    case Type::NoSub: return ddp::encode_nosub(f.id, f.error);
    case Type::Result:
      if (f.error) return ddp::encode_result_error(f.id, *f.error);
      return f.has_result ? ddp::encode_result(f.id, f.result) : ddp::encode_result_empty(f.id);
    case Type::Changed:
      if (!f.event_name.empty() && f.args.is_array())
        return ddp::encode_stream_event(f.collection, f.event_name, f.args);
      return {};
    default: return {};
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace ddp = rcgate::ddp;
  namespace rc = rcgate::rc;
  // One classifier for the whole run, small so that its eviction is exercised too.
  static rc::Classifier classifier("rocket.cat-bot-id", 32, 60000);

  static rc::FastMessageParser fast_path;

  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Called on every input, not only where RealtimeClient's cheap check would: the parser must
  // refuse everything else by itself.
  const auto fast = fast_path.parse(text);
  if (fast && !rc::FastMessageParser::worth_trying(text)) {
    fail("the fast path took a frame the cheap check skips");
  }
  std::string why;
  const auto frame = ddp::parse(text, &why);
  if (!frame) {
    if (why.empty()) fail("parse refused a frame without saying why");
    if (fast) {
      std::fprintf(stderr, "general path: %s\nfast path: %s\n", why.c_str(),
                   rcgate::test::describe(*fast).c_str());
      fail("the fast path took a frame the general path refuses");
    }
    return 0;
  }
  (void)ddp::to_string(frame->type);
  if (frame->error) {
    (void)frame->error->describe();
    (void)frame->error->time_to_reset_ms();
    (void)frame->error->to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

  // Stream events: the message model, then the classifier (RealtimeClient -> Gateway).
  std::optional<rc::Message> general;
  if (frame->type == Type::Changed && frame->args.is_array()) {
    std::string message_why;
    if (const auto m = rc::parse_stream_args(frame->args, &message_why)) {
      if (frame->collection == "stream-room-messages") general = m;
      const auto c = classifier.classify(*m);
      (void)rc::to_string(c.kind);
      (void)rc::format_iso_time(m->ts_ms);
      if (m->edited_ms) (void)rc::format_iso_time(*m->edited_ms);
    } else if (message_why.empty()) {
      fail("parse_stream_args refused args without saying why");
    }
  }
  if (fast) {
    if (!general) {
      std::fprintf(stderr, "fast path: %s\n", rcgate::test::describe(*fast).c_str());
      fail("the fast path took a message event the general path refuses");
    }
    const std::string differ = rcgate::test::message_differences(*fast, *general);
    if (!differ.empty()) {
      std::fprintf(stderr, "differ: %s\nfast path:    %s\ngeneral path: %s\n", differ.c_str(),
                   rcgate::test::describe(*fast).c_str(), rcgate::test::describe(*general).c_str());
      fail("the fast path read a message event differently");
    }
  }
  // Collections (rooms, subscriptions) carry message-like documents in their fields.
  if ((frame->type == Type::Added || frame->type == Type::Changed) && frame->fields.is_object()) {
    if (const auto last = frame->fields.find("lastMessage"); last != frame->fields.end()) {
      std::string message_why;
      (void)rc::parse_message(*last, nullptr, &message_why);
    }
  }
  if (frame->result.is_object()) {
    for (const char* key : {"ts", "_updatedAt", "tokenExpires", "date"}) {
      if (const auto v = frame->result.find(key); v != frame->result.end()) (void)ddp::ejson_date(*v);
    }
  }

  // What the simulator writes for this frame must read back the same.
  const std::string again = encode_again(*frame);
  if (!again.empty()) {
    std::string again_why;
    const auto back = ddp::parse(again, &again_why);
    if (!back) {
      std::fprintf(stderr, "re-encoded: %s\nrefused: %s\n", again.c_str(), again_why.c_str());
      fail("a re-encoded frame does not parse");
    }
    // A stream event's id means nothing (servers send "id":"id"); the simulator writes "id".
    const bool same_id = frame->type == Type::Changed || back->id == frame->id;
    if (back->type != frame->type || !same_id || back->ids != frame->ids ||
        back->session != frame->session || back->event_name != frame->event_name ||
        back->collection != frame->collection || back->has_result != frame->has_result ||
        back->error.has_value() != frame->error.has_value()) {
      std::fprintf(stderr, "re-encoded: %s\n", again.c_str());
      fail("a re-encoded frame reads back differently");
    }
    if (frame->error && (back->error->code != frame->error->code ||
                         back->error->numeric != frame->error->numeric ||
                         back->error->reason != frame->error->reason)) {
      std::fprintf(stderr, "re-encoded: %s\n", again.c_str());
      fail("a re-encoded error reads back differently");
    }
  }
  return 0;
}
