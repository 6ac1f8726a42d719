// trainer sweep's sweep files (tools/trainer/sweep/sweep_config.h) on arbitrary bytes: YAML and
// JSON syntax through yaml-cpp, deep nesting, aliases that expand, every key's type and range,
// the distributions' keys, parameter paths. A refusal is a SweepError with one bounded line.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tools/trainer/sweep/sweep_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    trainer::sweep::parse_sweep_text(text, "sweep.yaml");
  } catch (const trainer::sweep::SweepError& e) {
    const std::string m = e.what();
    if (m.empty() || m.find('\n') != std::string::npos || m.size() > 2048) {
      std::fprintf(stderr, "fuzz: a refusal whose message is empty, spans lines or runs to %zu bytes:\n%s\n", m.size(),
                   m.substr(0, 4096).c_str());
      std::abort();
    }
  }
  return 0;
}
