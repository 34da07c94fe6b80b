#pragma once
// Field-by-field comparison of two rc::Message values, for the differential checks of the fast
// message path against the general one (tests/unit/rocketchat/fast_message_test.cpp and
// tests/fuzz/fuzz_ddp.cpp). Header-only and free of gtest: the fuzz target uses it too.
#include <nlohmann/json.hpp>

#include <string>

#include "rocketchat/message.hpp"

namespace rcgate::test {

// The same JSON value with the same types all the way down: nlohmann's == calls 1 and 1.0, or an
// unsigned and a signed 1, equal; a Message holding the other one would not be the same Message.
inline bool same_json(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !same_json(*it, *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!same_json(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_number_float()) return a.dump() == b.dump();  // -0.0 is not 0.0
  return a == b;
}

inline std::string describe(const rc::UserRef& u) {
  return "{id=" + u.id + " username=" + u.username + " name=" + u.name + "}";
}

inline std::string describe(const rc::Message& m) {
  auto dump = [](const nlohmann::json& j) {
    return j.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  };
  std::string out = "Message{id=" + m.id + " rid=" + m.rid + " text=" + dump(m.text) +
                    " t=" + dump(m.t) + " tmid=" + m.tmid + " tshow=" + std::to_string(m.tshow) +
                    " ts=" + std::to_string(m.ts_ms) + " updated=" + std::to_string(m.updated_ms) +
                    " edited=" + (m.edited_ms ? std::to_string(*m.edited_ms) : "-") +
                    " u=" + describe(m.u) +
                    " edited_by=" + (m.edited_by ? describe(*m.edited_by) : "-") + " mentions=[";
  for (const auto& r : m.mentions) out += describe(r);
  out += "] bot=" + std::to_string(m.from_integration) +
         " encrypted=" + std::to_string(m.encrypted) +
         " thread_counters=" + std::to_string(m.has_thread_counters) + " files=[";
  for (const auto& f : m.files) {
    out += "{" + f.id + " " + f.name + " " + f.type + " " + std::to_string(f.size) + "}";
  }
  out += "] attachments=" + dump(m.attachments) +
         " meta={present=" + std::to_string(m.meta.present) +
         " participant=" + std::to_string(m.meta.participant) + " type=" + m.meta.room_type +
         " name=" + m.meta.room_name + "}}";
  return out;
}

// The names of the fields in which a and b differ, space separated; empty when they are equal.
inline std::string message_differences(const rc::Message& a, const rc::Message& b) {
  std::string differ;
  auto check = [&](bool same, const char* field) {
    if (!same) differ += differ.empty() ? field : std::string(" ") + field;
  };
  auto same_user = [](const rc::UserRef& x, const rc::UserRef& y) {
    return x.id == y.id && x.username == y.username && x.name == y.name;
  };
  check(a.id == b.id, "id");
  check(a.rid == b.rid, "rid");
  check(a.text == b.text, "text");
  check(a.t == b.t, "t");
  check(a.tmid == b.tmid, "tmid");
  check(a.tshow == b.tshow, "tshow");
  check(a.ts_ms == b.ts_ms, "ts_ms");
  check(a.updated_ms == b.updated_ms, "updated_ms");
  check(a.edited_ms == b.edited_ms, "edited_ms");
  check(same_user(a.u, b.u), "u");
  check(a.edited_by.has_value() == b.edited_by.has_value() &&
            (!a.edited_by || same_user(*a.edited_by, *b.edited_by)),
        "edited_by");
  bool mentions = a.mentions.size() == b.mentions.size();
  for (std::size_t i = 0; mentions && i < a.mentions.size(); ++i) {
    mentions = same_user(a.mentions[i], b.mentions[i]);
  }
  check(mentions, "mentions");
  check(a.from_integration == b.from_integration, "from_integration");
  check(a.encrypted == b.encrypted, "encrypted");
  check(a.has_thread_counters == b.has_thread_counters, "has_thread_counters");
  bool files = a.files.size() == b.files.size();
  for (std::size_t i = 0; files && i < a.files.size(); ++i) {
    files = a.files[i].id == b.files[i].id && a.files[i].name == b.files[i].name &&
            a.files[i].type == b.files[i].type && a.files[i].size == b.files[i].size;
  }
  check(files, "files");
  check(same_json(a.attachments, b.attachments), "attachments");
  check(a.meta.present == b.meta.present && a.meta.participant == b.meta.participant &&
            a.meta.room_type == b.meta.room_type && a.meta.room_name == b.meta.room_name,
        "meta");
  return differ;
}

}  // namespace rcgate::test
