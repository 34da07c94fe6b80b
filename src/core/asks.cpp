#include "core/asks.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <limits>
#include <utility>

#include "core/outbox.hpp"

namespace rcgate::core {

using json = nlohmann::json;

namespace {

constexpr int kDocumentVersion = 1;
constexpr std::int64_t kMaxTimeoutMs = 24LL * 3'600'000;
// A second click on a button (or the same answer typed again) this soon after the ask closed is
// dropped rather than handed to the engines, which would only say they did not understand.
constexpr std::int64_t kLateWindowMs = 10LL * 60'000;
constexpr std::size_t kLateKept = 100;

// ---- folding ------------------------------------------------------------------------------------

struct Fold {
  char32_t first;
  char32_t last;
  const char* ascii;
};

// Latin-1 Supplement, Latin Extended-A and a few more: upper and lower case fold to the same
// lower-case ASCII.
constexpr Fold kFolds[] = {
    {0xC0, 0xC5, "a"},     {0xC6, 0xC6, "ae"},    {0xC7, 0xC7, "c"},     {0xC8, 0xCB, "e"},
    {0xCC, 0xCF, "i"},     {0xD0, 0xD0, "d"},     {0xD1, 0xD1, "n"},     {0xD2, 0xD6, "o"},
    {0xD8, 0xD8, "o"},     {0xD9, 0xDC, "u"},     {0xDD, 0xDD, "y"},     {0xDE, 0xDE, "th"},
    {0xDF, 0xDF, "ss"},    {0xE0, 0xE5, "a"},     {0xE6, 0xE6, "ae"},    {0xE7, 0xE7, "c"},
    {0xE8, 0xEB, "e"},     {0xEC, 0xEF, "i"},     {0xF0, 0xF0, "d"},     {0xF1, 0xF1, "n"},
    {0xF2, 0xF6, "o"},     {0xF8, 0xF8, "o"},     {0xF9, 0xFC, "u"},     {0xFD, 0xFD, "y"},
    {0xFE, 0xFE, "th"},    {0xFF, 0xFF, "y"},     {0x100, 0x105, "a"},   {0x106, 0x10D, "c"},
    {0x10E, 0x111, "d"},   {0x112, 0x11B, "e"},   {0x11C, 0x123, "g"},   {0x124, 0x127, "h"},
    {0x128, 0x131, "i"},   {0x132, 0x133, "ij"},  {0x134, 0x135, "j"},   {0x136, 0x138, "k"},
    {0x139, 0x142, "l"},   {0x143, 0x14B, "n"},   {0x14C, 0x151, "o"},   {0x152, 0x153, "oe"},
    {0x154, 0x159, "r"},   {0x15A, 0x161, "s"},   {0x162, 0x167, "t"},   {0x168, 0x173, "u"},
    {0x174, 0x175, "w"},   {0x176, 0x178, "y"},   {0x179, 0x17E, "z"},   {0x17F, 0x17F, "s"},
    {0x218, 0x219, "s"},   {0x21A, 0x21B, "t"},   {0x1E9E, 0x1E9E, "ss"},
};

const char* fold_latin(char32_t cp) {
  for (const auto& f : kFolds) {
    if (cp >= f.first && cp <= f.last) return f.ascii;
  }
  return nullptr;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes one code point at text[i]; advances i. A malformed sequence yields its first byte as
// is (cp = 0x110000 + byte), so folding never loses or invents bytes.
char32_t next_code_point(std::string_view text, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  std::size_t length = 0;
  char32_t cp = 0;
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  if ((b0 & 0xE0) == 0xC0) length = 2, cp = b0 & 0x1F;
  else if ((b0 & 0xF0) == 0xE0) length = 3, cp = b0 & 0x0F;
  else if ((b0 & 0xF8) == 0xF0) length = 4, cp = b0 & 0x07;
  bool ok = length > 0 && i + length <= text.size();
  for (std::size_t k = 1; ok && k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) ok = false;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (!ok) {
    ++i;
    return 0x110000 + b0;
  }
  i += length;
  return cp;
}

bool is_space(char32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' ||
         cp == 0xA0 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000 || cp == 0xFEFF || cp == 0xA1 || cp == 0xBF;  // ¡ ¿ open a sentence
}

bool is_trailing_punctuation(char c) {
  return c == '.' || c == '!' || c == '?' || c == ',' || c == ';' || c == ':' || c == ' ';
}

std::string trim(std::string_view text) {
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  };
  std::size_t b = 0, e = text.size();
  while (b < e && space(text[b])) ++b;
  while (e > b && space(text[e - 1])) --e;
  return std::string(text.substr(b, e - b));
}

bool iequal_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto la = std::tolower(static_cast<unsigned char>(a[i]));
    const auto lb = std::tolower(static_cast<unsigned char>(b[i]));
    if (la != lb) return false;
  }
  return true;
}

