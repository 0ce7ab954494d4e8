// One request to a node's client API (/api/v1/groups/{group}/keys/{key}),
// for `groupcache-cli --cluster`: a blocking HTTP/1.1 exchange on a
// connection of its own, over TLS for an https:// node. Beast and OpenSSL
// stay behind this header.

#ifndef GROUPCACHE_CMD_GROUPCACHE_CLI_API_CLIENT_H_
#define GROUPCACHE_CMD_GROUPCACHE_CLI_API_CLIENT_H_

#include <chrono>
#include <string>

#include "groupcache/http_pool.h"
#include "groupcache/status.h"

namespace groupcache::cli {

struct ApiResponse {
  int status = 0;
  std::string body;
  std::string source;  // X-Groupcache-Source
};

// `node` is "http://host:port" or "https://host:port"; `target` the path
// and query. `tls` (https only): PEM CAs (ca_file, empty for the system's)
// and a client certificate (cert_file and key_file, for mutual TLS);
// verify_peer is not consulted (always on). `timeout` bounds the whole
// exchange, the lookup of the node's name included.
// Errors: InvalidArgument (a bad node URL, unreadable TLS files),
// Unavailable (lookup, connection, TLS or protocol failure, or `timeout`).
Result<ApiResponse> ApiRequest(const std::string& method, const std::string& node,
                               const std::string& target, const std::string& body,
                               const ClientTlsOptions& tls, std::chrono::milliseconds timeout);

// Percent-encodes a key for the API path (RFC 3986 unreserved kept).
std::string EscapeKey(const std::string& key);

}  // namespace groupcache::cli

#endif  // GROUPCACHE_CMD_GROUPCACHE_CLI_API_CLIENT_H_
