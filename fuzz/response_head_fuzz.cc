// libFuzzer target for the client's short way through a response head:
// on any bytes it must not crash, and whatever it accepts Beast must read
// the same way (http_head_oracle.h). The first byte sets the header
// limit (16 to 1036 bytes), so that the limit's edge is fuzzed too. Also
// built without libFuzzer, with replay_main.cc, to replay the corpus as a
// unit test.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "http_head_oracle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t max_bytes = 16 + size_t{data[0]} * 4;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string disagreement = groupcache::internal::ResponseDisagreementWithBeast(input, max_bytes);
  if (!disagreement.empty()) {
    std::fprintf(stderr, "response_head: %s\n", disagreement.c_str());
    __builtin_trap();
  }
  return 0;
}
