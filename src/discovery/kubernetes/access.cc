#include "access.h"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "../../text.h"

namespace groupcache::discovery::kubernetes_internal {
namespace {

namespace fs = std::filesystem;
using groupcache::internal::TrimSpace;

Result<std::string> ReadFile(const fs::path& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgumentError("cannot read " + std::string(what) + " " + path.string());
  std::ostringstream data;
  data << in.rdbuf();
  return std::move(data).str();
}

// Standard base64 (what kubeconfig *-data fields hold), blanks ignored.
Result<std::string> Base64Decode(std::string_view text, std::string_view what) {
  std::string clean;
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') clean += c;
  }
  if (clean.size() % 4 != 0) return InvalidArgumentError(std::string(what) + ": not base64");
  std::string out(clean.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(clean.data()),
                          static_cast<int>(clean.size()));
  if (n < 0) return InvalidArgumentError(std::string(what) + ": not base64");
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t padding = 0;
  if (!clean.empty() && clean.back() == '=') ++padding;
  if (clean.size() > 1 && clean[clean.size() - 2] == '=') ++padding;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

// The entry of a kubeconfig list ("clusters", "users", "contexts") named
// `name`: its inner map (e.g. the "cluster" of a named cluster).
YAML::Node Named(const YAML::Node& root, const char* list, const char* inner,
                 const std::string& name) {
  const YAML::Node entries = root[list];
  if (!entries || !entries.IsSequence()) return YAML::Node();
  for (const auto& entry : entries) {
    if (entry["name"] && entry["name"].IsScalar() && entry["name"].as<std::string>() == name) {
      return entry[inner];
    }
  }
  return YAML::Node();
}

std::string Scalar(const YAML::Node& map, const char* key) {
  if (!map || !map.IsMap()) return {};
  const YAML::Node value = map[key];
  return value && value.IsScalar() ? value.as<std::string>() : std::string();
}

}  // namespace

Status ParseServerUrl(std::string_view url, ApiAccess* access) {
  constexpr std::string_view kScheme = "https://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return InvalidArgumentError("API server '" + std::string(url) + "' is not an https:// URL");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest.find('/') != std::string_view::npos) {
    return InvalidArgumentError("API server '" + std::string(url) +
                                "': want https://HOST[:PORT] with no path");
  }
  std::string_view host = rest;
  std::string_view port = "443";
  if (rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return InvalidArgumentError("API server '" + std::string(url) + "': unclosed '['");
    }
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') {
        return InvalidArgumentError("API server '" + std::string(url) + "': bad port");
      }
      port = rest.substr(close + 2);
    }
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  int value = 0;
  for (char c : port) {
    if (c < '0' || c > '9' || value > 65535) {
      return InvalidArgumentError("API server '" + std::string(url) + "': bad port");
    }
    value = value * 10 + (c - '0');
  }
  if (port.empty() || value < 1 || value > 65535 || host.empty()) {
    return InvalidArgumentError("API server '" + std::string(url) + "': bad host or port");
  }
  access->host = std::string(host);
  access->port = std::string(port);
  return {};
}

Result<ApiAccess> InClusterAccess(const std::string& service_account_dir, std::string_view host,
                                  std::string_view port) {
  if (host.empty() || port.empty()) {
    return InvalidArgumentError(
        "not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set "
        "(outside a cluster, give a kubeconfig)");
  }
  ApiAccess access;
  access.source = "in-cluster";
  std::string bracketed =
      host.find(':') != std::string_view::npos ? "[" + std::string(host) + "]" : std::string(host);
  if (Status s = ParseServerUrl("https://" + bracketed + ":" + std::string(port), &access);
      !s.ok()) {
    return s;
  }
  const fs::path dir(service_account_dir);
  access.token_file = (dir / "token").string();
  Result<std::string> token = ReadFile(access.token_file, "service-account token");
  if (!token.ok()) return token.status();
  access.token = std::string(TrimSpace(*token));
  access.ca_file = (dir / "ca.crt").string();
  if (!fs::exists(access.ca_file)) {
    return InvalidArgumentError("service-account CA " + access.ca_file + " is missing");
  }
  if (Result<std::string> ns = ReadFile(dir / "namespace", "namespace"); ns.ok()) {
    access.namespace_name = std::string(TrimSpace(*ns));
  }
  return access;
}

