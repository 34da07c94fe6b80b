#pragma once
// Internal to src/net: TLS contexts and error texts shared by the client and server sessions.
// Only the OpenSSL context part of Asio here, so including it stays cheap.
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <string>

#include "net/tls.hpp"

namespace rcgate::net::detail {

// A client context: TLS >= 1.2, chain verification against the system CAs or options.ca_file
// (unless options.verify is false). Throws std::runtime_error("tls: ...") when ca_file cannot
// be loaded.
std::shared_ptr<boost::asio::ssl::context> make_client_context(const TlsClientOptions& options);

// A server context from an in-memory PEM pair (when cert_pem is not empty) or from files.
// Throws std::runtime_error("tls: ...") naming what could not be loaded.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const std::string& cert_pem,
                                                               const std::string& key_pem,
                                                               const TlsServerOptions& files);

// Prepares one client connection: SNI (for host names, never for IP literals) and, when verify
// is on, the name or address the certificate must carry. Returns false and sets *error when
// OpenSSL refuses the name.
bool prepare_client_ssl(SSL* ssl, const std::string& host, bool verify, std::string* error);

// "tls: certificate verify failed: self-signed certificate" after a failed handshake, or
// "tls: <what OpenSSL said>" when the failure was not about the certificate.
std::string describe_tls_error(SSL* ssl, const boost::system::error_code& ec);

}  // namespace rcgate::net::detail
