#include "net/tls.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <stdexcept>

#include "net/tls_context.hpp"

namespace rcgate::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

[[noreturn]] void throw_openssl(const std::string& what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  std::string text = "tls: " + what;
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    text += ": ";
    text += buf;
  }
  throw std::runtime_error(text);
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

void add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    throw_openssl("cannot add certificate extension '" + value + "'");
  }
}

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

void set_min_tls12(ssl::context& ctx) {
  if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1) {
    throw_openssl("cannot require TLS 1.2");
  }
}

std::string file_problem(const std::string& what, const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return what + " '" + path + "' does not exist";
  return {};
}

std::string key_error(const std::string& what, const boost::system::error_code& ec) {
  // OpenSSL checks the pair while loading the key; say it in words a person can act on.
  if (ec.message().find("key values mismatch") != std::string::npos) {
    return "tls: the private key does not match the certificate (" + what + ")";
  }
  return "tls: cannot load " + what + " (expected a PEM private key): " + ec.message();
}

}  // namespace

SelfSigned make_self_signed(const std::string& common_name) {
  PkeyPtr key(EVP_RSA_gen(2048));
  if (!key) throw_openssl("cannot generate an RSA key");

  X509Ptr cert(X509_new());
  if (!cert) throw_openssl("cannot allocate a certificate");
  X509_set_version(cert.get(), 2);  // v3, needed for the extensions

  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) throw_openssl("no random serial");
  serial_bytes[0] &= 0x7f;  // positive
  BnPtr serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  if (!serial || !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) {
    throw_openssl("cannot set the serial number");
  }
  // An hour of slack before now for peers whose clock is a little behind.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());

  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);

  std::string san = is_ip_literal(common_name) ? "IP:" + common_name : "DNS:" + common_name;
  if (common_name != "127.0.0.1") san += ",IP:127.0.0.1";
  add_extension(cert.get(), NID_subject_alt_name, san);
  // Like `openssl req -x509`: a self-signed certificate is its own trust anchor, so peers can
  // trust it through a CA file.
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), NID_subject_key_identifier, "hash");
  add_extension(cert.get(), NID_authority_key_identifier, "keyid:always");

  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) throw_openssl("cannot sign");

  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    throw_openssl("cannot write PEM");
  }
  return SelfSigned{bio_to_string(cert_bio.get()), bio_to_string(key_bio.get())};
}

namespace detail {

std::shared_ptr<ssl::context> make_client_context(const TlsClientOptions& options) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  set_min_tls12(*ctx);
  if (!options.verify) {
    ctx->set_verify_mode(ssl::verify_none);
    return ctx;
  }
  ctx->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (options.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) throw std::runtime_error("tls: cannot load the system CA certificates: " + ec.message());
  } else {
    if (auto problem = file_problem("CA file", options.ca_file); !problem.empty()) {
      throw std::runtime_error("tls: " + problem);
    }
    ctx->load_verify_file(options.ca_file, ec);
    if (ec) {
      throw std::runtime_error("tls: cannot load CA file '" + options.ca_file +
                               "' (expected PEM certificates): " + ec.message());
    }
  }
  return ctx;
}

std::shared_ptr<ssl::context> make_server_context(const std::string& cert_pem,
                                                  const std::string& key_pem,
                                                  const TlsServerOptions& files) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  set_min_tls12(*ctx);
  boost::system::error_code ec;
  if (!cert_pem.empty()) {
    ctx->use_certificate_chain(asio::buffer(cert_pem), ec);
    if (ec) throw std::runtime_error("tls: cannot load the in-memory certificate: " + ec.message());
    ctx->use_private_key(asio::buffer(key_pem), ssl::context::pem, ec);
    if (ec) throw std::runtime_error(key_error("the in-memory private key", ec));
  } else {
    if (files.cert_file.empty() || files.key_file.empty()) {
      throw std::runtime_error("tls: a certificate file and a key file are required");
    }
    for (const auto& [what, path] : {std::pair{"certificate file", files.cert_file},
                                     std::pair{"key file", files.key_file}}) {
      if (auto problem = file_problem(what, path); !problem.empty()) {
        throw std::runtime_error("tls: " + problem);
      }
    }
    ctx->use_certificate_chain_file(files.cert_file, ec);
    if (ec) {
      throw std::runtime_error("tls: cannot load certificate file '" + files.cert_file +
                               "' (expected PEM): " + ec.message());
    }
    ctx->use_private_key_file(files.key_file, ssl::context::pem, ec);
    if (ec) throw std::runtime_error(key_error("key file '" + files.key_file + "'", ec));
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("tls: the private key does not match the certificate");
  }
  return ctx;
}

bool prepare_client_ssl(SSL* ssl, const std::string& host, bool verify, std::string* error) {
  const bool ip = is_ip_literal(host);
  // SNI lets name-based virtual hosts pick the right certificate; RFC 6066 forbids IP literals.
  if (!ip && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
    ERR_clear_error();
    if (error) *error = "tls: cannot use '" + host + "' as server name";
    return false;
  }
  if (!verify) return true;
  // OpenSSL's own check (the same rules as asio's host_name_verification), chosen because a
  // mismatch then shows up in SSL_get_verify_result as "hostname mismatch" for describe_tls_error.
  const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str())
                    : SSL_set1_host(ssl, host.c_str());
  if (ok != 1) {
    ERR_clear_error();
    if (error) *error = "tls: cannot verify against host '" + host + "'";
    return false;
  }
  return true;
}

std::string describe_tls_error(SSL* ssl, const boost::system::error_code& ec) {
  if (ssl) {
    const long result = SSL_get_verify_result(ssl);
    if (result != X509_V_OK) {
      return std::string("tls: certificate verify failed: ") +
             X509_verify_cert_error_string(result);
    }
  }
  if (ec == ssl::error::stream_truncated || ec == asio::error::eof) {
    return "tls: the server closed the connection during the handshake";
  }
  return "tls: " + ec.message();
}

}  // namespace detail
}  // namespace rcgate::net
