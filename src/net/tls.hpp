#pragma once
#include <string>

namespace rcgate::net {

// How a client checks the server's certificate.
struct TlsClientOptions {
  bool verify = true;   // verify the chain and the host name (default; turn off only for tests
                        // or self-signed home servers, and it is logged loudly)
  std::string ca_file;  // PEM bundle to trust instead of the system CAs (empty: system CAs)
};

// What a server presents.
struct TlsServerOptions {
  std::string cert_file;  // PEM certificate chain
  std::string key_file;   // PEM private key
};

struct SelfSigned {
  std::string cert_pem;
  std::string key_pem;
};
// A fresh RSA-2048 self-signed certificate for `common_name` (and subjectAltName DNS:common_name,
// IP:127.0.0.1), valid for a day. For the simulator and tests.
SelfSigned make_self_signed(const std::string& common_name);

}  // namespace rcgate::net
