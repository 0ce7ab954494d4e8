#include "groupcache/discovery/provider.h"

#include <cassert>
#include <string>
#include <utility>

#include "../text.h"
#include "host_port.h"

namespace groupcache::discovery {
namespace {

using groupcache::internal::Quote;

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

namespace internal {

Result<HostPort> SplitHostPort(std::string_view s, bool port_required) {
  auto bad = [](std::string why) { return InvalidArgumentError(std::move(why)); };
  std::string_view host = s;
  std::string_view port;
  bool has_port = false;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    host = s.substr(1, close - 1);
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("junk after ']'");
      port = rest.substr(1);
      has_port = true;
    }
  } else if (size_t colon = s.rfind(':'); colon != std::string_view::npos) {
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    has_port = true;
    if (host.find(':') != std::string_view::npos) return bad("IPv6 host needs [brackets]");
  }
  if (!has_port && port_required) return bad("no port");
  if (host.empty()) return bad("no host");
  if (host.find_first_of(" \t") != std::string_view::npos) return bad("bad host");
  if (!has_port) return HostPort{std::string(host), 0};
  if (port.empty()) return bad("empty port");
  if (!AllDigits(port) || port.size() > 5) return bad("port is not a number in 1..65535");
  int p = std::stoi(std::string(port));
  if (p < 1 || p > 65535) return bad("port is not a number in 1..65535");
  return HostPort{std::string(host), p};
}

}  // namespace internal

std::string Node::Address() const {
  // Like Go's net.JoinHostPort: an IPv6 literal needs brackets, or the port
  // would read as one more group of the address.
  std::string out;
  if (host.find(':') != std::string::npos) {
    out = "[" + host + "]";
  } else {
    out = host;
  }
  return out + ":" + std::to_string(port);
}

std::string Node::PeerUrl() const { return "http://" + Address(); }

Result<Node> ParseNodeAddress(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError("bad node address " + Quote(text) + ": " + std::string(why) +
                                " (want host:port or http://host:port)");
  };
  std::string_view s = text;
  if (size_t scheme = s.find("://"); scheme != std::string_view::npos) {
    // The scheme is not kept: the transport settings (TLS or not) decide
    // how every peer is reached.
    if (s.substr(0, scheme) != "http" && s.substr(0, scheme) != "https") {
      return bad("scheme is not http or https");
    }
    s.remove_prefix(scheme + 3);
    if (!s.empty() && s.back() == '/') s.remove_suffix(1);
  }
  if (s.find('/') != std::string_view::npos) return bad("has a path");
  Result<internal::HostPort> hp = internal::SplitHostPort(s, /*port_required=*/true);
  if (!hp.ok()) return bad(hp.status().message());
  Node node{"", std::move(hp->host), hp->port};
  node.name = node.Address();
  return node;
}

Status ValidateNode(const Node& node, std::string_view what) {
  if (node.host.empty()) return InvalidArgumentError(std::string(what) + ": empty host");
  if (node.port < 1 || node.port > 65535) {
    return InvalidArgumentError(std::string(what) + ": port " + std::to_string(node.port) +
                                " is not in 1..65535");
  }
  return Status::Ok();
}

std::string_view KindName(Event::Kind kind) {
  switch (kind) {
    case Event::Kind::kAdded: return "added";
    case Event::Kind::kRemoved: return "removed";
    case Event::Kind::kModified: return "modified";
  }
  return "unknown";
}

void SetSelf(Config& config, const Node& self) {
  config.SetString(std::string(kSelfName), self.name.empty() ? self.host : self.name);
  config.SetString(std::string(kSelfHost), self.host);
  config.SetInt(std::string(kSelfPort), self.port);
}

Result<Node> GetSelf(const Config& config) {
  Result<std::string> host = config.GetString(kSelfHost);
  if (!host.ok()) return host.status();
  if (host->empty()) {
    return InvalidArgumentError("discovery config: key \"" + std::string(kSelfHost) +
                                "\" is empty");
  }
  Result<int64_t> port = config.GetInt(kSelfPort);
  if (!port.ok()) return port.status();
  if (*port < 1 || *port > 65535) {
    return InvalidArgumentError("discovery config: key \"" + std::string(kSelfPort) + "\" is " +
                                std::to_string(*port) + ", want a port in 1..65535");
  }
  Result<std::string> name = config.GetStringOr(kSelfName, *host);
  if (!name.ok()) return name.status();
  return Node{name->empty() ? *host : *name, *host, static_cast<int>(*port)};
}

ServiceDiscovery::ServiceDiscovery(std::unique_ptr<Provider> provider, Config config)
    : provider_(std::move(provider)), config_(std::move(config)) {
  assert(provider_ != nullptr);
}

}  // namespace groupcache::discovery
