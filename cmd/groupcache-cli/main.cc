// groupcache-cli: operator commands for a groupcache cluster.
//
//   groupcache-cli owner --hash mailgun|golang|balanced --replicas N --peers URL[,URL...] KEY...
//     prints KEY<TAB>OWNER for each key, placing keys exactly as the Go ring
//     does for the same peer list (mailgun, golang), or as C++ nodes with
//     --hash balanced do.
//   groupcache-cli get|set|remove --peer URL --group G KEY [VALUE] [--ttl D]
//     speaks the peer protocol to one node: get writes the value to stdout,
//     set stores VALUE (expiring after D, e.g. 10s, 500ms, 2m), remove
//     forgets the key. Exit 0 on success, 3 if the key was not found
//     (message on stderr), 1 on any other error. For an https:// peer,
//     --tls-ca names the CAs to verify it with (default: the system's) and
//     --tls-cert/--tls-key a client certificate for mutual TLS.
//   groupcache-cli get|set|remove --cluster --peer URL --group G KEY ...
//     the same through the node's client API (/api/v1/groups/G/keys/KEY),
//     for the whole cluster: get reads through the group (one load
//     cluster-wide; the source, hit|hot|peer|load, on stderr with -v), set
//     is a cluster-wide Set, remove a cluster-wide Remove (the owner, then
//     every peer; a failure names the peers). Same exit statuses.

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "api_client.h"
#include "groupcache/duration.h"
#include "groupcache/hash_ring.h"
#include "groupcache/http_pool.h"

namespace {

int RunOwner(const std::string& hash, int replicas, const std::vector<std::string>& peers,
             const std::vector<std::string>& keys) {
  groupcache::RingOptions options;
  if (!groupcache::ParseRingAlgorithm(hash, &options.algorithm)) {
    std::cerr << "groupcache-cli: --hash must be mailgun, golang or balanced, not '" << hash
              << "'\n";
    return 2;
  }
  options.replicas = replicas;
  groupcache::HashRing ring(options, peers);
  for (const std::string& key : keys) std::cout << key << '\t' << ring.Get(key) << '\n';
  return 0;
}

int RunPeerCommand(const std::string& command, const std::string& peer, const std::string& group,
                   const std::string& key, const std::string& value, const std::string& ttl,
                   const std::string& hash, const groupcache::ClientTlsOptions& tls,
                   groupcache::Duration timeout) {
  groupcache::HttpPoolOptions options;
  groupcache::ParseRingAlgorithm(hash, &options.ring.algorithm);
  options.client_tls = tls;
  // The client's own bound on a request (10 s by default) would cut a
  // longer --timeout short.
  options.request_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  groupcache::HttpClientPool clients(options);
  if (groupcache::Status s = clients.tls_status(); !s.ok()) {
    std::cerr << "groupcache-cli: " << s.message() << '\n';
    return 2;
  }
  auto client = clients.ClientFor(peer);
  auto ctx = groupcache::Context::Background().WithTimeout(timeout);
  groupcache::Status status;
  if (command == "get") {
    auto r = client->Get(ctx, group, key);
    if (r.ok()) {
      std::cout.write(r->data(), static_cast<std::streamsize>(r->size()));
      std::cout.flush();
      return 0;
    }
    status = r.status();
  } else if (command == "set") {
    groupcache::Time expire = groupcache::kNoExpiry;
    if (!ttl.empty()) {
      groupcache::Result<groupcache::Duration> d = groupcache::ParseTtl(ttl);
      if (!d.ok()) {
        std::cerr << "groupcache-cli: bad --ttl: " << d.status().message() << '\n';
        return 2;
      }
      expire = groupcache::WallClock::now() +
               std::chrono::duration_cast<groupcache::WallClock::duration>(*d);
    }
    status = client->Set(ctx, group, key, groupcache::ByteView::Copy(value, expire));
  } else {
    status = client->Remove(ctx, group, key);
  }
  if (status.ok()) return 0;
  std::cerr << "groupcache-cli " << command << ": " << status.ToString() << '\n';
  return status.code() == groupcache::StatusCode::kNotFound ? 3 : 1;
}

// The --cluster form: one request to the node's client API.
int RunClusterCommand(const std::string& command, const std::string& node, const std::string& group,
                      const std::string& key, const std::string& value, const std::string& ttl,
                      const groupcache::ClientTlsOptions& tls, bool verbose,
                      const std::string& timeout_text, groupcache::Duration timeout) {
  std::string target = "/api/v1/groups/" + groupcache::cli::EscapeKey(group) + "/keys/" +
                       groupcache::cli::EscapeKey(key);
  std::string method = "GET";
  if (command == "set") {
    method = "PUT";
    if (!ttl.empty()) {
      groupcache::Result<groupcache::Duration> d = groupcache::ParseTtl(ttl);
      if (!d.ok()) {
        std::cerr << "groupcache-cli: bad --ttl: " << d.status().message() << '\n';
        return 2;
      }
      target += "?ttl=" + ttl;
    }
  } else if (command == "remove") {
    method = "DELETE";
  }
  // The node bounds its own wait by ?timeout= and answers 504; the request
  // waits a second longer, so that the node's answer is what is reported.
  target += (target.find('?') == std::string::npos ? "?timeout=" : "&timeout=") +
            groupcache::cli::EscapeKey(timeout_text);
  auto r = groupcache::cli::ApiRequest(
      method, node, target, value, tls,
      std::chrono::duration_cast<std::chrono::milliseconds>(timeout) + std::chrono::seconds(1));
  if (!r.ok()) {
    std::cerr << "groupcache-cli " << command << ": " << r.status().ToString() << '\n';
    return r.status().code() == groupcache::StatusCode::kInvalidArgument ? 2 : 1;
  }
  if (r->status / 100 == 2) {
    if (command == "get") {
      std::cout.write(r->body.data(), static_cast<std::streamsize>(r->body.size()));
      std::cout.flush();
      if (verbose) std::cerr << "source: " << r->source << '\n';
    }
    return 0;
  }
  std::string body = r->body;
  while (!body.empty() && body.back() == '\n') body.pop_back();
  std::cerr << "groupcache-cli " << command << ": HTTP " << r->status << ": " << body << '\n';
  return r->status == 404 ? 3 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"groupcache-cli: inspect and drive a groupcache cluster"};
  app.require_subcommand(1);

