#pragma once
// A camera on 127.0.0.1 for the upload and scenario tests.
#include <string>
#include <vector>

#include "net/http_auth.hpp"
#include "net/http_server.hpp"
#include "net/loop.hpp"

namespace rcgate::test {

// A camera on 127.0.0.1: serves `image` at /cgi-bin/snapshot.cgi?channel=1 behind Digest auth
// (checked the way RFC 7616 says, independently of rcgate's code), Basic auth, or none.
class LoopbackCamera {
 public:
  enum class Mode { Digest, DigestSha256, Basic, Open, Hang, Html };

  LoopbackCamera(net::Loop& loop, Mode mode, std::string image)
      : mode_(mode), image_(std::move(image)), server_(loop, net::HttpServerOptions{}) {
    server_.on_request([this](const net::ServerRequest& req, net::Respond respond) { handle(req, std::move(respond)); });
    server_.start();
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + "/cgi-bin/snapshot.cgi?channel=1";
  }

  int requests = 0;
  std::vector<std::string> authorizations;  // as received, "" when none
  std::string password = "cam-secret";
  std::vector<net::Respond> hanging;

 private:
  void handle(const net::ServerRequest& req, net::Respond respond) {
    ++requests;
    const std::string authorization(req.header("Authorization"));
    authorizations.push_back(authorization);
    if (mode_ == Mode::Hang) {
      hanging.push_back(std::move(respond));
      return;
    }
    if (mode_ == Mode::Html) return respond({200, {{"Content-Type", "text/html"}}, "<html>login</html>"});
    if (req.target != "/cgi-bin/snapshot.cgi?channel=1") return respond({404, {}, "no such page"});
    if (mode_ != Mode::Open && !authorized(req.method, req.target, authorization)) {
      return respond({401, {{"WWW-Authenticate", challenge()}, {"Content-Type", "text/html"}}, "<h1>401</h1>"});
    }
    respond({200, {{"Content-Type", "image/jpeg"}}, image_});
  }

  std::string challenge() const {
    if (mode_ == Mode::Basic) return "Basic realm=\"IP Camera\"";
    const std::string algorithm = mode_ == Mode::DigestSha256 ? "SHA-256" : "MD5";
    return "Digest realm=\"IP Camera(C1234)\", qop=\"auth\", algorithm=" + algorithm + ", nonce=\"" + nonce_ +
           "\", opaque=\"op4que\", stale=FALSE";
  }

  bool authorized(const std::string& method, const std::string& target, const std::string& header) const {
    if (header.empty()) return false;
    if (mode_ == Mode::Basic) return header == "Basic " + net::base64_encode("admin:" + password);
    // The Authorization header has the same grammar as a challenge.
    const auto parsed = net::parse_challenges({header});
    if (parsed.size() != 1 || !parsed[0].is("Digest")) return false;
    const auto& p = parsed[0];
    const auto h = [&](const std::string& s) {
      return mode_ == Mode::DigestSha256 ? net::sha256_hex(s) : net::md5_hex(s);
    };
    if (p.param("username") != "admin" || p.param("uri") != target || p.param("nonce") != nonce_ ||
        p.param("opaque") != "op4que" || p.param("qop") != "auth" || p.param("nc") != "00000001") {
      return false;
    }
    const std::string ha1 = h("admin:IP Camera(C1234):" + password);
    const std::string ha2 = h(method + ":" + target);
    return p.param("response") ==
           h(ha1 + ":" + nonce_ + ":" + p.param("nc") + ":" + p.param("cnonce") + ":auth:" + ha2);
  }

  Mode mode_;
  std::string image_;
  std::string nonce_ = "4e5a3a59bd2b1c77";
  net::HttpServer server_;
};

}  // namespace rcgate::test
