#include "app/api.hpp"

namespace rcgate::app {

ApiReply ApiReply::success(nlohmann::json data, int status) {
  ApiReply r;
  r.status = status;
  r.data = std::move(data);
  return r;
}

ApiReply ApiReply::failure(int status, std::string code, std::string error) {
  ApiReply r;
  r.status = status;
  r.code = code.empty() ? code_for_status(status) : std::move(code);
  r.error = std::move(error);
  return r;
}

nlohmann::json envelope(const ApiReply& reply) {
  if (reply.ok()) {
    return {{"status", "ok"}, {"data", reply.data.is_null() ? nlohmann::json::object() : reply.data}};
  }
  return {{"status", "error"},
          {"error", reply.error},
          {"code", reply.code.empty() ? code_for_status(reply.status) : reply.code}};
}

const char* code_for_status(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "too_large";
    case 415: return "unsupported_media_type";
    case 422: return "rejected";
    case 429: return "too_many_requests";
    case 502: return "upstream";
    case 503: return "unavailable";
    case 504: return "timeout";
    default: return status >= 500 ? "internal" : status >= 400 ? "bad_request" : "ok";
  }
}

}  // namespace rcgate::app
