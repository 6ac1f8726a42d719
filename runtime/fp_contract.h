// DESIGN §2 guards. Including this (dmath.h does) makes a -ffast-math build fail to compile,
// and the probes below let tests prove the flags are in force in the compiled library.
#pragma once

#if defined(__FAST_MATH__)
#error "detnn must not be built with -ffast-math / --use_fast_math (DESIGN §2)"
#endif
#if defined(__FINITE_MATH_ONLY__) && __FINITE_MATH_ONLY__
#error "detnn must not be built with -ffinite-math-only (DESIGN §2)"
#endif

namespace detnn::fp_probe {

// a * b + c written as two operations in a library translation unit: equals the twice-rounded
// result only when the compiler did not contract it into an FMA.
float mul_then_add(float a, float b, float c);

// True when the CPU flushes denormals (MXCSR FTZ or DAZ set): never allowed in detnn.
bool cpu_flushes_denormals();

}  // namespace detnn::fp_probe
