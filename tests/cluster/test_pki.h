// TestPki: a throwaway certificate authority and certificates it issued,
// written as PEM files into a directory, for the TLS tests. Built with the
// OpenSSL C API, so the tests need no openssl binary.

#ifndef GROUPCACHE_TESTS_CLUSTER_TEST_PKI_H_
#define GROUPCACHE_TESTS_CLUSTER_TEST_PKI_H_

#include <string>

#include "groupcache/status.h"

namespace groupcache::testing {

// Paths of the PEM files. Keys are EC P-256, unencrypted; certificates are
// valid from an hour ago for a day.
struct TestPki {
  std::string ca_cert;  // the CA that issued the node and client certificates
  // A node: IP SAN 127.0.0.1 only (no DNS name), usable as server and as
  // client certificate.
  std::string node_cert;
  std::string node_key;
  // A client certificate (clientAuth only).
  std::string client_cert;
  std::string client_key;
  // An unrelated CA, and a client certificate it issued.
  std::string other_ca_cert;
  std::string other_client_cert;
  std::string other_client_key;
};

// Writes the files into `dir` (which must exist). Errors: Internal with
// OpenSSL's reason.
Result<TestPki> MakeTestPki(const std::string& dir);

}  // namespace groupcache::testing

#endif  // GROUPCACHE_TESTS_CLUSTER_TEST_PKI_H_
