// DETNN_CPU_CLONES: compile a hot element-wise loop three times — for AVX-512 (x86-64-v4),
// AVX2+FMA (x86-64-v3) and the build's baseline — with every call inside it inlined (flatten),
// and let the loader pick one by CPUID (GCC and Clang target_clones: an ifunc). Such loops call
// dmath functions built from fmaf, which a build without -march=native otherwise makes a libm
// call per use. Every clone computes the same IEEE operations (fmaf is fused either way;
// -ffp-contract=off holds in each), so the pick changes speed only. DETNN_CPU_ISA does not steer
// these (it picks the dot-product microkernels). Sanitizer builds keep one version: an ifunc
// resolver runs before the sanitizer's runtime is set up.
#pragma once

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(DETNN_NO_TARGET_CLONES)
#define DETNN_CPU_CLONES \
  __attribute__((flatten, target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DETNN_CPU_CLONES
#endif
