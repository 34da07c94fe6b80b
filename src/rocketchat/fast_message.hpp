#pragma once
// The fast path for the frame rcgate receives most: a message event on stream-room-messages
// (PROTOCOL.md §3.1, §5). ddp::parse builds a DOM of the whole frame (the message's markdown AST
// included) and spent most of the time per message (issue 7, callgrind); this reader walks the
// frame once with simdjson's On-Demand parser and copies out only what parse_message reads.
//
// It accepts only a frame it is sure about: well-formed JSON, exactly
//   {"msg":"changed","collection":"stream-room-messages","id":<string>,
//    "fields":{"eventName":<string>,"args":[<message object>,<meta object>]}}
// in any key order, other keys ignored. For anything else (the 4.x nested form, a missing meta, a
// duplicated key it reads, a `t` that is not a string, a fractional number outside attachments,
// invalid JSON or UTF-8, frames over kMaxFrameBytes, ...) it returns nullopt and the caller takes
// the general path (ddp::parse + parse_stream_args), which stays the reference and logs why a
// frame is refused. When it returns a Message, that Message equals the general path's.
//
// simdjson's headers stay in fast_message.cpp (like Asio in src/net): this header is free of them.
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "rocketchat/message.hpp"

namespace rcgate::rc {

class FastMessageParser {
 public:
  // Larger frames go to the general path: the parser keeps buffers sized to the largest frame it
  // read (about 6 bytes per byte of JSON), and a chat message is a few KiB.
  static constexpr std::size_t kMaxFrameBytes = 32 * 1024;

  FastMessageParser();
  ~FastMessageParser();
  FastMessageParser(const FastMessageParser&) = delete;
  FastMessageParser& operator=(const FastMessageParser&) = delete;

  // A cheap look at the text: false when it cannot be a frame parse() accepts.
  static bool worth_trying(std::string_view frame_text);

  // The message of a stream-room-messages event, or nullopt when the frame is anything else or
  // anything unusual (see above). Never throws for any input.
  std::optional<Message> parse(std::string_view frame_text);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace rcgate::rc
