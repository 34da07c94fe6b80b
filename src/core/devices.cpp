#include "core/devices.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <unordered_set>
#include <utility>

namespace rcgate::core {

bool is_device_room(std::string_view type) { return type == "c" || type == "p"; }

const char* to_string(DeviceChange::What what) {
  using W = DeviceChange::What;
  switch (what) {
    case W::Added:
      return "added";
    case W::Renamed:
      return "renamed";
    case W::Updated:
      return "updated";
    case W::Available:
      return "available";
    case W::Unavailable:
      return "unavailable";
    case W::LastMessage:
      return "last-message";
    case W::CommandAdded:
      return "command-added";
    case W::CommandRemoved:
      return "command-removed";
    case W::Settings:
      return "settings";
    case W::Pruned:
      return "pruned";
  }
  return "unknown";
}

namespace {

std::string mention_command_id(const Person& person) { return "@" + person.username; }

std::string display_name(const RoomInfo& room) {
  return room.fname.empty() ? room.name : room.fname;
}

}  // namespace

std::vector<Command> commands_of(const Device& device) {
  std::vector<Command> commands = {
      {"send", CommandKind::Action, {}},
      {"last_message", CommandKind::Info, {}},
      {"last_sender", CommandKind::Info, {}},
      {"last_message_at", CommandKind::Info, {}},
  };
  if (device.mention_commands) {
    for (const auto& person : device.persons) {
      commands.push_back({mention_command_id(person), CommandKind::Action, person.username});
    }
  }
  return commands;
}

DeviceRegistry::DeviceRegistry(DeviceOptions options) : options_(std::move(options)) {}

bool DeviceRegistry::effective_mention_commands(const Device& device) const {
  if (device.mention_commands_override) return *device.mention_commands_override;
  // By id first: it survives renames, so it is the more deliberate choice when both match.
  for (const std::string* key : {&device.id, &device.room_name, &device.name}) {
    if (key->empty()) continue;
    const auto it = options_.rooms.find(*key);
    if (it != options_.rooms.end() && it->second.mention_commands) {
      return *it->second.mention_commands;
    }
  }
  return options_.mention_commands;
}

// Recomputes the effective flag and reports the commands that appear or disappear with it.
void DeviceRegistry::apply_mention_flag(Device& device, DeviceChanges& changes) {
  const bool enabled = effective_mention_commands(device);
  if (enabled == device.mention_commands) return;
  device.mention_commands = enabled;
  changes.push_back({device.id, DeviceChange::What::Settings, enabled ? "on" : "off"});
  for (const auto& person : device.persons) {
    changes.push_back(
        {device.id, enabled ? DeviceChange::What::CommandAdded : DeviceChange::What::CommandRemoved,
         mention_command_id(person)});
  }
  touch();
}

DeviceChanges DeviceRegistry::set_options(DeviceOptions options) {
  options_ = std::move(options);
  DeviceChanges changes;
  for (const Device* device : devices()) {
    apply_mention_flag(devices_.at(device->id), changes);
  }
  return changes;
}

DeviceChanges DeviceRegistry::upsert_room(const RoomInfo& room) {
  DeviceChanges changes;
  if (room.id.empty() || !is_device_room(room.type)) return changes;
  using W = DeviceChange::What;
  const auto [it, inserted] = devices_.try_emplace(room.id);
  Device& device = it->second;
  if (inserted) {
    device.id = room.id;
    device.name = display_name(room);
    device.room_name = room.name;
    device.type = room.type;
    device.parent_id = room.parent_id;
    device.team_id = room.team_id;
    device.team_main = room.team_main;
    device.available = true;
    device.mention_commands = effective_mention_commands(device);
    changes.push_back({device.id, W::Added, {}});
    touch();
    return changes;
  }
  if (!device.available) {
    device.available = true;
    changes.push_back({device.id, W::Available, {}});
  }
  // A partial document (an update that carries only some fields) must not blank the name.
  const std::string name = display_name(room);
  bool quietly_changed = false;
  if (!room.name.empty() && room.name != device.room_name) {
    device.room_name = room.name;  // only the URL name changed: nothing to show, but to save
    quietly_changed = true;
  }
  if (!name.empty() && name != device.name) {
    changes.push_back({device.id, W::Renamed, std::exchange(device.name, name)});
  }
  if (room.type != device.type || room.parent_id != device.parent_id ||
      room.team_id != device.team_id || room.team_main != device.team_main) {
    device.type = room.type;
    device.parent_id = room.parent_id;
    device.team_id = room.team_id;
    device.team_main = room.team_main;
    changes.push_back({device.id, W::Updated, {}});
  }
  // A new name may match (or stop matching) a per-room override.
  apply_mention_flag(device, changes);
  if (quietly_changed || !changes.empty()) touch();
  return changes;
}

DeviceChanges DeviceRegistry::remove_room(const std::string& room_id) {
  DeviceChanges changes;
  const auto it = devices_.find(room_id);
  if (it == devices_.end() || !it->second.available) return changes;
  it->second.available = false;
  changes.push_back({room_id, DeviceChange::What::Unavailable, {}});
  touch();
  return changes;
}

DeviceChanges DeviceRegistry::reconcile(const std::vector<RoomInfo>& rooms) {
  DeviceChanges changes;
  std::unordered_set<std::string> present;
  for (const auto& room : rooms) {
    if (!is_device_room(room.type)) continue;
    present.insert(room.id);
    auto room_changes = upsert_room(room);
    changes.insert(changes.end(), room_changes.begin(), room_changes.end());
  }
  for (const Device* device : devices()) {
    if (present.count(device->id) == 0) {
      auto gone = remove_room(device->id);
      changes.insert(changes.end(), gone.begin(), gone.end());
    }
  }
  return changes;
}

DeviceChanges DeviceRegistry::on_message(const MessageSeen& message) {
  DeviceChanges changes;
  const auto it = devices_.find(message.room_id);
  if (it == devices_.end() || !it->second.available) return changes;
  if (message.sender_id.empty() || message.sender_id == self_id_) return changes;
  Device& device = it->second;

  if (message.edit) {
    if (!message.message_id.empty() && message.message_id == device.last.id &&
        message.text != device.last.text) {
      device.last.text = message.text;
      changes.push_back({device.id, DeviceChange::What::LastMessage, {}});
      touch();
    }
    return changes;  // an edit says nothing new about who speaks here
  }

  auto person = std::find_if(device.persons.begin(), device.persons.end(),
                             [&](const Person& p) { return p.user_id == message.sender_id; });
  if (person == device.persons.end()) {
    device.persons.push_back({message.sender_id, message.sender_username, message.sender_name,
                              message.ts_ms, message.ts_ms});
    if (device.mention_commands && !message.sender_username.empty()) {
      changes.push_back(
          {device.id, DeviceChange::What::CommandAdded, mention_command_id(device.persons.back())});
    }
    touch();
  } else {
    if (person->username != message.sender_username && !message.sender_username.empty()) {
      // A renamed account keeps its person; its mention command follows the new username.
      if (device.mention_commands) {
        changes.push_back(
            {device.id, DeviceChange::What::CommandRemoved, mention_command_id(*person)});
      }
      person->username = message.sender_username;
      if (device.mention_commands) {
        changes.push_back(
            {device.id, DeviceChange::What::CommandAdded, mention_command_id(*person)});
      }
    }
    if (!message.sender_name.empty()) person->display_name = message.sender_name;
    person->first_seen_ms = std::min(person->first_seen_ms, message.ts_ms);
    person->last_seen_ms = std::max(person->last_seen_ms, message.ts_ms);
    touch();
  }

  const bool newer = device.last.id.empty() || message.ts_ms >= device.last.at_ms;
  if (newer && message.message_id != device.last.id) {
    device.last = {message.message_id,      message.text,        message.sender_id,
                   message.sender_username, message.sender_name, message.ts_ms};
    changes.push_back({device.id, DeviceChange::What::LastMessage, {}});
    touch();
  }
  return changes;
}

DeviceChanges DeviceRegistry::set_mention_commands(const std::string& device_id,
                                                   std::optional<bool> enabled) {
  DeviceChanges changes;
  const auto it = devices_.find(device_id);
  if (it == devices_.end()) return changes;
  if (it->second.mention_commands_override != enabled) {
    it->second.mention_commands_override = enabled;
    touch();  // saved even when the effective flag stays the same
  }
  apply_mention_flag(it->second, changes);
  return changes;
}

DeviceChanges DeviceRegistry::prune(const std::string& device_id, std::string* error) {
  DeviceChanges changes;
  const auto it = devices_.find(device_id);
  if (it == devices_.end()) {
    if (error) *error = "no device '" + device_id + "'";
    return changes;
  }
  if (it->second.available) {
    if (error) {
      *error = "device '" + device_id + "' (" + it->second.name +
               ") is still available: remove the bot from the room first";
    }
    return changes;
  }
  devices_.erase(it);
  changes.push_back({device_id, DeviceChange::What::Pruned, {}});
  touch();
  return changes;
}

const Device* DeviceRegistry::find(const std::string& device_id) const {
  const auto it = devices_.find(device_id);
  return it == devices_.end() ? nullptr : &it->second;
}

std::vector<const Device*> DeviceRegistry::devices() const {
  std::vector<const Device*> out;
  out.reserve(devices_.size());
  for (const auto& [id, device] : devices_) out.push_back(&device);
  std::sort(out.begin(), out.end(), [](const Device* a, const Device* b) {
    return a->name != b->name ? a->name < b->name : a->id < b->id;
  });
  return out;
}

std::vector<Device> DeviceRegistry::snapshot() const {
  std::vector<Device> out;
  for (const Device* device : devices()) out.push_back(*device);
  return out;
}

void DeviceRegistry::restore(std::vector<Device> devices) {
  devices_.clear();
  for (auto& device : devices) {
    if (device.id.empty()) continue;
    device.mention_commands = effective_mention_commands(device);
    std::string id = device.id;
    devices_.insert_or_assign(std::move(id), std::move(device));
  }
  touch();
}

// ---------------------------------------------------------------------------------------------
// send options

namespace {

struct OptionField {
  const char* key;
  std::string SendOptions::*field;
};
constexpr std::array<OptionField, 6> kSendFields = {{
    {"text", &SendOptions::text},
    {"file", &SendOptions::file},
    {"description", &SendOptions::description},
    {"title", &SendOptions::title},
    {"color", &SendOptions::color},
    {"thread", &SendOptions::thread},
}};

std::string known_send_keys() {
  std::string out;
  for (const auto& f : kSendFields) out += (out.empty() ? "" : ", ") + std::string(f.key);
  return out;
}

const OptionField* send_field(std::string_view key) {
  for (const auto& f : kSendFields) {
    if (key == f.key) return &f;
  }
  return nullptr;
}

// Levenshtein distance, case-insensitive, for "did you mean".
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      const std::size_t next = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = row[j];
      row[j] = next;
    }
  }
  return row[b.size()];
}

