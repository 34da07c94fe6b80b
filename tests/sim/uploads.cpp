#include "uploads.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "http_util.hpp"
#include "world.hpp"

namespace rcgate::sim {

using json = nlohmann::json;

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// name="value" or name=value parameters of a header value, lower-case names.
std::map<std::string, std::string> header_params(std::string_view value) {
  std::map<std::string, std::string> out;
  std::size_t i = value.find(';');
  while (i != std::string_view::npos && i < value.size()) {
    ++i;
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    const std::size_t eq = value.find('=', i);
    if (eq == std::string_view::npos) break;
    const std::string name = lower(trim(value.substr(i, eq - i)));
    std::string param;
    i = eq + 1;
    if (i < value.size() && value[i] == '"') {
      ++i;
      while (i < value.size() && value[i] != '"') {
        if (value[i] == '\\' && i + 1 < value.size()) ++i;
        param += value[i++];
      }
      i = value.find(';', i);
    } else {
      const std::size_t end = value.find(';', i);
      param = std::string(trim(value.substr(i, end == std::string_view::npos ? end : end - i)));
      i = end;
    }
    out[name] = param;
  }
  return out;
}

// Browsers write '"' as %22 and line breaks as %0D/%0A in file names.
std::string unescape_form_name(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const std::string hex = text.substr(i + 1, 2);
      if (hex == "22" || hex == "0D" || hex == "0A" || hex == "0d" || hex == "0a") {
        out += static_cast<char>(std::stoi(hex, nullptr, 16));
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

}  // namespace

std::optional<std::vector<FormPart>> parse_multipart(std::string_view content_type,
                                                     std::string_view body, std::string& error) {
  if (lower(trim(content_type.substr(0, content_type.find(';')))) != "multipart/form-data") {
    error = "expected a multipart/form-data body";
    return std::nullopt;
  }
  const auto params = header_params(content_type);
  const auto b = params.find("boundary");
  if (b == params.end() || b->second.empty()) {
    error = "the multipart Content-Type has no boundary";
    return std::nullopt;
  }
  const std::string dash = "--" + b->second;
  const std::string delimiter = "\r\n" + dash;
  std::vector<FormPart> parts;
  if (body.substr(0, dash.size()) != dash) {
    error = "the body does not start with the boundary";
    return std::nullopt;
  }
  std::size_t pos = dash.size();
  while (true) {
    if (body.substr(pos, 2) == "--") return parts;  // the closing delimiter
    if (body.substr(pos, 2) != "\r\n") {
      error = "malformed boundary line";
      return std::nullopt;
    }
    pos += 2;
    const std::size_t header_end = body.find("\r\n\r\n", pos);
    if (header_end == std::string_view::npos) {
      error = "a part has no end of headers";
      return std::nullopt;
    }
    FormPart part;
    std::string_view headers = body.substr(pos, header_end - pos);
    bool has_disposition = false;
    while (!headers.empty()) {
      const std::size_t eol = headers.find("\r\n");
      const std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? std::string_view{} : headers.substr(eol + 2);
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      const std::string name = lower(trim(line.substr(0, colon)));
      const std::string_view value = trim(line.substr(colon + 1));
      if (name == "content-disposition") {
        has_disposition = true;
        const auto p = header_params(value);
        if (const auto it = p.find("name"); it != p.end()) part.name = unescape_form_name(it->second);
        if (const auto it = p.find("filename"); it != p.end()) {
          part.is_file = true;
          part.file_name = unescape_form_name(it->second);
        }
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
    }
    if (!has_disposition) {
      error = "a part has no Content-Disposition";
      return std::nullopt;
    }
    const std::size_t data_start = header_end + 4;
    const std::size_t data_end = body.find(delimiter, data_start);
    if (data_end == std::string_view::npos) {
      error = "the body ends inside a part (no closing boundary)";
      return std::nullopt;
    }
    part.data = body.substr(data_start, data_end - data_start);
    parts.push_back(std::move(part));
    pos = data_end + delimiter.size();
  }
}

UploadStore::UploadStore() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/rcgate-sim-uploads-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a directory for uploads under " + pattern);
  }
  dir_ = pattern;
}

UploadStore::~UploadStore() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

StoredFile& UploadStore::add(const std::string& rid, const std::string& uid,
                             const std::string& name, const std::string& type,
                             std::string_view data, const std::string& endpoint) {
  StoredFile file;
  file.id = World::object_id();
  file.rid = rid;
  file.uid = uid;
  file.name = name;
  file.type = type;
  file.size = data.size();
  file.sha256 = sha256_hex(data);
  file.path = dir_ + "/" + file.id;
  file.endpoint = endpoint;
  file.uploaded_at = now_ms();
  {
    std::ofstream out(file.path, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) throw std::runtime_error("cannot store the upload in " + file.path);
  }
  spdlog::info("sim: stored upload {} '{}' ({} bytes, {}) via {}", file.id, name, file.size, type,
               endpoint);
  order_.push_back(file.id);
  return files_[file.id] = std::move(file);
}

StoredFile* UploadStore::find(const std::string& id) {
  const auto it = files_.find(id);
  if (it == files_.end()) return nullptr;
  if (it->second.message_id.empty() &&
      now_ms() - it->second.uploaded_at > kUnconfirmedLifetimeMs) {
    return nullptr;
  }
  return &it->second;
}

std::optional<std::string> UploadStore::read(const StoredFile& file) const {
  std::ifstream in(file.path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

json UploadStore::to_json() const {
  json uploads = json::array();
  for (const auto& id : order_) {
    const StoredFile& f = files_.at(id);
    uploads.push_back({{"id", f.id},
                       {"room", f.rid},
                       {"user", f.uid},
                       {"name", f.name},
                       {"type", f.type},
                       {"size", f.size},
                       {"sha256", f.sha256},
                       {"endpoint", f.endpoint},
                       {"confirmed", !f.message_id.empty()},
                       {"message_id", f.message_id.empty() ? json(nullptr) : json(f.message_id)}});
  }
  json attempts = {{"rooms.media", 0}, {"rooms.mediaConfirm", 0}, {"rooms.upload", 0}};
  for (const auto& [endpoint, n] : attempts_) attempts[endpoint] = n;
  return {{"uploads", std::move(uploads)}, {"rejected", rejected_}, {"attempts", std::move(attempts)}};
}

std::string file_format(const std::string& name) {
  const std::size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot + 1 == name.size()) return "";
  return lower(name.substr(dot + 1));
}

json file_message_fields(const StoredFile& file, const std::string& description,
                         bool with_file_id) {
  const json entry = {{"_id", file.id},
                      {"name", file.name},
                      {"type", file.type},
                      {"size", file.size},
                      {"format", file_format(file.name)}};
  const std::string link = "/file-upload/" + file.id + "/" + file.name;
  json attachment = {{"ts", "1970-01-01T00:00:00.000Z"},
                     {"title", file.name},
                     {"title_link", link},
                     {"title_link_download", true},
                     {"type", "file"}};
  if (!description.empty()) attachment["description"] = description;
  const std::string group = file.type.substr(0, file.type.find('/'));
  if (group == "image" || group == "audio" || group == "video") {
    attachment[group + "_url"] = link;
    attachment[group + "_type"] = file.type;
    attachment[group + "_size"] = file.size;
  }
  if (with_file_id) attachment["fileId"] = file.id;
  return {{"file", entry},
          {"files", json::array({entry})},
          {"attachments", json::array({attachment})},
          {"groupable", false}};
}

bool media_type_allowed(const std::string& list, const std::string& type) {
  if (list.empty()) return true;
  std::string_view rest = list;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string item = lower(trim(rest.substr(0, comma)));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (item.empty()) continue;
    if (item == lower(type)) return true;
    if (item.size() > 2 && item.substr(item.size() - 2) == "/*" &&
        lower(type).rfind(item.substr(0, item.size() - 1), 0) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace rcgate::sim
