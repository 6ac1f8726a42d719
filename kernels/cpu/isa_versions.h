// DETNN_CPU_VERSIONS(name, (params), (args)): an element-wise loop compiled three times — for
// AVX-512 (x86-64-v4), AVX2+FMA (x86-64-v3) and the build's own target — from one body,
// `name##_body`, with every call inside inlined (flatten), and `name` calling the version of the
// active CPU path (runtime/cpu_isa.h: CPUID or DETNN_CPU_ISA), as the dot-product microkernels
// do. Such loops call dmath functions built from fmaf, which a build without -march=native
// otherwise makes a libm call per use, and vectorize only with the wider registers. Every
// version computes the same IEEE operations (fmaf is fused either way; -ffp-contract=off holds
// in each), so the path changes speed, never bits — and the CpuIsaPath tests run each.
#pragma once

#include "runtime/cpu_isa.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DETNN_TARGET_AVX512 __attribute__((flatten, target("arch=x86-64-v4")))
#define DETNN_TARGET_AVX2 __attribute__((flatten, target("arch=x86-64-v3")))
#else
#define DETNN_TARGET_AVX512 __attribute__((flatten))
#define DETNN_TARGET_AVX2 __attribute__((flatten))
#endif

#define DETNN_CPU_VERSIONS(name, params, args)                 \
  DETNN_TARGET_AVX512 void name##_avx512 params { name##_body args; } \
  DETNN_TARGET_AVX2 void name##_avx2 params { name##_body args; }     \
  __attribute__((flatten)) void name##_portable params { name##_body args; } \
  void name params {                                           \
    switch (::detnn::cpu_isa_active()) {                       \
      case ::detnn::CpuIsa::avx512: return name##_avx512 args;  \
      case ::detnn::CpuIsa::avx2: return name##_avx2 args;      \
      case ::detnn::CpuIsa::portable: break;                   \
    }                                                          \
    name##_portable args;                                      \
  }