std::string without_at(std::string name) {
  name = trim(name);
  if (!name.empty() && name.front() == '@') name.erase(0, 1);
  return name;
}

std::string local_hh_mm(std::int64_t epoch_ms) {
  const std::time_t t = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buffer[8];
  std::strftime(buffer, sizeof buffer, "%H:%M", &tm);
  return buffer;
}

// Replaces {name} by its value; unknown names are left as they are (the loader refuses them).
std::string render(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '{') {
      const auto close = text.find('}', i + 1);
      if (close != std::string_view::npos) {
        const auto it = values.find(std::string(text.substr(i + 1, close - i - 1)));
        if (it != values.end()) {
          out += it->second;
          i = close + 1;
          continue;
        }
      }
    }
    out.push_back(text[i++]);
  }
  return out;
}

std::string join(const std::vector<std::string>& words, std::string_view separator) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += separator;
    out += w;
  }
  return out;
}

std::optional<AskResult::Status> status_from_string(std::string_view text) {
  if (text == "open") return AskResult::Status::Open;
  if (text == "answered") return AskResult::Status::Answered;
  if (text == "timed_out") return AskResult::Status::TimedOut;
  if (text == "cancelled") return AskResult::Status::Cancelled;
  return std::nullopt;
}

}  // namespace

std::string fold_for_matching(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  const auto put = [&](std::string_view piece) {
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    out += piece;
  };
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = next_code_point(text, i);
    if (cp >= 0x110000) {  // a stray byte: kept as it is
      const char raw = static_cast<char>(cp - 0x110000);
      put(std::string_view(&raw, 1));
      continue;
    }
    if (is_space(cp)) {
      pending_space = true;
      continue;
    }
    if (cp >= 0x300 && cp <= 0x36F) continue;  // combining accents of a decomposed letter
    if (cp < 0x80) {
      const char c = static_cast<char>(std::tolower(static_cast<int>(cp)));
      put(std::string_view(&c, 1));
      continue;
    }
    if (const char* ascii = fold_latin(cp)) {
      put(ascii);
      continue;
    }
    if (cp == 0x2018 || cp == 0x2019) cp = '\'';
    else if (cp == 0x201C || cp == 0x201D) cp = '"';
    else if (cp == 0x2026) {
      put("...");
      continue;
    }
    else if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) cp += 0x20;  // Greek capitals
    else if (cp >= 0x410 && cp <= 0x42F) cp += 0x20;  // Cyrillic capitals
    else if (cp >= 0x400 && cp <= 0x40F) cp += 0x50;
    if (cp == 0x451) cp = 0x435;  // ё -> е
    std::string piece;
    append_utf8(piece, cp);
    put(piece);
  }
  while (!out.empty() && is_trailing_punctuation(out.back())) out.pop_back();
  return out;
}

std::string check_template(std::string_view text, std::initializer_list<std::string_view> allowed) {
  for (std::size_t i = text.find('{'); i != std::string_view::npos; i = text.find('{', i + 1)) {
    const auto close = text.find('}', i + 1);
    if (close == std::string_view::npos) break;
    const std::string_view name = text.substr(i + 1, close - i - 1);
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
    std::string names;
    for (const auto a : allowed) names += (names.empty() ? "{" : ", {") + std::string(a) + "}";
    return "unknown placeholder {" + std::string(name) + "}: " +
           (names.empty() ? std::string("this text takes none") : "use " + names);
  }
  return {};
}

const char* to_string(AskResult::Status status) {
  switch (status) {
    case AskResult::Status::Open: return "open";
    case AskResult::Status::Answered: return "answered";
    case AskResult::Status::TimedOut: return "timed_out";
    case AskResult::Status::Cancelled: return "cancelled";
  }
  return "open";
}

const char* to_string(AskEffect::Kind kind) {
  switch (kind) {
    case AskEffect::Kind::NotForAsks: return "not for asks";
    case AskEffect::Kind::Answered: return "answered";
    case AskEffect::Kind::NotAnAnswer: return "not an answer";
    case AskEffect::Kind::Late: return "late";
  }
  return "not for asks";
}

