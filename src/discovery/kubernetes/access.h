// Where the Kubernetes API server is and how to authenticate to it, read
// from the two places a client finds them (client-go's rules, reduced to
// what the provider needs):
//  - in a pod: the service account's token, CA and namespace under
//    /var/run/secrets/kubernetes.io/serviceaccount/ and the server at
//    KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT;
//  - outside: a kubeconfig file's current context: the cluster's server,
//    certificate-authority(-data) and insecure-skip-tls-verify, the user's
//    token, tokenFile or client-certificate(-data)/client-key(-data), and
//    the context's namespace. Relative file names are relative to the
//    kubeconfig's directory; *-data fields are base64.
// A token given as a file is re-read by the client when the file changes
// and after a 401, since projected service-account tokens rotate.
// Pure file and text parsing: no network.

#ifndef GROUPCACHE_SRC_DISCOVERY_KUBERNETES_ACCESS_H_
#define GROUPCACHE_SRC_DISCOVERY_KUBERNETES_ACCESS_H_

#include <string>
#include <string_view>

#include "groupcache/status.h"

namespace groupcache::discovery::kubernetes_internal {

inline constexpr std::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";

struct ApiAccess {
  std::string host;  // no brackets around an IPv6 literal
  std::string port;  // "443" when the server URL names none
  // TLS trust: a CA file, or PEM text (from certificate-authority-data);
  // both empty: the system's CAs. insecure: no verification (as kubectl's
  // insecure-skip-tls-verify; logged).
  std::string ca_file;
  std::string ca_pem;
  bool insecure = false;
  // Bearer token, inline or in a file (re-read on change and after a 401).
  std::string token;
  std::string token_file;
  // Client certificate authentication, as files or PEM text.
  std::string client_cert_file;
  std::string client_key_file;
  std::string client_cert_pem;
  std::string client_key_pem;
  // The namespace this configuration points at ("" if none).
  std::string namespace_name;
  // Where it came from, for messages: "in-cluster" or the kubeconfig path.
  std::string source;
};

// From a service-account directory (kServiceAccountDir in a pod) and the
// values of KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT. Errors:
// InvalidArgument naming what is missing (the variables, the token file).
Result<ApiAccess> InClusterAccess(const std::string& service_account_dir, std::string_view host,
                                  std::string_view port);

// From a kubeconfig file. Errors: InvalidArgument naming the file and the
// missing or bad entry (no current-context, an unknown cluster, a server
// that is not https://, undecodable base64, an unreadable file).
Result<ApiAccess> KubeconfigAccess(const std::string& path);

// Splits "https://host[:port][/]" into host and port. Errors:
// InvalidArgument for another scheme, a path, or a bad port.
Status ParseServerUrl(std::string_view url, ApiAccess* access);

}  // namespace groupcache::discovery::kubernetes_internal

#endif  // GROUPCACHE_SRC_DISCOVERY_KUBERNETES_ACCESS_H_
