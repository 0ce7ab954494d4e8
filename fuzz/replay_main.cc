// Runs LLVMFuzzerTestOneInput over the files and directories named on the
// command line, for builds without libFuzzer (g++): the corpus becomes a
// regression test, and a crash input from a fuzzing run can be replayed
// under a debugger. Arguments starting with '-' (libFuzzer flags) are
// ignored. Exits 1 when a path is missing or no input was found, so that a
// moved corpus does not pass silently.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool RunFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "replay: cannot read " << path << "\n";
    return false;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  std::vector<uint8_t> input(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(input.data(), input.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int inputs = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.starts_with("-")) continue;
    std::error_code error;
    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(arg, error)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg, error)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());  // the same order on every run
    } else if (std::filesystem::is_regular_file(arg, error)) {
      files.emplace_back(arg);
    } else {
      std::cerr << "replay: no such file or directory: " << arg << "\n";
      ok = false;
    }
    for (const auto& file : files) {
      ok = RunFile(file) && ok;
      ++inputs;
    }
  }
  std::cout << "replay: " << inputs << " inputs\n";
  return ok && inputs > 0 ? 0 : 1;
}