IncomingMessage incoming_message(const rc::Message& message, const rc::Classification& c) {
  IncomingMessage m;
  m.room_id = message.rid;
  m.thread_id = message.tmid;
  m.message_id = message.id;
  m.direct = c.direct;
  m.mentions_bot = c.mentions_bot;
  m.sender = {message.u.id, message.u.username, message.u.name};
  m.text = message.text;
  return m;
}

json AskPost::message() const {
  json m = {{"msg", text}};
  if (!room_id.empty()) m["rid"] = room_id;
  if (!thread_id.empty()) m["tmid"] = thread_id;
  if (attachments.is_array() && !attachments.empty()) m["attachments"] = attachments;
  return m;
}

// ---------------------------------------------------------------------------------------------

Asks::Asks(AskOptions options, IdMaker make_id, TimeFormat format_time, std::size_t kept_results)
    : options_(std::move(options)),
      make_id_(make_id ? std::move(make_id) : IdMaker(random_message_id)),
      format_time_(format_time ? std::move(format_time) : TimeFormat(local_hh_mm)),
      kept_results_(std::max<std::size_t>(kept_results, 1)) {}

void Asks::set_bot(std::string user_id, std::string username) {
  bot_id_ = std::move(user_id);
  bot_username_ = std::move(username);
}

AskOpened Asks::open(AskRequest request, std::int64_t now_ms) {
  AskOpened opened;
  const auto refuse = [&](std::string error) {
    opened.error = std::move(error);
    return opened;
  };
  request.question = trim(request.question);
  if (request.question.empty()) return refuse("the question is empty");
  request.room_id = trim(request.room_id);
  request.user = without_at(request.user);
  if (request.room_id.empty() && request.user.empty()) {
    return refuse("nowhere to ask: give a room id or a username");
  }
  if (!request.room_id.empty() && !request.user.empty()) {
    return refuse("give a room id or a username to ask, not both");
  }
  if (request.answers.size() > kMaxAskAnswers) {
    return refuse("at most " + std::to_string(kMaxAskAnswers) + " answers, got " +
                  std::to_string(request.answers.size()));
  }
  std::vector<std::string> folded;
  for (std::size_t i = 0; i < request.answers.size(); ++i) {
    std::string& answer = request.answers[i];
    answer = trim(answer);
    std::string f = fold_for_matching(answer);
    if (f.empty()) {
      return refuse("answer " + std::to_string(i + 1) + " is empty" +
                    (answer.empty() ? "" : " once punctuation is ignored"));
    }
    for (std::size_t j = 0; j < folded.size(); ++j) {
      if (folded[j] == f) {
        return refuse("answers '" + request.answers[j] + "' and '" + answer +
                      "' are the same once case, accents and punctuation are ignored");
      }
    }
    folded.push_back(std::move(f));
  }
  if (request.timeout.count() < 0) return refuse("the timeout must not be negative");
  if (request.timeout.count() == 0) request.timeout = options_.timeout;
  if (request.timeout.count() > kMaxTimeoutMs) {
    return refuse("the timeout must be at most 24h, got " +
                  std::to_string(request.timeout.count() / 1000) + "s");
  }
  std::vector<std::string> users;
  for (const auto& u : request.users) {
    std::string name = without_at(u);
    if (!name.empty()) users.push_back(std::move(name));
  }
  request.users = std::move(users);
  if (open_.size() >= static_cast<std::size_t>(std::max(options_.max_open, 0))) {
    return refuse("too many open asks (" + std::to_string(open_.size()) +
                  ", asks.max_open): wait for some to be answered or time out");
  }
  request.id = trim(request.id);
  if (request.id.empty()) {
    do request.id = make_id_();
    while (open_.count(request.id) != 0 || closed_.count(request.id) != 0);
  } else if (open_.count(request.id) != 0 || closed_.count(request.id) != 0) {
    return refuse("an ask with id '" + request.id + "' already exists");
  }

  AskPost& post = opened.post;
  post.room_id = request.room_id;
  post.user = request.user;
  post.thread_id = request.thread_id;
  post.text = request.question;
  json buttons = json::array();
  for (std::size_t i = 0; i < request.answers.size(); ++i) {
    post.text += "\n" + std::to_string(i + 1) + ". " + request.answers[i];
    // A click makes the clicking user send the answer text as a normal message (PROTOCOL.md
    // §7.2), which on_message() then matches like a typed answer.
    buttons.push_back({{"type", "button"},
                       {"text", request.answers[i]},
                       {"msg", request.answers[i]},
                       {"msg_in_chat_window", true},
                       {"msg_processing_type", "sendMessage"}});
  }
  if (!buttons.empty()) post.attachments = json::array({{{"actions", std::move(buttons)}}});

  Open ask;
  ask.seq = next_seq_++;
  ask.opened_ms = now_ms;
  ask.deadline_ms = now_ms + request.timeout.count();
  ask.room_id = request.room_id;
  ask.request = std::move(request);
  opened.ok = true;
  opened.id = ask.request.id;
  open_.emplace(opened.id, std::move(ask));
  ++revision_;
  return opened;
}

