// Which vector instruction set the CPU kernels use. One binary carries every path (AVX-512,
// AVX2+FMA, portable C++) and picks the widest this CPU runs, at the first kernel call, from
// CPUID; DETNN_CPU_ISA=avx512|avx2|portable forces one. Every path computes the same IEEE
// operations in the same order (one fmaf chain per output, DESIGN §3), so the choice changes
// speed, never bits; it is recorded in the manifest's environment all the same.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace detnn {

enum class CpuIsa { portable, avx2, avx512 };

const char* cpu_isa_name(CpuIsa isa);  // "portable", "avx2", "avx512"

// The paths this CPU (and its operating system) can run, narrowest first; always has portable.
std::vector<CpuIsa> cpu_isas_available();

// The path the kernels use now: the override if one is set, else DETNN_CPU_ISA if set, else
// the widest available. Throws Error(invalid_argument) when DETNN_CPU_ISA names no path or one
// this CPU cannot run (the message names the variable, its value and what is available).
CpuIsa cpu_isa_active();

// "DETNN_CPU_ISA" when the variable picked the path, "override" for set_cpu_isa_override,
// "cpuid" otherwise.
std::string cpu_isa_source();

// Forces a path for this process (tests compare the paths); nullopt goes back to the default.
// Throws Error(invalid_argument) for a path this CPU cannot run. Not while kernels are running.
void set_cpu_isa_override(std::optional<CpuIsa> isa);

// Parses a DETNN_CPU_ISA value; nullopt for "" or "auto". Throws naming the bad value.
std::optional<CpuIsa> parse_cpu_isa(const std::string& text);

}  // namespace detnn