Result<ApiAccess> KubeconfigAccess(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return InvalidArgumentError("kubeconfig " + path + " cannot be read");
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError("kubeconfig " + path + ": line " + std::to_string(e.mark.line + 1) +
                                ": " + e.msg);
  }
  auto bad = [&path](const std::string& what) {
    return InvalidArgumentError("kubeconfig " + path + ": " + what);
  };
  try {
    if (!root.IsMap()) return bad("not a YAML map");
    const std::string context_name = Scalar(root, "current-context");
    if (context_name.empty()) return bad("no current-context");
    const YAML::Node context = Named(root, "contexts", "context", context_name);
    if (!context || !context.IsMap()) return bad("no context named '" + context_name + "'");
    const std::string cluster_name = Scalar(context, "cluster");
    const std::string user_name = Scalar(context, "user");
    const YAML::Node cluster = Named(root, "clusters", "cluster", cluster_name);
    if (!cluster || !cluster.IsMap()) return bad("no cluster named '" + cluster_name + "'");
    const YAML::Node user = Named(root, "users", "user", user_name);

    ApiAccess access;
    access.source = path;
    access.namespace_name = Scalar(context, "namespace");
    const fs::path base = fs::path(path).parent_path();
    auto file = [&base](const std::string& name) {
      if (name.empty()) return name;
      fs::path p(name);
      return (p.is_absolute() ? p : base / p).string();
    };
    const std::string server = Scalar(cluster, "server");
    if (server.empty()) return bad("cluster '" + cluster_name + "' has no server");
    if (Status s = ParseServerUrl(server, &access); !s.ok()) return bad(s.message());
    access.ca_file = file(Scalar(cluster, "certificate-authority"));
    if (std::string data = Scalar(cluster, "certificate-authority-data"); !data.empty()) {
      Result<std::string> pem = Base64Decode(data, "certificate-authority-data");
      if (!pem.ok()) return bad(pem.status().message());
      access.ca_pem = *pem;
    }
    access.insecure = Scalar(cluster, "insecure-skip-tls-verify") == "true";
    if (user && user.IsMap()) {
      access.token = Scalar(user, "token");
      access.token_file = file(Scalar(user, "tokenFile"));
      access.client_cert_file = file(Scalar(user, "client-certificate"));
      access.client_key_file = file(Scalar(user, "client-key"));
      for (auto [key, out] : {std::pair{"client-certificate-data", &access.client_cert_pem},
                              std::pair{"client-key-data", &access.client_key_pem}}) {
        if (std::string data = Scalar(user, key); !data.empty()) {
          Result<std::string> pem = Base64Decode(data, key);
          if (!pem.ok()) return bad(pem.status().message());
          *out = *pem;
        }
      }
      if (access.token.empty() && !access.token_file.empty()) {
        Result<std::string> token = ReadFile(access.token_file, "tokenFile");
        if (!token.ok()) return bad(token.status().message());
        access.token = std::string(TrimSpace(*token));
      }
    }
    const bool cert = !access.client_cert_file.empty() || !access.client_cert_pem.empty();
    const bool key = !access.client_key_file.empty() || !access.client_key_pem.empty();
    if (cert != key) return bad("user '" + user_name + "' has a client certificate without a key");
    if (access.token.empty() && !cert) {
      return bad("user '" + user_name + "' has no token, tokenFile or client certificate");
    }
    return access;
  } catch (const YAML::Exception& e) {
    return bad(e.what());
  }
}

}  // namespace groupcache::discovery::kubernetes_internal