bool Asks::set_question_message(const std::string& id, const std::string& message_id,
                                const std::string& room_id) {
  const auto it = open_.find(id);
  if (it == open_.end()) return false;
  it->second.question_message_id = message_id;
  if (!room_id.empty()) it->second.room_id = room_id;
  ++revision_;
  return true;
}

bool Asks::may_answer(const Open& ask, const Answerer& sender) const {
  if (!bot_id_.empty() && sender.user_id == bot_id_) return false;
  if (!bot_username_.empty() && iequal_ascii(sender.username, bot_username_)) return false;
  if (!ask.request.users.empty()) {
    return std::any_of(ask.request.users.begin(), ask.request.users.end(),
                       [&](const std::string& u) { return iequal_ascii(u, sender.username); });
  }
  // A DM ask belongs to the person it was asked of.
  if (!ask.request.user.empty()) return iequal_ascii(ask.request.user, sender.username);
  return true;
}

bool Asks::in_scope(const Open& ask, const IncomingMessage& message) const {
  if (!ask.room_id.empty()) {
    if (message.room_id != ask.room_id) return false;
  } else if (!message.direct || !iequal_ascii(message.sender.username, ask.request.user)) {
    return false;
  }
  return message.thread_id.empty() || message.thread_id == ask.request.thread_id ||
         (!ask.question_message_id.empty() && message.thread_id == ask.question_message_id);
}

std::optional<int> Asks::match(const Open& ask, const std::string& folded) const {
  if (folded.empty()) return std::nullopt;
  const auto& answers = ask.request.answers;
  if (answers.empty()) return 0;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (fold_for_matching(answers[i]) == folded) return static_cast<int>(i + 1);
  }
  if (folded.size() <= 3 && std::all_of(folded.begin(), folded.end(),
                                        [](char c) { return c >= '0' && c <= '9'; })) {
    const int n = std::stoi(folded);
    if (n >= 1 && static_cast<std::size_t>(n) <= answers.size()) return n;
  }
  return std::nullopt;
}

std::string Asks::strip_bot_mention(std::string_view text) const {
  std::string t = trim(text);
  if (bot_username_.empty() || t.size() < bot_username_.size() + 1 || t[0] != '@') return t;
  if (!iequal_ascii(std::string_view(t).substr(1, bot_username_.size()), bot_username_)) return t;
  std::size_t end = bot_username_.size() + 1;
  if (end < t.size() && t[end] != ' ' && t[end] != ':' && t[end] != ',' && t[end] != '\t' &&
      t[end] != '\n') {
    return t;  // "@camera-bot2": another name
  }
  while (end < t.size() && (t[end] == ':' || t[end] == ',')) ++end;
  return trim(std::string_view(t).substr(end));
}

std::string Asks::hint_for(const Open& ask) const {
  const auto& answers = ask.request.answers;
  if (options_.hint.empty() || answers.empty()) return {};
  const std::string numbers =
      answers.size() == 1 ? "1" : "1-" + std::to_string(answers.size());
  return render(options_.hint, {{"answers", join(answers, ", ")}, {"numbers", numbers}});
}

