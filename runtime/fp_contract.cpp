#include "runtime/fp_contract.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace detnn::fp_probe {

float mul_then_add(float a, float b, float c) { return a * b + c; }

bool cpu_flushes_denormals() {
#if defined(__x86_64__) || defined(__i386__)
  const unsigned csr = _mm_getcsr();
  return (csr & 0x8000u) != 0 /* FTZ */ || (csr & 0x0040u) != 0 /* DAZ */;
#else
  return false;
#endif
}

}  // namespace detnn::fp_probe
