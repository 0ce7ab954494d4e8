// Builds the OpenSSL contexts of the transport from ServerTlsOptions and
// ClientTlsOptions, reading every file once and checking it, so that a bad
// setting is an error when the pool starts rather than a failed handshake
// later. A context is immutable once built and shared by every connection
// of its side (OpenSSL allows that across threads).

#ifndef GROUPCACHE_SRC_TRANSPORT_TLS_CONTEXT_H_
#define GROUPCACHE_SRC_TRANSPORT_TLS_CONTEXT_H_

#include <memory>
#include <string>

#include "groupcache/http_pool.h"
#include "groupcache/status.h"

namespace boost::asio::ssl {
class context;
}
struct ssl_st;  // OpenSSL's SSL

namespace groupcache::internal {

// REQUIRES: options.enabled(). Errors: InvalidArgument naming the option and
// the file (cannot be read, holds no usable PEM, key does not match the
// certificate) or the missing companion setting.
Result<std::shared_ptr<boost::asio::ssl::context>> NewServerTlsContext(
    const ServerTlsOptions& options);

// Errors: as above.
Result<std::shared_ptr<boost::asio::ssl::context>> NewClientTlsContext(
    const ClientTlsOptions& options);

// Why the handshake on `ssl` failed to verify the other side's
// certificate ("unable to get local issuer certificate", "hostname
// mismatch", ...), or "" if verification did not fail. The handshake's own
// error only says "certificate verify failed".
std::string VerifyFailure(const ssl_st* ssl);

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_TRANSPORT_TLS_CONTEXT_H_