AskEffect Asks::on_message(const IncomingMessage& message, std::int64_t now_ms) {
  AskEffect effect;
  if (!bot_id_.empty() && message.sender.user_id == bot_id_) return effect;
  const std::string text = strip_bot_mention(message.text);
  const std::string folded = fold_for_matching(text);
  if (folded.empty()) return effect;

  std::vector<Open*> candidates;
  for (auto& [id, ask] : open_) {
    if (in_scope(ask, message) && may_answer(ask, message.sender)) candidates.push_back(&ask);
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const Open* a, const Open* b) { return a->seq > b->seq; });
  for (Open* ask : candidates) {
    const auto index = match(*ask, folded);
    if (!index) continue;
    if (ask->room_id.empty()) ask->room_id = message.room_id;  // the DM, now known
    std::string answer = *index == 0 ? text : ask->request.answers[*index - 1];
    effect.kind = AskEffect::Kind::Answered;
    effect.ask_id = ask->request.id;
    effect.closed = close(ask->request.id, AskResult::Status::Answered, now_ms, message.sender,
                          std::move(answer), *index, message.message_id);
    return effect;
  }

  // A second click on a button of an ask that just closed.
  for (auto it = late_.rbegin(); it != late_.rend(); ++it) {
    const Open& ask = it->second;
    if (now_ms - it->first > kLateWindowMs || ask.request.answers.empty()) continue;
    if (!in_scope(ask, message) || !may_answer(ask, message.sender)) continue;
    const bool same = std::any_of(
        ask.request.answers.begin(), ask.request.answers.end(),
        [&](const std::string& a) { return fold_for_matching(a) == folded; });
    if (!same) continue;
    effect.kind = AskEffect::Kind::Late;
    effect.ask_id = ask.request.id;
    return effect;
  }

  if (candidates.empty()) return effect;
  const Open& newest = *candidates.front();
  const bool in_question_thread =
      !message.thread_id.empty() && (message.thread_id == newest.request.thread_id ||
                                     message.thread_id == newest.question_message_id);
  const bool meant = message.direct || !newest.request.users.empty() || in_question_thread ||
                     message.mentions_bot;
  if (!meant) return effect;
  effect.kind = AskEffect::Kind::NotAnAnswer;
  effect.ask_id = newest.request.id;
  effect.hint = hint_for(newest);
  effect.hint_room = message.room_id;
  effect.hint_thread = message.thread_id;
  return effect;
}

AskResult Asks::result_of(const Open& ask) const {
  AskResult r;
  r.id = ask.request.id;
  r.status = AskResult::Status::Open;
  r.question = ask.request.question;
  r.opened_ms = ask.opened_ms;
  r.deadline_ms = ask.deadline_ms;
  r.room_id = ask.room_id;
  r.question_message_id = ask.question_message_id;
  r.answers = ask.request.answers;
  r.user = ask.request.user;
  r.context = ask.request.context;
  r.callback_url = ask.request.callback_url;
  return r;
}

AskClosed Asks::close(const std::string& id, AskResult::Status status, std::int64_t now_ms,
                      const Answerer& by, std::string answer, int index,
                      std::string answer_message_id) {
  AskClosed closed;
  const auto it = open_.find(id);
  if (it == open_.end()) return closed;
  Open ask = std::move(it->second);
  open_.erase(it);

  AskResult& r = closed.result;
  r = result_of(ask);
  r.status = status;
  r.closed_ms = now_ms;
  std::string line;
  switch (status) {
    case AskResult::Status::Answered:
      r.answer = std::move(answer);
      r.answer_index = index;
      r.answered_by = by;
      r.answer_message_id = std::move(answer_message_id);
      line = render(options_.answered,
                    {{"answer", r.answer},
                     {"user", by.username},
                     {"name", by.name.empty() ? by.username : by.name},
                     {"time", format_time_(now_ms)}});
      break;
    case AskResult::Status::TimedOut: line = options_.timed_out; break;
    case AskResult::Status::Cancelled: line = options_.cancelled; break;
    case AskResult::Status::Open: break;
  }
  if (!ask.question_message_id.empty() && !ask.room_id.empty()) {
    closed.edit = AskEdit{ask.room_id, ask.question_message_id,
                          ask.request.question + (line.empty() ? "" : "\n" + line)};
  }
  keep(r);
  late_.emplace_back(now_ms, std::move(ask));
  while (late_.size() > kLateKept) late_.pop_front();
  ++revision_;
  return closed;
}

void Asks::keep(AskResult result) {
  const std::string id = result.id;
  if (closed_.count(id) == 0) closed_order_.push_back(id);
  closed_[id] = std::move(result);
  while (closed_order_.size() > kept_results_) {
    closed_.erase(closed_order_.front());
    closed_order_.pop_front();
  }
}