std::string unknown_key_message(const std::vector<std::string>& unknown) {
  std::string out = unknown.size() == 1 ? "unknown option " : "unknown options ";
  for (std::size_t i = 0; i < unknown.size(); ++i) {
    out += (i ? ", '" : "'") + unknown[i] + "'";
    const char* best = nullptr;
    std::size_t best_distance = 3;  // at most two edits away
    for (const auto& f : kSendFields) {
      const std::size_t d = distance(unknown[i], f.key);
      if (d < best_distance) best = f.key, best_distance = d;
    }
    if (best) out += std::string(" (did you mean '") + best + "'?)";
  }
  return out + "; known options: " + known_send_keys();
}

bool valid_color(std::string_view color) {
  if (!color.empty() && color.front() == '#') {
    const auto digits = color.substr(1);
    const bool hex = std::all_of(digits.begin(), digits.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) != 0;
    });
    return hex &&
           (digits.size() == 3 || digits.size() == 4 || digits.size() == 6 || digits.size() == 8);
  }
  return !color.empty() && std::all_of(color.begin(), color.end(), [](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) != 0;
  });
}

// Checks that hold however the options were given.
void check_send_options(const SendOptions& options, std::vector<std::string>& errors) {
  if (!options.color.empty() && !valid_color(options.color)) {
    errors.push_back("color must be #rgb, #rgba, #rrggbb, #rrggbbaa or a colour name, got '" +
                     options.color + "'");
  }
}