  std::string hash = "mailgun";
  int replicas = 0;  // the algorithm's default (HashRing::DefaultReplicas)
  std::vector<std::string> peers;
  std::vector<std::string> keys;
  CLI::App* owner = app.add_subcommand("owner", "print the peer that owns each key");
  owner->add_option("--hash", hash, "ring algorithm: mailgun (default), golang or balanced")
      ->check(CLI::IsMember({"mailgun", "golang", "balanced"}));
  owner
      ->add_option("--replicas", replicas,
                   "points per peer on the ring (default 50, or 400 with --hash balanced)")
      ->check(CLI::PositiveNumber);
  owner->add_option("--peers", peers, "peer URLs, e.g. http://10.0.0.1:8080")
      ->required()
      ->delimiter(',')
      ->allow_extra_args(false);  // keys follow; do not swallow them
  owner->add_option("keys", keys, "keys to place")->required();

  std::string peer;
  std::string group;
  std::string key;
  std::string value;
  std::string ttl;
  std::string peer_hash = "mailgun";
  groupcache::ClientTlsOptions tls;
  bool cluster = false;
  bool verbose = false;
  std::string timeout_text = "10s";
  auto add_peer_command = [&](const std::string& name, const std::string& help, bool with_value) {
    CLI::App* cmd = app.add_subcommand(name, help);
    cmd->add_option("--peer", peer, "a node's URL, e.g. http://127.0.0.1:8080")->required();
    cmd->add_option("--group", group, "group name")->required();
    cmd->add_option("--hash", peer_hash, "escaping: mailgun (default, as balanced) or golang")
        ->check(CLI::IsMember({"mailgun", "golang", "balanced"}));
    cmd->add_option("--tls-ca", tls.ca_file,
                    "https:// peers: PEM CAs to verify the peer with (default: the system's)");
    auto* cert = cmd->add_option("--tls-cert", tls.cert_file,
                                 "https:// peers: PEM client certificate (mutual TLS)");
    auto* cert_key = cmd->add_option("--tls-key", tls.key_file, "PEM private key of --tls-cert");
    cert->needs(cert_key);
    cert_key->needs(cert);
    cmd->add_flag("--cluster", cluster,
                  "through the node's client API, for the whole cluster (not one node)");
    cmd->add_flag("-v,--verbose", verbose, "get --cluster: print the value's source on stderr");
    cmd->add_option("--timeout", timeout_text,
                    "give up after this long, e.g. 500ms, 2s (default 10s)");
    cmd->add_option("key", key, "the key")->required();
    if (with_value) {
      cmd->add_option("value", value, "the value")->required();
      cmd->add_option("--ttl", ttl, "expire after this long, e.g. 10s, 500ms, 2m");
    }
    return cmd;
  };
  CLI::App* get = add_peer_command("get", "read a key through a node", false);
  CLI::App* set = add_peer_command("set", "store a key on a node (its main cache)", true);
  CLI::App* remove = add_peer_command("remove", "remove a key from a node's caches", false);

  CLI11_PARSE(app, argc, argv);
  if (owner->parsed()) return RunOwner(hash, replicas, peers, keys);
  for (CLI::App* cmd : {get, set, remove}) {
    if (cmd->parsed()) {
      groupcache::Result<groupcache::Duration> timeout = groupcache::ParseTtl(timeout_text);
      if (!timeout.ok()) {
        std::cerr << "groupcache-cli: bad --timeout: " << timeout.status().message() << '\n';
        return 2;
      }
      if (cluster) {
        return RunClusterCommand(cmd->get_name(), peer, group, key, value, ttl, tls, verbose,
                                 timeout_text, *timeout);
      }
      return RunPeerCommand(cmd->get_name(), peer, group, key, value, ttl, peer_hash, tls,
                            *timeout);
    }
  }
  return 2;
}