std::vector<AskClosed> Asks::expire(std::int64_t now_ms) {
  std::vector<const Open*> due;
  for (const auto& [id, ask] : open_) {
    if (ask.deadline_ms <= now_ms) due.push_back(&ask);
  }
  std::sort(due.begin(), due.end(), [](const Open* a, const Open* b) {
    return a->deadline_ms != b->deadline_ms ? a->deadline_ms < b->deadline_ms : a->seq < b->seq;
  });
  std::vector<std::string> ids;
  for (const Open* ask : due) ids.push_back(ask->request.id);
  std::vector<AskClosed> out;
  for (const auto& id : ids) out.push_back(close(id, AskResult::Status::TimedOut, now_ms));
  return out;
}

std::optional<std::int64_t> Asks::next_deadline() const {
  std::optional<std::int64_t> earliest;
  for (const auto& [id, ask] : open_) {
    if (!earliest || ask.deadline_ms < *earliest) earliest = ask.deadline_ms;
  }
  return earliest;
}

std::optional<AskClosed> Asks::cancel(const std::string& id, std::int64_t now_ms) {
  if (open_.count(id) == 0) return std::nullopt;
  return close(id, AskResult::Status::Cancelled, now_ms);
}

std::optional<AskResult> Asks::get(const std::string& id) const {
  if (const auto it = open_.find(id); it != open_.end()) return result_of(it->second);
  if (const auto it = closed_.find(id); it != closed_.end()) return it->second;
  return std::nullopt;
}

std::vector<AskResult> Asks::open_asks() const {
  std::vector<const Open*> asks;
  for (const auto& [id, ask] : open_) asks.push_back(&ask);
  std::sort(asks.begin(), asks.end(), [](const Open* a, const Open* b) { return a->seq < b->seq; });
  std::vector<AskResult> out;
  for (const Open* ask : asks) out.push_back(result_of(*ask));
  return out;
}

// ---- persistence ------------------------------------------------------------------------------

json Asks::to_json() const {
  std::vector<const Open*> asks;
  for (const auto& [id, ask] : open_) asks.push_back(&ask);
  std::sort(asks.begin(), asks.end(), [](const Open* a, const Open* b) { return a->seq < b->seq; });
  json open = json::array();
  for (const Open* ask : asks) {
    const AskRequest& r = ask->request;
    open.push_back({{"id", r.id},
                    {"question", r.question},
                    {"answers", r.answers},
                    {"users", r.users},
                    {"room_id", ask->room_id},
                    {"user", r.user},
                    {"thread_id", r.thread_id},
                    {"question_message_id", ask->question_message_id},
                    {"opened", ask->opened_ms},
                    {"deadline", ask->deadline_ms}});
    if (r.context.is_object()) open.back()["context"] = r.context;
    if (!r.callback_url.empty()) open.back()["callback_url"] = r.callback_url;
  }
  json results = json::array();
  for (const auto& id : closed_order_) {
    const AskResult& r = closed_.at(id);
    results.push_back({{"id", r.id},
                       {"status", to_string(r.status)},
                       {"question", r.question},
                       {"answer", r.answer},
                       {"answer_index", r.answer_index},
                       {"answered_by",
                        {{"user_id", r.answered_by.user_id},
                         {"username", r.answered_by.username},
                         {"name", r.answered_by.name}}},
                       {"answer_message_id", r.answer_message_id},
                       {"opened", r.opened_ms},
                       {"deadline", r.deadline_ms},
                       {"closed", r.closed_ms},
                       {"room_id", r.room_id},
                       {"question_message_id", r.question_message_id},
                       {"answers", r.answers},
                       {"user", r.user}});
    if (r.context.is_object()) results.back()["context"] = r.context;
  }
  return {{"version", kDocumentVersion}, {"open", std::move(open)}, {"results", std::move(results)}};
}

