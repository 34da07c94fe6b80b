#include "net/http_auth.hpp"
#include "core/text.hpp"

#include <openssl/evp.h>

#include <cctype>
#include <cstdio>
#include <memory>
#include <random>

namespace rcgate::net {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string hex_digest(const EVP_MD* md, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1) {
    return {};
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

// A quoted-string parameter value: '"' and '\' escaped.
std::string quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

struct Algorithm {
  const EVP_MD* md = nullptr;
  bool session = false;
};

std::optional<Algorithm> algorithm_of(const AuthChallenge& challenge, std::string* why_not) {
  const std::string name = challenge.param("algorithm");
  const std::string lowered = core::ascii_lower(name);
  if (lowered.empty() || lowered == "md5") return Algorithm{EVP_md5(), false};
  if (lowered == "md5-sess") return Algorithm{EVP_md5(), true};
  if (lowered == "sha-256") return Algorithm{EVP_sha256(), false};
  if (lowered == "sha-256-sess") return Algorithm{EVP_sha256(), true};
  if (why_not) *why_not = "Digest algorithm " + name + " is not supported (only MD5 and SHA-256)";
  return std::nullopt;
}

// "auth", "" (no qop: RFC 2069), or nullopt when only qop values we cannot do are offered.
std::optional<std::string> qop_of(const AuthChallenge& challenge, std::string* why_not) {
  const auto it = challenge.params.find("qop");
  if (it == challenge.params.end()) return std::string();
  std::string_view rest = it->second;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    while (!item.empty() && is_space(item.front())) item.remove_prefix(1);
    while (!item.empty() && is_space(item.back())) item.remove_suffix(1);
    if (iequals(item, "auth")) return std::string("auth");
  }
  if (why_not) *why_not = "Digest qop \"" + it->second + "\" is not supported (only auth)";
  return std::nullopt;
}

}  // namespace

