// What every fuzz target checks: a parser refuses bad input only by throwing detnn::Error with a
// one-line message of bounded length (it names the problem, it does not echo the input). Any
// other exception, a crash, a leak or undefined behaviour escapes, and libFuzzer reports it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "runtime/error.h"

namespace detnn::fuzz {

// Longer than any message a parser writes with cut values; short enough to catch an echo.
inline constexpr size_t kMaxMessageBytes = 2048;

template <typename Parse>
void expect_clean_refusal(Parse&& parse) {
  try {
    parse();
  } catch (const Error& e) {
    const std::string m = e.what();
    if (m.empty() || m.find('\n') != std::string::npos || m.size() > kMaxMessageBytes) {
      std::fprintf(stderr, "fuzz: a refusal whose message is empty, spans lines or runs to %zu bytes:\n%s\n",
                   m.size(), m.substr(0, 4096).c_str());
      std::abort();
    }
  }
}

// For LLVMFuzzerInitialize: with DETNN_FUZZ_WRITE_SEEDS=DIR in the environment, writes the
// target's seed corpus to DIR with `write` and exits (fuzz/run-fuzzer does this first, for targets
// whose valid inputs need detnn or stb to make).
template <typename WriteSeeds>
void write_seeds_if_asked(WriteSeeds&& write) {
  const char* dir = std::getenv("DETNN_FUZZ_WRITE_SEEDS");
  if (dir == nullptr) return;
  std::filesystem::create_directories(dir);
  write(std::filesystem::path(dir));
  std::exit(0);
}

// Two files from one input: a 4-byte little-endian length of the first (cut to what is there),
// the first file, then the second (the seed corpora are written in this framing).
inline std::pair<std::vector<uint8_t>, std::vector<uint8_t>> split_two_files(const uint8_t* data, size_t size) {
  if (size < 4) return {{}, {}};
  uint32_t first = 0;
  for (int k = 3; k >= 0; --k) first = (first << 8) | data[k];
  const size_t n = first < size - 4 ? first : size - 4;
  return {std::vector<uint8_t>(data + 4, data + 4 + n), std::vector<uint8_t>(data + 4 + n, data + size)};
}

}  // namespace detnn::fuzz