namespace {

std::string text_of(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<std::int64_t> number_of(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

// A list of strings; nullopt when present but not one.
std::optional<std::vector<std::string>> strings_of(const json& object, const char* key) {
  const auto it = object.find(key);
  std::vector<std::string> out;
  if (it == object.end() || it->is_null()) return out;
  if (!it->is_array()) return std::nullopt;
  for (const auto& v : *it) {
    if (!v.is_string()) return std::nullopt;
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

std::vector<std::string> Asks::restore(const json& document) {
  std::vector<std::string> warnings;
  if (!document.is_object()) {
    warnings.push_back("asks: not an asks document; nothing restored");
    return warnings;
  }
  if (const auto v = number_of(document, "version"); v && *v > kDocumentVersion) {
    warnings.push_back("asks: written by a newer rcgate (version " + std::to_string(*v) +
                       "); reading what it can");
  }
  const auto open = document.find("open");
  if (open != document.end() && !open->is_array()) {
    warnings.push_back("asks.open: not a list; no open ask restored");
  } else if (open != document.end()) {
    for (std::size_t i = 0; i < open->size(); ++i) {
      const json& e = (*open)[i];
      const std::string where = "asks.open[" + std::to_string(i) + "]";
      if (!e.is_object()) {
        warnings.push_back(where + ": not an object; skipped");
        continue;
      }
      Open ask;
      AskRequest& r = ask.request;
      r.id = text_of(e, "id");
      r.question = text_of(e, "question");
      const auto answers = strings_of(e, "answers");
      const auto users = strings_of(e, "users");
      const auto deadline = number_of(e, "deadline");
      std::string why;
      if (r.id.empty()) why = "no id";
      else if (r.question.empty()) why = "no question";
      else if (!answers) why = "answers is not a list of texts";
      else if (!users) why = "users is not a list of names";
      else if (!deadline) why = "no deadline";
      else if (open_.count(r.id) != 0 || closed_.count(r.id) != 0) why = "already known";
      r.user = text_of(e, "user");
      ask.room_id = text_of(e, "room_id");
      if (why.empty() && ask.room_id.empty() && r.user.empty()) why = "neither room_id nor user";
      if (!why.empty()) {
        warnings.push_back(where + (r.id.empty() ? "" : " (" + r.id + ")") + ": " + why +
                           "; skipped");
        continue;
      }
      r.answers = *answers;
      r.users = *users;
      if (r.user.empty()) r.room_id = ask.room_id;
      r.thread_id = text_of(e, "thread_id");
      if (const auto c = e.find("context"); c != e.end() && c->is_object()) r.context = *c;
      r.callback_url = text_of(e, "callback_url");
      ask.question_message_id = text_of(e, "question_message_id");
      ask.opened_ms = number_of(e, "opened").value_or(0);
      ask.deadline_ms = *deadline;
      r.timeout = ms(std::max<std::int64_t>(ask.deadline_ms - ask.opened_ms, 0));
      ask.seq = next_seq_++;
      const std::string id = r.id;
      open_.emplace(id, std::move(ask));
    }
  }
  const auto results = document.find("results");
  if (results != document.end() && !results->is_array()) {
    warnings.push_back("asks.results: not a list; no result restored");
  } else if (results != document.end()) {
    for (std::size_t i = 0; i < results->size(); ++i) {
      const json& e = (*results)[i];
      const std::string where = "asks.results[" + std::to_string(i) + "]";
      if (!e.is_object()) {
        warnings.push_back(where + ": not an object; skipped");
        continue;
      }
      AskResult r;
      r.id = text_of(e, "id");
      const auto status = status_from_string(text_of(e, "status"));
      if (r.id.empty() || !status || *status == AskResult::Status::Open ||
          open_.count(r.id) != 0 || closed_.count(r.id) != 0) {
        warnings.push_back(where + (r.id.empty() ? "" : " (" + r.id + ")") +
                           ": no id, an unknown status or already known; skipped");
        continue;
      }
      r.status = *status;
      r.question = text_of(e, "question");
      r.answer = text_of(e, "answer");
      r.answer_index = static_cast<int>(
          std::clamp<std::int64_t>(number_of(e, "answer_index").value_or(0), 0, 1000));
      if (const auto by = e.find("answered_by"); by != e.end() && by->is_object()) {
        r.answered_by = {text_of(*by, "user_id"), text_of(*by, "username"), text_of(*by, "name")};
      }
      r.answer_message_id = text_of(e, "answer_message_id");
      r.opened_ms = number_of(e, "opened").value_or(0);
      r.deadline_ms = number_of(e, "deadline").value_or(0);
      r.closed_ms = number_of(e, "closed").value_or(0);
      r.room_id = text_of(e, "room_id");
      r.question_message_id = text_of(e, "question_message_id");
      r.answers = strings_of(e, "answers").value_or(std::vector<std::string>{});
      r.user = text_of(e, "user");
      if (const auto c = e.find("context"); c != e.end() && c->is_object()) r.context = *c;
      keep(std::move(r));
    }
  }
  ++revision_;
  return warnings;
}

}  // namespace rcgate::core