// Standard or URL-safe alphabet; padding, spaces and line breaks ignored.
std::optional<std::string> base64_decode(std::string_view in) {
  static const std::string chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve(in.size() / 4 * 3);
  unsigned value = 0;
  int bits = -8;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
    auto pos = chars.find(c == '-' ? '+' : c == '_' ? '/' : c);
    if (pos == std::string::npos) return std::nullopt;
    value = (value << 6) | static_cast<unsigned>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((value >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

std::string base64_encode(std::string_view data) {
  static const char* kTable = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(data[i]) << 16) |
                   (static_cast<unsigned char>(data[i + 1]) << 8) |
                   static_cast<unsigned char>(data[i + 2]);
    out += kTable[(n >> 18) & 63];
    out += kTable[(n >> 12) & 63];
    out += kTable[(n >> 6) & 63];
    out += kTable[n & 63];
  }
  if (i + 1 == data.size()) {
    const auto n = static_cast<unsigned char>(data[i]) << 16;
    out += kTable[(n >> 18) & 63];
    out += kTable[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == data.size()) {
    const auto n = (static_cast<unsigned char>(data[i]) << 16) |
                   (static_cast<unsigned char>(data[i + 1]) << 8);
    out += kTable[(n >> 18) & 63];
    out += kTable[(n >> 12) & 63];
    out += kTable[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string md5_hex(std::string_view data) { return hex_digest(EVP_md5(), data); }
std::string sha256_hex(std::string_view data) { return hex_digest(EVP_sha256(), data); }

std::string basic_authorization(std::string_view username, std::string_view password) {
  std::string pair(username);
  pair += ':';
  pair += password;
  return "Basic " + base64_encode(pair);
}

bool AuthChallenge::is(std::string_view scheme_name) const { return iequals(scheme, scheme_name); }

std::string AuthChallenge::param(const std::string& name) const {
  const auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

// challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ], challenges separated by commas.
// A token followed by '=' is a parameter of the current challenge; any other token starts a new
// one. token68 values (Negotiate, Bearer) are skipped: rcgate answers none of those schemes.
std::vector<AuthChallenge> parse_challenges(const std::vector<std::string>& header_values) {
  std::vector<AuthChallenge> out;
  for (const auto& value : header_values) {
    const std::string_view text = value;
    std::size_t i = 0;
    bool in_challenge = false;
    const auto skip = [&] {
      while (i < text.size() && (is_space(text[i]) || text[i] == ',')) ++i;
    };
    while (true) {
      skip();
      if (i >= text.size()) break;
      const std::size_t start = i;
      while (i < text.size() && !is_space(text[i]) && text[i] != ',' && text[i] != '=') ++i;
      const std::string token(text.substr(start, i - start));
      std::size_t j = i;
      while (j < text.size() && is_space(text[j])) ++j;
      const bool is_param = in_challenge && j < text.size() && text[j] == '=' &&
                            !(j + 1 < text.size() && text[j + 1] == '=');
      if (!is_param) {
        if (token.empty()) {
          // A stray '=' (the tail of a token68): skip it.
          ++i;
          continue;
        }
        if (j < text.size() && text[j] == '=') {
          // token68 ending in '=' padding after a scheme: skip it whole.
          while (j < text.size() && text[j] == '=') ++j;
          i = j;
          continue;
        }
        out.push_back(AuthChallenge{token, {}});
        in_challenge = true;
        i = j;
        continue;
      }
      i = j + 1;
      while (i < text.size() && is_space(text[i])) ++i;
      std::string param_value;
      if (i < text.size() && text[i] == '"') {
        ++i;
        while (i < text.size() && text[i] != '"') {
          if (text[i] == '\\' && i + 1 < text.size()) ++i;
          param_value += text[i++];
        }
        if (i < text.size()) ++i;  // the closing quote
      } else {
        const std::size_t value_start = i;
        while (i < text.size() && text[i] != ',' && !is_space(text[i])) ++i;
        param_value = std::string(text.substr(value_start, i - value_start));
      }
      out.back().params[core::ascii_lower(token)] = std::move(param_value);
    }
  }
  return out;
}

bool digest_supported(const AuthChallenge& challenge, std::string* why_not) {
  if (!challenge.is("Digest")) {
    if (why_not) *why_not = "not a Digest challenge";
    return false;
  }
  if (challenge.param("nonce").empty()) {
    if (why_not) *why_not = "the Digest challenge has no nonce";
    return false;
  }
  return algorithm_of(challenge, why_not) && qop_of(challenge, why_not);
}

std::optional<std::string> digest_authorization(const AuthChallenge& challenge,
                                                const DigestRequest& request, std::string& error) {
  if (!digest_supported(challenge, &error)) return std::nullopt;
  const Algorithm algorithm = *algorithm_of(challenge, nullptr);
  const std::string qop = *qop_of(challenge, nullptr);
  const auto h = [&](std::string_view data) { return hex_digest(algorithm.md, data); };

  const std::string realm = challenge.param("realm");
  const std::string nonce = challenge.param("nonce");
  const std::string cnonce = request.cnonce.empty() ? random_cnonce() : request.cnonce;
  char nc[9];
  std::snprintf(nc, sizeof nc, "%08x", request.nc);

  std::string ha1 = h(request.username + ":" + realm + ":" + request.password);
  if (algorithm.session) ha1 = h(ha1 + ":" + nonce + ":" + cnonce);
  const std::string ha2 = h(request.method + ":" + request.uri);
  const std::string response = qop.empty()
                                   ? h(ha1 + ":" + nonce + ":" + ha2)
                                   : h(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop +
                                       ":" + ha2);

  const bool userhash = iequals(challenge.param("userhash"), "true");
  std::string out = "Digest username=" +
                    quote(userhash ? h(request.username + ":" + realm) : request.username) +
                    ", realm=" + quote(realm) + ", uri=" + quote(request.uri);
  if (challenge.params.count("algorithm")) out += ", algorithm=" + challenge.param("algorithm");
  out += ", nonce=" + quote(nonce);
  if (!qop.empty()) out += ", nc=" + std::string(nc) + ", cnonce=" + quote(cnonce) + ", qop=" + qop;
  out += ", response=" + quote(response);
  if (challenge.params.count("opaque")) out += ", opaque=" + quote(challenge.param("opaque"));
  if (userhash) out += ", userhash=true";
  return out;
}

const AuthChallenge* pick_digest(const std::vector<AuthChallenge>& challenges) {
  const AuthChallenge* best = nullptr;
  for (const auto& challenge : challenges) {
    if (!digest_supported(challenge)) continue;
    const std::string algorithm = core::ascii_lower(challenge.param("algorithm"));
    const bool strong = algorithm.rfind("sha-256", 0) == 0;
    if (!best || (strong && core::ascii_lower(best->param("algorithm")).rfind("sha-256", 0) != 0)) {
      best = &challenge;
    }
  }
  return best;
}

std::string random_cnonce() {
  std::random_device device;
  std::string bytes;
  for (int i = 0; i < 16; ++i) bytes += static_cast<char>(device() & 0xff);
  return md5_hex(bytes).substr(0, 24);
}

}  // namespace rcgate::net
