#include "runtime/cpu_isa.h"

#include <atomic>
#include <cstdlib>

#include "runtime/error.h"

namespace detnn {

namespace {

bool cpu_runs(CpuIsa isa) {
  if (isa == CpuIsa::portable) return true;
#if defined(__x86_64__) || defined(__i386__)
  // libgcc's checks include the operating system's support (XGETBV) for the wide registers.
  __builtin_cpu_init();
  if (isa == CpuIsa::avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (isa == CpuIsa::avx512) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
#endif
  return false;
}

std::string available_list() {
  std::string s;
  for (CpuIsa isa : cpu_isas_available()) s += (s.empty() ? "" : ", ") + std::string(cpu_isa_name(isa));
  return s;
}

// -1: no override; else the CpuIsa's value.
std::atomic<int> g_override{-1};

}  // namespace

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::portable: return "portable";
    case CpuIsa::avx2: return "avx2";
    case CpuIsa::avx512: return "avx512";
  }
  return "unknown";
}

std::vector<CpuIsa> cpu_isas_available() {
  std::vector<CpuIsa> out;
  for (CpuIsa isa : {CpuIsa::portable, CpuIsa::avx2, CpuIsa::avx512})
    if (cpu_runs(isa)) out.push_back(isa);
  return out;
}

std::optional<CpuIsa> parse_cpu_isa(const std::string& text) {
  if (text.empty() || text == "auto") return std::nullopt;
  for (CpuIsa isa : {CpuIsa::portable, CpuIsa::avx2, CpuIsa::avx512})
    if (text == cpu_isa_name(isa)) return isa;
  throw Error(ErrorCode::invalid_argument,
              "DETNN_CPU_ISA='" + text + "' is not a CPU path: use avx512, avx2, portable or auto");
}

CpuIsa cpu_isa_active() {
  const int forced = g_override.load(std::memory_order_relaxed);
  if (forced >= 0) return static_cast<CpuIsa>(forced);
  // Read once: the variable is the process's setting, like DETNN_NUM_THREADS.
  static const std::optional<CpuIsa> from_env = [] {
    const char* value = std::getenv("DETNN_CPU_ISA");
    return value ? parse_cpu_isa(value) : std::nullopt;
  }();
  if (from_env) {
    DETNN_CHECK(cpu_runs(*from_env), invalid_argument, "DETNN_CPU_ISA=", cpu_isa_name(*from_env),
                " but this CPU cannot run it (available: ", available_list(), ")");
    return *from_env;
  }
  static const CpuIsa widest = cpu_isas_available().back();
  return widest;
}

std::string cpu_isa_source() {
  if (g_override.load() >= 0) return "override";
  const char* value = std::getenv("DETNN_CPU_ISA");
  return value && *value && std::string(value) != "auto" ? "DETNN_CPU_ISA" : "cpuid";
}

void set_cpu_isa_override(std::optional<CpuIsa> isa) {
  if (!isa) {
    g_override.store(-1);
    return;
  }
  DETNN_CHECK(cpu_runs(*isa), invalid_argument, "CPU path ", cpu_isa_name(*isa),
              " is not available on this CPU (available: ", available_list(), ")");
  g_override.store(static_cast<int>(*isa));
}

}  // namespace detnn
