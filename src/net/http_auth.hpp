#pragma once
// HTTP authentication for clients: Basic (RFC 7617) and Digest (RFC 7616: MD5 and SHA-256, their
// -sess variants, qop=auth or none, userhash). Pure functions, no I/O; the caller sends the
// request, reads the 401's WWW-Authenticate and sends it again with the Authorization header.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rcgate::net {

std::string base64_encode(std::string_view data);
// nullopt when `text` holds a character outside base64 (standard or URL-safe alphabet).
std::optional<std::string> base64_decode(std::string_view text);
std::string md5_hex(std::string_view data);
std::string sha256_hex(std::string_view data);

// "Basic dXNlcjpwYXNz".
std::string basic_authorization(std::string_view username, std::string_view password);

// One challenge of a WWW-Authenticate header.
struct AuthChallenge {
  std::string scheme;                         // as sent ("Digest", "Basic")
  std::map<std::string, std::string> params;  // names in lower case, values unquoted

  bool is(std::string_view scheme_name) const;  // case-insensitive
  std::string param(const std::string& name) const;  // "" when absent
};

// Every challenge in the given header values (a header may carry several, and a response may
// carry several headers): `Digest realm="a", qop="auth", nonce="n", Basic realm="a"`.
std::vector<AuthChallenge> parse_challenges(const std::vector<std::string>& header_values);

struct DigestRequest {
  std::string method;  // "GET"
  std::string uri;     // the request target, exactly as sent ("/cgi-bin/snapshot.cgi?ch=1")
  std::string username;
  std::string password;
  std::uint32_t nc = 1;  // nonce count, one more for each request with the same nonce
  std::string cnonce;    // empty: a random one
};

// True for a Digest challenge this code can answer (MD5, SHA-256 and their -sess variants, with
// qop auth or no qop).
bool digest_supported(const AuthChallenge& challenge, std::string* why_not = nullptr);

// The Authorization header value answering a Digest challenge, or nullopt with `error` set when
// the challenge cannot be answered ("the camera asks for Digest algorithm SHA-512-256, which
// rcgate does not support").
std::optional<std::string> digest_authorization(const AuthChallenge& challenge,
                                                const DigestRequest& request, std::string& error);

// Of several Digest challenges, the one to answer: SHA-256 before MD5, supported ones only.
const AuthChallenge* pick_digest(const std::vector<AuthChallenge>& challenges);

std::string random_cnonce();

}  // namespace rcgate::net
