#pragma once
// Small HTTP helpers shared by the REST and control routers.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "net/http_server.hpp"

namespace rcgate::sim {

net::ServerResponse json_response(int status, const nlohmann::json& body, net::Headers headers = {});

// Decodes %XX and '+' (form encoding).
std::string url_decode(std::string_view text);
// "a=1&b=two" -> {a:1, b:two}, decoded.
std::map<std::string, std::string> parse_form(std::string_view text);

// The request body as a JSON object: JSON, or a form body (values as strings). An empty body is
// an empty object. nullopt when the body cannot be read as either.
std::optional<nlohmann::json> body_object(const net::ServerRequest& request);

// ISO 8601 "2026-03-10T10:01:00.000Z" <-> epoch milliseconds (UTC; an offset suffix is honoured).
std::optional<std::int64_t> parse_iso8601(std::string_view text);
std::string to_iso8601(std::int64_t ms);

// Lower-case hex SHA-256 of the text (the digest form of a Meteor password).
std::string sha256_hex(std::string_view text);

}  // namespace rcgate::sim
