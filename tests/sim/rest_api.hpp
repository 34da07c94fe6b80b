#pragma once
// The REST subset rcgate uses (PROTOCOL.md §2.6, §2.7, §7): /api/info and /api/v1/*.
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "net/http_server.hpp"

namespace rcgate::sim {

class Sim;
struct User;

class RestApi {
 public:
  explicit RestApi(Sim& sim) : sim_(sim) {}

  // Answers any request under /api/.
  net::ServerResponse handle(const net::ServerRequest& request);
  // GET /file-upload/<id>/<name>: an uploaded file's bytes (login required, as with the server's
  // default FileUpload_ProtectFiles: X-User-Id/X-Auth-Token headers or rc_uid/rc_token query).
  net::ServerResponse file_upload(const net::ServerRequest& request);

 private:
  struct Caller {
    User* user = nullptr;
    std::string token;
  };
  using Handler = net::ServerResponse (RestApi::*)(const net::ServerRequest&, Caller&);
  struct Route {
    const char* method;
    const char* path;
    Handler handler;
  };

  net::ServerResponse login(const net::ServerRequest& request);
  net::ServerResponse settings_public(const net::ServerRequest& request);
  net::ServerResponse logout(const net::ServerRequest& request, Caller& caller);
  net::ServerResponse me(const net::ServerRequest& request, Caller& caller);
  net::ServerResponse chat_send_message(const net::ServerRequest& request, Caller& caller);
  net::ServerResponse chat_post_message(const net::ServerRequest& request, Caller& caller);
  net::ServerResponse chat_update(const net::ServerRequest& request, Caller& caller);
  net::ServerResponse chat_react(const net::ServerRequest& request, Caller& caller);
  net::ServerResponse subscriptions_get(const net::ServerRequest& request, Caller& caller);
  net::ServerResponse rooms_get(const net::ServerRequest& request, Caller& caller);
  net::ServerResponse rooms_info(const net::ServerRequest& request, Caller& caller);
  net::ServerResponse im_create(const net::ServerRequest& request, Caller& caller);
  net::ServerResponse users_info(const net::ServerRequest& request, Caller& caller);
  net::ServerResponse channels_history(const net::ServerRequest& request, Caller& caller);
  net::ServerResponse groups_history(const net::ServerRequest& request, Caller& caller);
  net::ServerResponse im_history(const net::ServerRequest& request, Caller& caller);
  net::ServerResponse history(const net::ServerRequest& request, Caller& caller, const char* type);
  net::ServerResponse users_set_status(const net::ServerRequest& request, Caller& caller);
  // Uploads (PROTOCOL.md §7.3); the room id (and file id) follow the route's path.
  net::ServerResponse rooms_media(const net::ServerRequest& request, Caller& caller);
  net::ServerResponse rooms_media_confirm(const net::ServerRequest& request, Caller& caller);
  net::ServerResponse rooms_upload(const net::ServerRequest& request, Caller& caller);

  static const Route kRoutes[];
  static const Route kPrefixRoutes[];  // path is a prefix: "/api/v1/rooms.media/" + rid
  bool available(const Route& route) const;  // routes the server flavour lacks answer 404

  struct Window {
    std::int64_t start = 0;
    int calls = 0;
  };
  Sim& sim_;
  std::map<std::pair<std::string, std::string>, Window> windows_;  // (route, user id)
};

}  // namespace rcgate::sim
