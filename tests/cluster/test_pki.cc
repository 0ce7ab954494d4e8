#include "test_pki.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <utility>
#include <vector>

namespace groupcache::testing {
namespace {

struct Free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  void operator()(X509* c) const { X509_free(c); }
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;

Status OpenSslError(const std::string& what) {
  char text[256] = "unknown error";
  if (unsigned long code = ERR_get_error(); code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return InternalError(what + ": " + text);
}

// One certificate: its subject, key, the extensions (NID, OpenSSL config
// value) and its issuer (null: self-signed).
struct Spec {
  std::string cn;
  long serial;
  std::vector<std::pair<int, std::string>> extensions;
};

Result<Cert> Issue(const Spec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  Cert cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), spec.serial) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return OpenSslError("certificate " + spec.cn);
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name) !=
          1) {
    return OpenSslError("name " + spec.cn);
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : spec.extensions) {
    std::unique_ptr<X509_EXTENSION, Free> ext(
        X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!ext || X509_add_ext(cert.get(), ext.get(), -1) != 1) {
      return OpenSslError("extension " + value + " of " + spec.cn);
    }
  }
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    return OpenSslError("signing " + spec.cn);
  }
  return cert;
}

Status Write(const std::string& path, X509* cert, EVP_PKEY* key) {
  std::unique_ptr<std::FILE, Free> f(std::fopen(path.c_str(), "w"));
  if (!f) return InternalError("cannot write " + path);
  int ok = cert != nullptr
               ? PEM_write_X509(f.get(), cert)
               : PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  if (ok != 1) return OpenSslError("writing " + path);
  return {};
}

// A certificate and its key, written to DIR/NAME.pem and DIR/NAME.key.
struct Issued {
  Key key;
  Cert cert;
};

Result<Issued> IssueAndWrite(const std::string& dir, const std::string& name, const Spec& spec,
                             const Issued* issuer) {
  Issued out;
  out.key.reset(EVP_EC_gen("P-256"));
  if (!out.key) return OpenSslError("key for " + name);
  auto cert = Issue(spec, out.key.get(), issuer != nullptr ? issuer->cert.get() : nullptr,
                    issuer != nullptr ? issuer->key.get() : nullptr);
  if (!cert.ok()) return cert.status();
  out.cert = std::move(*cert);
  if (Status s = Write(dir + "/" + name + ".pem", out.cert.get(), nullptr); !s.ok()) return s;
  if (Status s = Write(dir + "/" + name + ".key", nullptr, out.key.get()); !s.ok()) return s;
  return out;
}

Spec CaSpec(const std::string& cn) {
  return {cn,
          1,
          {{NID_basic_constraints, "critical,CA:TRUE"},
           {NID_key_usage, "critical,keyCertSign,cRLSign"},
           {NID_subject_key_identifier, "hash"}}};
}

Spec LeafSpec(const std::string& cn, long serial, const std::string& usage,
              const std::string& san) {
  Spec spec{cn,
            serial,
            {{NID_basic_constraints, "CA:FALSE"},
             {NID_key_usage, "critical,digitalSignature"},
             {NID_ext_key_usage, usage}}};
  if (!san.empty()) spec.extensions.emplace_back(NID_subject_alt_name, san);
  return spec;
}

}  // namespace

Result<TestPki> MakeTestPki(const std::string& dir) {
  auto ca = IssueAndWrite(dir, "ca", CaSpec("groupcache test CA"), nullptr);
  if (!ca.ok()) return ca.status();
  auto node = IssueAndWrite(dir, "node",
                            LeafSpec("node", 2, "serverAuth,clientAuth", "IP:127.0.0.1"), &*ca);
  if (!node.ok()) return node.status();
  auto client = IssueAndWrite(dir, "client", LeafSpec("client", 3, "clientAuth", ""), &*ca);
  if (!client.ok()) return client.status();
  auto other_ca = IssueAndWrite(dir, "other-ca", CaSpec("another CA"), nullptr);
  if (!other_ca.ok()) return other_ca.status();
  auto other_client =
      IssueAndWrite(dir, "other-client", LeafSpec("stranger", 2, "clientAuth", ""), &*other_ca);
  if (!other_client.ok()) return other_client.status();
  return TestPki{dir + "/ca.pem",           dir + "/node.pem",        dir + "/node.key",
                 dir + "/client.pem",       dir + "/client.key",      dir + "/other-ca.pem",
                 dir + "/other-client.pem", dir + "/other-client.key"};
}

}  // namespace groupcache::testing