std::string join_errors(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += (out.empty() ? "" : "; ") + e;
  return out;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::optional<SendOptions> parse_send_options(std::string_view text, std::string* error) {
  SendOptions options;
  std::vector<std::string> errors;
  std::vector<std::string> unknown;
  std::vector<std::string> given;
  std::size_t i = 0;
  while (true) {
    while (i < text.size() && is_blank(text[i])) ++i;
    if (i >= text.size()) break;
    const std::size_t start = i;
    while (i < text.size() && text[i] != '=' && !is_blank(text[i])) ++i;
    const std::string key(text.substr(start, i - start));
    if (i >= text.size() || text[i] != '=' || key.empty()) {
      // Skip the whole word so one mistake gives one message.
      while (i < text.size() && !is_blank(text[i])) ++i;
      errors.push_back("expected key=value, got '" + std::string(text.substr(start, i - start)) +
                       "'");
      continue;
    }
    ++i;  // '='
    std::string value;
    if (i < text.size() && (text[i] == '"' || text[i] == '\'')) {
      const char quote = text[i++];
      bool closed = false;
      while (i < text.size()) {
        const char c = text[i++];
        if (c == quote) {
          closed = true;
          break;
        }
        if (c == '\\' && quote == '"' && i < text.size()) {
          const char next = text[i++];
          switch (next) {
            case 'n':
              value.push_back('\n');
              break;
            case 't':
              value.push_back('\t');
              break;
            case '"':
            case '\\':
              value.push_back(next);
              break;
            default:  // not an escape we know: keep both, so C:\dir stays C:\dir
              value.push_back('\\');
              value.push_back(next);
          }
          continue;
        }
        value.push_back(c);
      }
      if (!closed) {
        errors.push_back("the value of '" + key + "' has no closing " + std::string(1, quote));
        break;
      }
      if (i < text.size() && !is_blank(text[i])) {
        const std::size_t rest = i;
        while (i < text.size() && !is_blank(text[i])) ++i;
        errors.push_back("expected a space after the quoted value of '" + key + "', got '" +
                         std::string(text.substr(rest, i - rest)) + "'");
        continue;
      }
    } else {
      const std::size_t value_start = i;
      while (i < text.size() && !is_blank(text[i])) ++i;
      value = std::string(text.substr(value_start, i - value_start));
    }

    const OptionField* field = send_field(key);
    if (!field) {
      unknown.push_back(key);
      continue;
    }
    if (std::find(given.begin(), given.end(), key) != given.end()) {
      errors.push_back("'" + key + "' is given twice");
      continue;
    }
    given.push_back(key);
    if (value.empty() && (key == "file" || key == "thread" || key == "color")) {
      errors.push_back("'" + key + "' needs a value");
      continue;
    }
    options.*(field->field) = std::move(value);
  }
  if (!unknown.empty()) errors.push_back(unknown_key_message(unknown));
  check_send_options(options, errors);
  if (!errors.empty()) {
    if (error) *error = join_errors(errors);
    return std::nullopt;
  }
  return options;
}

std::optional<SendOptions> send_options_from_json(const nlohmann::json& payload,
                                                  std::string* error) {
  SendOptions options;
  if (payload.is_string()) {
    options.text = payload.get<std::string>();
    return options;
  }
  if (!payload.is_object()) {
    if (error) *error = "expected a text or an object with text, file, description, ... fields";
    return std::nullopt;
  }
  std::vector<std::string> errors;
  std::vector<std::string> unknown;
  for (const auto& [key, value] : payload.items()) {
    if (key == "options") continue;
    const OptionField* field = send_field(key);
    if (!field) {
      unknown.push_back(key);
    } else if (value.is_string()) {
      options.*(field->field) = value.get<std::string>();
    } else if (!value.is_null()) {
      errors.push_back("'" + key + "' must be a string");
    }
  }
  if (!unknown.empty()) errors.push_back(unknown_key_message(unknown));
  const auto extra = payload.find("options");
  if (extra != payload.end() && !extra->is_null()) {
    if (!extra->is_string()) {
      errors.push_back("'options' must be an option string such as file=/path title=Alert");
    } else {
      std::string why;
      const auto parsed = parse_send_options(extra->get<std::string>(), &why);
      if (!parsed) {
        errors.push_back("options: " + why);
      } else {
        for (const auto& f : kSendFields) {
          const std::string& from_options = (*parsed).*(f.field);
          if (from_options.empty()) continue;
          if (!(options.*(f.field)).empty()) {
            errors.push_back(std::string("'") + f.key +
                             "' is given both as a field and in options");
          } else {
            options.*(f.field) = from_options;
          }
        }
      }
    }
  }
  check_send_options(options, errors);
  if (!errors.empty()) {
    if (error) *error = join_errors(errors);
    return std::nullopt;
  }
  return options;
}

}  // namespace rcgate::core
