// OpenSSL is driven directly here (through the context's native handle)
// rather than through Asio's context methods: that way each failure can be
// told apart and named (unreadable file, no PEM in it, encrypted key, key
// of another certificate) instead of surfacing as one OpenSSL reason code.

#include "tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ssl/context.hpp>
#include <cerrno>
#include <cstdio>
#include <string_view>
#include <system_error>

namespace groupcache::internal {

namespace ssl = boost::asio::ssl;

namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

// The first error OpenSSL queued (the root cause, the later ones are its
// callers giving up), with the queue cleared so that it cannot be blamed
// on the next operation of this thread.
std::string TakeOpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(code);
  if (reason != nullptr) return reason;
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// "server_tls.cert_file '/etc/node.pem'", as errors name a setting.
std::string Named(std::string_view option, const std::string& path) {
  return std::string(option) + " '" + path + "'";
}

// OpenSSL's default would prompt on the terminal for the passphrase of an
// encrypted key, blocking a daemon; refuse instead, so the load fails.
int NoPassphrase(char*, int, int, void*) { return 0; }

using File = std::unique_ptr<std::FILE, FileCloser>;

// Opening the file ourselves turns a missing or unreadable file into the
// system's reason ("No such file or directory") rather than OpenSSL's.
Result<File> Open(std::string_view option, const std::string& path) {
  File f(std::fopen(path.c_str(), "r"));
  if (!f) {
    // Not strerror: it is not thread-safe.
    std::string reason = std::error_code(errno, std::generic_category()).message();
    return InvalidArgumentError("cannot read " + Named(option, path) + ": " + reason);
  }
  return f;
}

// Loads the certificate chain and its private key and checks that they
// belong together. `side` is "server_tls" or "client_tls".
Status LoadKeyPair(SSL_CTX* ctx, std::string_view side, const std::string& cert_file,
                   const std::string& key_file) {
  const std::string cert_option = std::string(side) + ".cert_file";
  const std::string key_option = std::string(side) + ".key_file";
  if (cert_file.empty() || key_file.empty()) {
    return InvalidArgumentError(cert_option + " and " + key_option + " must be set together");
  }
  if (auto f = Open(cert_option, cert_file); !f.ok()) return f.status();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return InvalidArgumentError(Named(cert_option, cert_file) +
                                " holds no usable PEM certificate: " + TakeOpenSslError());
  }
  auto f = Open(key_option, key_file);
  if (!f.ok()) return f.status();
  std::unique_ptr<EVP_PKEY, KeyFree> key(
      PEM_read_PrivateKey(f->get(), nullptr, NoPassphrase, nullptr));
  if (!key) {
    return InvalidArgumentError(
        Named(key_option, key_file) +
        " holds no usable unencrypted PEM private key: " + TakeOpenSslError());
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return InvalidArgumentError(Named(key_option, key_file) + " does not match " +
                                Named(cert_option, cert_file) + ": " + TakeOpenSslError());
  }
  return {};
}

Status LoadCas(SSL_CTX* ctx, std::string_view option, const std::string& path) {
  if (auto f = Open(option, path); !f.ok()) return f.status();
  if (SSL_CTX_load_verify_locations(ctx, path.c_str(), nullptr) != 1) {
    return InvalidArgumentError(Named(option, path) +
                                " holds no usable PEM CA certificate: " + TakeOpenSslError());
  }
  return {};
}

// What both sides share: TLS 1.2 at least (1.0 and 1.1 are deprecated,
// RFC 8996) and no passphrase prompts.
std::shared_ptr<ssl::context> NewContext(ssl::context::method method) {
  auto context = std::make_shared<ssl::context>(method);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_default_passwd_cb(ctx, NoPassphrase);
  return context;
}

}  // namespace

Result<std::shared_ptr<ssl::context>> NewServerTlsContext(const ServerTlsOptions& options) {
  auto context = NewContext(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  if (Status s = LoadKeyPair(ctx, "server_tls", options.cert_file, options.key_file); !s.ok()) {
    return s;
  }
  if (options.require_client_cert && options.client_ca_file.empty()) {
    return InvalidArgumentError(
        "server_tls.require_client_cert needs server_tls.client_ca_file (the CAs that client "
        "certificates must chain to)");
  }
  if (!options.client_ca_file.empty()) {
    if (Status s = LoadCas(ctx, "server_tls.client_ca_file", options.client_ca_file); !s.ok()) {
      return s;
    }
    // Tells clients which CAs are accepted, so that one holding several
    // certificates picks the right one.
    SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(options.client_ca_file.c_str()));
    ERR_clear_error();
    int mode = SSL_VERIFY_PEER;
    if (options.require_client_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, nullptr);
    // OpenSSL refuses to resume a session of a verified client without a
    // session id context; any constant names this server's sessions.
    static constexpr unsigned char kSessionContext[] = "groupcache";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  }
  return context;
}

Result<std::shared_ptr<ssl::context>> NewClientTlsContext(const ClientTlsOptions& options) {
  auto context = NewContext(ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  if (!options.cert_file.empty() || !options.key_file.empty()) {
    if (Status s = LoadKeyPair(ctx, "client_tls", options.cert_file, options.key_file); !s.ok()) {
      return s;
    }
  }
  if (!options.ca_file.empty()) {
    if (Status s = LoadCas(ctx, "client_tls.ca_file", options.ca_file); !s.ok()) return s;
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return InvalidArgumentError("client_tls: cannot use the system CA store: " +
                                TakeOpenSslError());
  }
  // The host name (or IP) to check is set per connection, by the client.
  SSL_CTX_set_verify(ctx, options.verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  return context;
}

std::string VerifyFailure(const ssl_st* ssl) {
  if (ssl == nullptr) return "";
  long result = SSL_get_verify_result(ssl);
  if (result == X509_V_OK) return "";
  return X509_verify_cert_error_string(result);
}

}  // namespace groupcache::internal
