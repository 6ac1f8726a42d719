// Deterministic float32 transcendental functions (DESIGN §2.3): the same bits on the host
// (x86-64, any libm) and on CUDA devices.
//
// Every function is built only from IEEE-rounded + - * /, fma (one rounding), sqrt,
// comparisons, integer and bit operations, with coefficients written as hex-float literals:
// no libm call, no CUDA math function other than the correctly rounded __fmaf_rn, __fdiv_rn
// and __fsqrt_rn, no table in memory. Every intended multiply-add is an explicit fma(); the
// remaining products and sums rely on the §2.1 flags (no contraction). NaN results are
// always the canonical quiet NaN kNanBits = 0x7fc00000 (x86 and CUDA make different NaN
// bits from arithmetic, so no NaN result here comes from arithmetic).
//
// Accuracy: max error in ulps of the exact value, measured against the x86-64 80-bit long
// double libm; ulp = the spacing of floats in the exact value's binade. The bounds are the
// constants kMaxUlp / kMaxUlpSubnormal below, asserted by tests/runtime/dmath_test.cpp
// (~1M inputs per function) and tests/runtime/dmath_slow_test.cpp (every float).
//
//   function  swept             max ulp  worst x          method
//   exp       all 2^32 floats   0.510    0x1.add9dp+5     x = k ln2 + r, |r| <= ln2/2
//   exp2      all 2^32 floats   0.510    0x1.0e49ap-1     x = k + r, exp(r ln2) double-float
//   expm1     all 2^32 floats   0.542    0x1.684e4p-2     2^k ((1 - 2^-k) + expm1(r))
//   log       all 2^32 floats   0.558    0x1.69ac52p-1    fdlibm split with s = f/(2+f)
//   log1p     all 2^32 floats   0.558    -0x1.2ca75cp-2   log(u) + (1 + x - u)/u, u = 1 + x
//   tanh      all 2^32 floats   0.526    0x1.6baf74p-3    t/(t + 2), t = expm1(2|x|)
//   erf       all 2^32 floats   0.637    0x1.003bacp+0    three pieces, see erf()
//   sin       all 2^32 floats   0.551    0x1.e4b42ep+103  Cody-Waite / Payne-Hanek
//   cos       all 2^32 floats   0.552    0x1.992a08p+122  Cody-Waite / Payne-Hanek
//   sinpi     all 2^32 floats   0.535    0x1.03922cp-2    exact reduction to |r| <= 1/4
//   cospi     all 2^32 floats   0.536    0x1.fc1a16p-3    exact reduction to |r| <= 1/4
//   sqrt      all 2^32 floats   0.500                     IEEE sqrt, correctly rounded
//   pow       1.2e8 pairs       0.524    (0x1.6f3a74p-1,  exp(y log x) with log x and
//                                         0x1.e0bde8p+7)  y log x as double-floats
//   pow pairs: x > 0 over all binades with |y log x| <= 104, x near 1 with large |y|, and
//   beta^t for beta in {0.9, 0.99, 0.999, 0.9999}, t = 1 .. 10^7 (Adam); x < 0 with integer y
//   follows from x > 0. Results below FLT_MIN (exp, exp2, pow, sinpi of |x| < 2^-100):
//   0.751 max, bound kMaxUlpSubnormal -- the result is rounded to 24 bits, then once more when
//   scaled into the subnormal range. The other subnormal results are rounded once.
//
// Re-measure: `detnn_slow_tests --gtest_filter='ExhaustiveUlp.*'` (about an hour on two cores;
// each test prints its maximum and where it occurs), or the ~1M-input sweeps of
// `detnn_tests --gtest_filter='Dmath.*'` (seconds). Change the table and kMaxUlp together.
//
// Polynomials: minimax (Remez exchange or Lawson iteration in mpmath) for the relative error
// of the final result, coefficients rounded to float one at a time with the others refit;
// each comment gives the degree and the max error of the float polynomial. Terms that would
// lose more than ~1/16 ulp (1 + r, f - f^2/2, the pi r head of sinpi, ...) are carried as
// double-floats with fma-based exact products and TwoSum, so most functions round once at
// the end.
//
// sin/cos: |x| < 2^16 reduce by Cody-Waite with pi/2 in three parts (the first step exact,
// the second error-free); larger |x| use an exact Payne-Hanek reduction (96 bits of 2/pi as
// integer literals, 120-bit product), so the bound holds for every float, including the
// floats closest to multiples of pi/2 (|x mod pi/2| down to 1.6e-9).
#pragma once

#include <cstdint>
#include <cstring>
#if !defined(__CUDA_ARCH__)
#include <cmath>
#endif

#include "runtime/fp_contract.h"  // refuses -ffast-math
#include "runtime/host_device.h"           // DETNN_HD: __host__ __device__ __forceinline__ under nvcc

namespace detnn::dmath {

// Documented bounds (max ulp, normal results); the tests fail when a function gets worse.
struct UlpBounds {
  float exp = 0.52f, exp2 = 0.52f, expm1 = 0.55f, log = 0.56f, log1p = 0.56f;
  float tanh = 0.53f, erf = 0.64f, sin = 0.56f, cos = 0.56f, sinpi = 0.54f, cospi = 0.54f;
  float pow = 0.53f, sqrt = 0.5f;
};
inline constexpr UlpBounds kMaxUlp{};
// Results below FLT_MIN (exp, exp2, pow and sinpi form them from a normal intermediate):
// one more rounding when scaling into the subnormal range.
inline constexpr float kMaxUlpSubnormal = 0.76f;

// The bits of every NaN result.
inline constexpr uint32_t kNanBits = 0x7fc00000u;

namespace detail {

// Reinterprets the bits of a value (memcpy compiles to a register move on both sides).
template <class To, class From>
DETNN_HD To bit_cast(const From& from) {
  static_assert(sizeof(To) == sizeof(From), "bit_cast needs equal sizes");
  To to;
  ::memcpy(&to, &from, sizeof(To));
  return to;
}

DETNN_HD uint32_t bits(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(x);
#else
  return bit_cast<uint32_t>(x);
#endif
}
DETNN_HD float from_bits(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  return bit_cast<float>(u);
#endif
}

DETNN_HD float fma(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}
// IEEE division and square root whatever -prec-div / -prec-sqrt a kernel is built with.
DETNN_HD float div(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}
DETNN_HD float sqrt_rn(float x) {
#if defined(__CUDA_ARCH__)
  return __fsqrt_rn(x);
#else
  return std::sqrt(x);
#endif
}

DETNN_HD float nan() { return from_bits(kNanBits); }
DETNN_HD float inf() { return from_bits(0x7f800000u); }
DETNN_HD bool is_nan(float x) { return (bits(x) & 0x7fffffffu) > 0x7f800000u; }
DETNN_HD bool is_finite(float x) { return (bits(x) & 0x7fffffffu) < 0x7f800000u; }
DETNN_HD float abs(float x) { return from_bits(bits(x) & 0x7fffffffu); }
// |mag| with the sign of sgn.
DETNN_HD float with_sign_of(float mag, float sgn) {
  return from_bits((bits(mag) & 0x7fffffffu) | (bits(sgn) & 0x80000000u));
}
// Flips the sign of v when `negate` (exact, keeps zeros signed).
DETNN_HD float negate_if(float v, bool negate) {
  return from_bits(bits(v) ^ (negate ? 0x80000000u : 0u));
}

// 2^k for k in [-126, 127].
DETNN_HD float pow2i(int k) { return from_bits(static_cast<uint32_t>(k + 127) << 23); }
// y * 2^k for y in [0.5, 4) and k in [-152, 130], one rounding (gradual underflow and
// overflow to inf come out right because the first product is exact).
DETNN_HD float scale2(float y, int k) {
  int k1 = k / 2;
  return y * pow2i(k1) * pow2i(k - k1);
}
// Nearest integer (ties to even) of a*b, exactly rounded from the exact product, as a
// float; valid while |a*b| < 2^22.
DETNN_HD float round_product(float a, float b) {
  const float shifter = 0x1.8p23f;
  return fma(a, b, shifter) - shifter;
}

// Error-free sum: s + e == a + b exactly (Knuth's TwoSum, any magnitudes).
DETNN_HD void two_sum(float a, float b, float& s, float& e) {
  s = a + b;
  float bb = s - a;
  e = (a - (s - bb)) + (b - bb);
}
// Error-free sum when |a| >= |b| or a == 0 (Dekker's Fast2Sum).
DETNN_HD void fast_two_sum(float a, float b, float& s, float& e) {
  s = a + b;
  e = (a - s) + b;
}

constexpr float kLog2e = 0x1.715476p+0f;
constexpr float kLn2Hi = 0x1.62e430p-1f;    // float(ln 2)
constexpr float kLn2Lo = -0x1.05c610p-29f;  // ln 2 - kLn2Hi
// ln 2 with a 16-bit head, so k * kLn2Head is exact for |k| < 256.
constexpr float kLn2Head = 0x1.62e400p-1f;
constexpr float kLn2Mid = 0x1.7f7d1cp-20f;
constexpr float kLn2Tail = 0x1.ef357ap-45f;

// expm1(r) = r + r^2/2 + r^3 * P(r) on |r| <= 0.3467: minimax for the relative error of
// expm1, degree 4 (total degree 7), max error 2^-31.
DETNN_HD float expm1_cubic_poly(float r) {
  float p = fma(0x1.9c6690p-13f, r, 0x1.6d4c10p-10f);
  p = fma(p, r, 0x1.1113acp-7f);
  p = fma(p, r, 0x1.5554eap-5f);
  return fma(p, r, 0x1.555554p-3f);
}

// (a + a_lo) + expm1(r + rl) for |r| <= 0.3467, |rl| <= 2^-16, an exact a (0, or
// |a| >= 1/2) and a tiny a_lo: a, r and r^2/2 are summed error-free, so the result rounds
// once at its own scale however the terms cancel.
// The result as hi + lo, or rounded (expm1_kernel).
DETNN_HD void expm1_kernel_split(float a, float a_lo, float r, float rl, float& hi, float& lo) {
  float z = r * r;
  float z_lo = fma(r, r, -z);
  float p = expm1_cubic_poly(r);
  float t = fma(z, fma(r, p, 0.5f), r);  // ~expm1(r), to scale rl: expm1(r + rl) ~ t + rl (1 + t)
  float c = z * r;  // r^3 = c + c_lo
  float c_lo = fma(z, r, -c) + z_lo * r;
  float cubic = fma(c, p, fma(c_lo, p, fma(0.5f, z_lo, fma(rl, t, rl))));
  float s1, e1, s2, e2;
  two_sum(a, r, s1, e1);
  two_sum(s1, 0.5f * z, s2, e2);
  fast_two_sum(s2, e2 + (e1 + (a_lo + cubic)), hi, lo);
}
DETNN_HD float expm1_kernel(float a, float a_lo, float r, float rl) {
  float hi, lo;
  expm1_kernel_split(a, a_lo, r, rl, hi, lo);
  return hi;
}

// exp(r + rl) = 1 + expm1(r + rl), in [0.70, 1.42].
DETNN_HD float exp_reduced(float r, float rl) { return expm1_kernel(1.0f, 0.0f, r, rl); }

// x = k ln2 + r + r_lo (|r| <= 0.3467) and a + a_lo = 1 - 2^-k, so that
// expm1(x) = 2^k * ((a + a_lo) + expm1(r + r_lo)). For |x| <= 89 (k = 0 gives a = 0).
struct Expm1Reduced {
  float a, a_lo, r, r_lo;
  int k;
};
DETNN_HD Expm1Reduced expm1_reduce(float x) {
  Expm1Reduced e;
  float kf = round_product(x, kLog2e);
  e.k = static_cast<int>(kf);
  float r_hi = fma(-kf, kLn2Hi, x);  // exact
  e.r = fma(-kf, kLn2Lo, r_hi);
  e.r_lo = fma(-kf, kLn2Lo, r_hi - e.r);
  // 1 - 2^-k is exact for |k| <= 24; beyond, 2^-k only nudges the rounding
  e.a = e.k > 24 ? 1.0f : 1.0f - pow2i(-e.k);
  e.a_lo = e.k > 24 ? -pow2i(e.k > 126 ? -126 : -e.k) : 0.0f;
  return e;
}

// k*ln2 + log(1 + f) + c for f in [sqrt(1/2) - 1, sqrt(2) - 1), |c| tiny. With
// s = f/(2+f) and h = f^2/2: log(1+f) = f - h + s*(h + R(s^2)), R(z) = z*(2/3 + 2z/5 + ...)
// (the fdlibm decomposition: the leading f - h is formed exactly, s only scales the small
// tail). R/z: minimax degree 3 on z in [0, 0.0295], max error 2^-35.
DETNN_HD float log_kernel(float f, int k, float c) {
  float d, d_err;  // d + d_err == 2 + f
  fast_two_sum(2.0f, f, d, d_err);
  float s = div(f, d);
  float s_lo = div(fma(-s, d_err, fma(-s, d, f)), d);  // s + s_lo ~ f/(2+f) to 2^-46
  float z = s * s;
  float rz = fma(0x1.f13b20p-3f, z, 0x1.23d3e0p-2f);
  rz = fma(rz, z, 0x1.999c26p-2f);
  rz = fma(rz, z, 0x1.555554p-1f);
  float r = z * rz;
  float hf = 0.5f * f;
  float h = hf * f;
  float h_lo = fma(hf, f, -h);  // h + h_lo == f*f/2 exactly
  float kf = static_cast<float>(k);
  float a, a_err;  // a + a_err == k*kLn2Head + f exactly
  fast_two_sum(kf * kLn2Head, f, a, a_err);
  // tail = s*(h + r) + c - h_lo + k*(ln2 - kLn2Head), the largest product added last
  float tail = fma(kf, kLn2Mid, fma(s_lo, h + r, fma(s, h_lo, c)) - h_lo);
  tail = fma(s, h, fma(s, r, tail));
  float v, v_err;  // v + v_err == a - h exactly
  two_sum(a, -h, v, v_err);
  return v + (v_err + (a_err + tail));
}

// Splits positive finite x (normal or subnormal) into 2^k * m, m in [sqrt(1/2), sqrt(2)),
// and returns f = m - 1 (exact).
DETNN_HD float log_reduce(float x, int& k) {
  uint32_t ix = bits(x);
  k = 0;
  if (ix < 0x00800000u) {  // subnormal: scale into the normal range (exact)
    ix = bits(x * 0x1p25f);
    k = -25;
  }
  ix += 0x3f800000u - 0x3f3504f3u;
  k += static_cast<int>(ix >> 23) - 127;
  ix = (ix & 0x007fffffu) + 0x3f3504f3u;
  return from_bits(ix) - 1.0f;
}

// ---- sin / cos --------------------------------------------------------------------------

// x = q*pi/2 + (hi + lo), |hi + lo| <= ~pi/4 + 0.003, quadrant q in 0..3.
struct ReducedArg {
  float hi, lo;
  int q;
};

constexpr float kTwoOverPi = 0x1.45f306p-1f;
constexpr float kPio2A = 0x1.921fb6p+0f;   // pi/2 = A + B + C + O(1e-23)
constexpr float kPio2B = -0x1.777a5cp-25f;
constexpr float kPio2C = -0x1.ee59dap-50f;
constexpr float kCodyWaiteLimit = 0x1p16f;

// Cody-Waite for |x| < 2^16: j = round(x*2/pi) <= 41722; x - j*A is exact (fma product,
// the difference a multiple of 2^-24 below 1), the j*B step is error-free (TwoSum).
DETNN_HD ReducedArg reduce_pio2_small(float x) {
  float j = round_product(x, kTwoOverPi);
  float r1 = fma(-j, kPio2A, x);
  float p = j * kPio2B;
  float p_err = fma(j, kPio2B, -p);  // j*B == p + p_err
  float r2, e2;
  two_sum(r1, -p, r2, e2);
  float lo = fma(-j, kPio2C, e2 - p_err);
  ReducedArg out;
  two_sum(r2, lo, out.hi, out.lo);
  out.q = static_cast<int>(j) & 3;
  return out;
}

// Bits of 2/pi, 32 per word, after one zero word for the integer part: word i holds the
// bits of weight 2^(31 - 32i) .. 2^(-32i). Selected by comparisons, not read from memory.
DETNN_HD uint32_t two_over_pi_word(int i) {
  return i == 0   ? 0u
         : i == 1 ? 0xa2f9836eu
         : i == 2 ? 0x4e441529u
         : i == 3 ? 0xfc2757d1u
         : i == 4 ? 0xf534ddc0u
         : i == 5 ? 0xdb629599u
         : i == 6 ? 0x3c439041u
                  : 0xfe5163abu;
}
// 32 bits of 2/pi starting at bit offset o (o = 0: the MSB of word 0).
DETNN_HD uint32_t two_over_pi_bits(int o) {
  int w = o >> 5, sh = o & 31;
  uint64_t pair = (static_cast<uint64_t>(two_over_pi_word(w)) << 32) | two_over_pi_word(w + 1);
  return static_cast<uint32_t>(pair >> (32 - sh));
}

// Payne-Hanek for finite |x| >= 2^16: x = m * 2^e with a 24-bit integer m; the bits of
// 2/pi whose product with x is a multiple of 4 are skipped, the next 96 are multiplied by
// m exactly (120-bit product), and the fraction of a quarter turn is kept to 62 bits.
DETNN_HD ReducedArg reduce_pio2_large(float x) {
  uint32_t ix = bits(x) & 0x7fffffffu;
  int e = static_cast<int>(ix >> 23) - 150;  // x = m * 2^e, e >= -7
  uint64_t m = (ix & 0x007fffffu) | 0x00800000u;
  int o = e + 30;  // first bit of weight < 4 after scaling by 2^e
  uint64_t w0 = two_over_pi_bits(o), w1 = two_over_pi_bits(o + 32), w2 = two_over_pi_bits(o + 64);
  // P = m * (w0:w1:w2) = l3:l2:l1:l0 (32-bit limbs); x*2/pi = P * 2^-94 (mod 4).
  uint64_t t = m * w2;
  uint32_t l0 = static_cast<uint32_t>(t);
  t = m * w1 + (t >> 32);
  uint32_t l1 = static_cast<uint32_t>(t);
  t = m * w0 + (t >> 32);
  uint32_t l2 = static_cast<uint32_t>(t);
  int q = static_cast<int>(l2 >> 30);
  uint64_t frac = (static_cast<uint64_t>(l2 & 0x3fffffffu) << 34) |
                  (static_cast<uint64_t>(l1) << 2) | (l0 >> 30);
  if (frac >> 63) q += 1;  // round to the nearest quarter turn: frac becomes negative
  int64_t f = static_cast<int64_t>(frac) >> 2;  // quarter turns * 2^62, in [-2^61, 2^61)
  float fh = static_cast<float>(f);
  float fl = static_cast<float>(f - static_cast<int64_t>(fh));
  float h = fh * 0x1p-62f, l = fl * 0x1p-62f;
  // (h + l) * pi/2 as a double-float
  float rh = h * kPio2A;
  float rl = fma(h, kPio2A, -rh) + fma(h, kPio2B, l * kPio2A);
  ReducedArg out;
  fast_two_sum(rh, rl, out.hi, out.lo);
  bool neg = bits(x) >> 31;
  if (neg) {
    out.hi = -out.hi;
    out.lo = -out.lo;
    q = -q;
  }
  out.q = q & 3;
  return out;
}

DETNN_HD ReducedArg reduce_pio2(float x) {
  return abs(x) < kCodyWaiteLimit ? reduce_pio2_small(x) : reduce_pio2_large(x);
}

// sin(hi + lo) for |hi| <= 0.79: hi + hi^3*(S0 + z*S1(z)) + lo*cos(hi), z = hi^2,
// S0 = -1/6, S1 minimax degree 2 (rel. error of sin 2^-32). hi + hi^3*S0 is carried exactly
// and rounded once with the rest.
DETNN_HD float sin_kernel(float hi, float lo) {
  const float s0_hi = -0x1.555556p-3f, s0_lo = 0x1.555556p-28f;  // -1/6
  float z = hi * hi;
  float z_lo = fma(hi, hi, -z);
  float c = z * hi;  // hi^3 = c + c_lo
  float c_lo = fma(z, hi, -c) + z_lo * hi;
  float s1 = fma(0x1.6d5c54p-19f, z, -0x1.a01252p-13f);
  s1 = fma(s1, z, 0x1.11110cp-7f);
  float u = fma(z, s1, s0_lo);  // S - s0_hi
  float p = c * s0_hi;
  float b, b_err;
  fast_two_sum(hi, p, b, b_err);  // |p| < |hi|/9
  float lo_cos = fma(-0.5f * z, lo, lo);  // lo * cos(hi)
  float tail = fma(c, u, fma(c_lo, s0_hi, fma(c, s0_hi, -p) + lo_cos));
  return b + (b_err + tail);
}
// cos(hi + lo) for |hi| <= 0.79: 1 - z/2 + z^2 * C(z) - lo*sin(hi), z = hi^2; C minimax degree
// 3 (rel. error 2^-37). 1 - z/2 is formed with its rounding error carried (fdlibm).
DETNN_HD float cos_kernel(float hi, float lo) {
  float z = hi * hi;
  float z_lo = fma(hi, hi, -z);
  float c = fma(-0x1.3577e6p-22f, z, 0x1.a06f74p-16f);
  c = fma(c, z, -0x1.6c175cp-10f);
  c = fma(c, z, 0x1.555556p-5f);
  float hz = 0.5f * z;
  float w = 1.0f - hz;
  float w_err = (1.0f - w) - hz;  // exact
  float hl = hi * lo;
  float lo_sin = fma(hl, z * -0x1.555556p-3f, hl);  // lo * sin(hi)
  float tail = fma(z * z, c, w_err - fma(0.5f, z_lo, lo_sin));
  return w + tail;
}

// ---- sinpi / cospi ----------------------------------------------------------------------

constexpr float kPiHi = 0x1.921fb6p+1f;
constexpr float kPiLo = -0x1.777a5cp-24f;

// The integer nearest to 2|x| (ties up) for 0 <= |x| < 2^24, as a float (all exact).
DETNN_HD float nearest_half_turns(float ax) {
  float j2 = 2.0f * ax;
  float whole = static_cast<float>(static_cast<int>(j2));
  return j2 - whole >= 0.5f ? whole + 1.0f : whole;
}

// sin(pi r), |r| <= 1/4: r*pi + r^3*(S0 + z*S1(z)), z = r^2, S0 = -pi^3/6, S1 minimax
// degree 2 (2^-34). The two leading products are carried exactly and summed with one rounding.
DETNN_HD float sinpi_kernel(float r) {
  const float s0_hi = -0x1.4abbcep+2f, s0_lo = -0x1.896f94p-24f;  // -pi^3/6
  float z = r * r;
  float z_lo = fma(r, r, -z);
  float s1 = fma(0x1.4c6aacp-4f, z, -0x1.32cd42p-1f);
  s1 = fma(s1, z, 0x1.466bc2p+1f);
  float u = fma(z, s1, s0_lo);  // S - s0_hi
  float c = z * r;              // r^3 = c + c_lo
  float c_lo = fma(z, r, -c) + z_lo * r;
  float a = r * kPiHi;
  float a_err = fma(r, kPiHi, -a);
  float p = c * s0_hi;
  float p_err = fma(c, s0_hi, -p);
  float b, b_err;
  two_sum(a, p, b, b_err);
  float tail = fma(c, u, fma(c_lo, s0_hi, fma(r, kPiLo, p_err + a_err)));
  return b + (b_err + tail);
}
// cos(pi r), |r| <= 1/4: 1 - (pi^2/2) z + z^2*C(z); the z term as a double-float.
DETNN_HD float cospi_kernel(float r) {
  const float c0_hi = -0x1.3bd3ccp+2f, c0_lo = -0x1.37c8bcp-23f;  // -pi^2/2
  float z = r * r;
  float z_lo = fma(r, r, -z);
  float c = fma(-0x1.8937f8p-6f, z, 0x1.e18132p-3f);
  c = fma(c, z, -0x1.55d32ep+0f);
  c = fma(c, z, 0x1.03c1f0p+2f);
  float th = z * c0_hi;
  float th_err = fma(z, c0_hi, -th);
  float w, w_err;
  fast_two_sum(1.0f, th, w, w_err);
  float tail = fma(z * z, c, th_err + fma(z_lo, c0_hi, z * c0_lo));
  return w + (w_err + tail);
}

// ---- pow helpers --------------------------------------------------------------------------

// log(x) as hi + lo (relative error about 2^-40) for positive finite x.
DETNN_HD void log_double_float(float x, float& out_hi, float& out_lo) {
  int k;
  float f = log_reduce(x, k);
  // s = f/(2+f) as sh + sl
  float d, d_lo;
  fast_two_sum(2.0f, f, d, d_lo);
  float sh = div(f, d);
  float rem = fma(-sh, d, f);  // exact remainder
  rem = fma(-sh, d_lo, rem);
  float sl = div(rem, d);
  // log(1+f) = 2s + s*z*(2/3 + z*T(z)), z = s^2; T minimax degree 3 (error 2^-43.7)
  float zh = sh * sh;
  float zl = fma(sh, sh, -zh) + (2.0f * sh) * sl;
  float tz = fma(0x1.9083fep-3f, zh, 0x1.c63da8p-3f);
  tz = fma(tz, zh, 0x1.2493b6p-2f);
  tz = fma(tz, zh, 0x1.999998p-2f);
  float t = fma(zh, tz, -0x1.555556p-26f);
  float ch, cl;
  fast_two_sum(0x1.555556p-1f, t, ch, cl);  // 2/3 + z*T
  float vh = sh * zh;
  float vl = fma(sh, zh, -vh) + fma(sh, zl, sl * zh);
  float wh = vh * ch;
  float wl = fma(vh, ch, -wh) + fma(vh, cl, vl * ch);
  float ah, al;
  two_sum(2.0f * sh, wh, ah, al);
  al = al + (2.0f * sl + wl);
  // + k*ln2 with ln2 in three parts
  float kf = static_cast<float>(k);
  float kh = kf * kLn2Head;  // exact
  float km = kf * kLn2Mid;
  float km_err = fma(kf, kLn2Mid, -km);
  float bh, bl;
  two_sum(kh, km, bh, bl);  // k*(head + mid) = bh + bl + km_err
  float sh2, sl2;
  two_sum(bh, ah, sh2, sl2);
  float low = sl2 + (bl + (al + fma(kf, kLn2Tail, km_err)));
  fast_two_sum(sh2, low, out_hi, out_lo);
}

// exp(wh + wl), |wl| <= ulp(wh); wh already checked to be in [-104, 89].
DETNN_HD float exp_double_float(float wh, float wl) {
  float kf = round_product(wh, kLog2e);
  float r = fma(-kf, kLn2Hi, wh);  // exact
  float rl = fma(-kf, kLn2Lo, wl);
  return scale2(exp_reduced(r, rl), static_cast<int>(kf));
}

}  // namespace detail

// ---- the functions ------------------------------------------------------------------------

// e^x. Overflows to inf above 88.7228, underflows (gradually) to 0 below -103.97.
DETNN_HD float exp(float x) {
  if (detail::is_nan(x)) return detail::nan();
  if (x > 89.0f) return detail::inf();
  if (x < -104.0f) return 0.0f;
  float kf = detail::round_product(x, detail::kLog2e);
  float r = detail::fma(-kf, detail::kLn2Hi, x);  // exact: |k| <= 150, r a multiple of 2^-25
  float rl = -kf * detail::kLn2Lo;
  return detail::scale2(detail::exp_reduced(r, rl), static_cast<int>(kf));
}

// 2^x.
DETNN_HD float exp2(float x) {
  if (detail::is_nan(x)) return detail::nan();
  if (x >= 128.0f) return detail::inf();
  if (x < -151.0f) return 0.0f;
  const float shifter = 0x1.8p23f;
  float kf = (x + shifter) - shifter;
  float r = x - kf;  // exact, |r| <= 1/2
  float wh = r * detail::kLn2Hi;  // r ln2 as a double-float
  float wl = detail::fma(r, detail::kLn2Hi, -wh) + r * detail::kLn2Lo;
  return detail::scale2(detail::exp_reduced(wh, wl), static_cast<int>(kf));
}

// e^x - 1, accurate near 0; -0 -> -0.
DETNN_HD float expm1(float x) {
  if (detail::is_nan(x)) return detail::nan();
  if (x > 89.0f) return detail::inf();
  if (x < -17.5f) return -1.0f;
  float ax = detail::abs(x);
  if (ax < 0x1p-25f) return x;
  if (ax <= 0x1.62e430p-2f) return detail::expm1_kernel(0.0f, 0.0f, x, 0.0f);  // |x| <= ln2/2
  detail::Expm1Reduced e = detail::expm1_reduce(x);
  if (e.k < -24) return detail::scale2(detail::expm1_kernel(1.0f, 0.0f, e.r, e.r_lo), e.k) - 1.0f;
  return detail::scale2(detail::expm1_kernel(e.a, e.a_lo, e.r, e.r_lo), e.k);
}

// Natural logarithm: log(+-0) = -inf, log(x < 0) = NaN, log(inf) = inf.
DETNN_HD float log(float x) {
  if (detail::is_nan(x) || x < 0.0f) return detail::nan();
  if (x == 0.0f) return -detail::inf();
  if (x == detail::inf()) return x;
  int k;
  float f = detail::log_reduce(x, k);
  return detail::log_kernel(f, k, 0.0f);
}

// log(1 + x), accurate near 0; log1p(-1) = -inf, log1p(x < -1) = NaN, -0 -> -0.
DETNN_HD float log1p(float x) {
  if (detail::is_nan(x) || x < -1.0f) return detail::nan();
  if (x == -1.0f) return -detail::inf();
  if (x == detail::inf()) return x;
  float ax = detail::abs(x);
  if (ax < 0x1p-24f) return x;
  if (x > -0x1.2bec34p-2f && x < 0x1.a827c0p-2f)  // 1 + x in (sqrt(1/2), sqrt(2)): f = x
    return detail::log_kernel(x, 0, 0.0f);
  float u, u_err;  // u + u_err == 1 + x exactly
  detail::two_sum(1.0f, x, u, u_err);
  int k;
  float f = detail::log_reduce(u, k);
  // log(1 + x) = log(u) + log(1 + u_err/u)
  return detail::log_kernel(f, k, detail::div(u_err, u));
}

// Hyperbolic tangent; saturates to +-1, -0 -> -0.
DETNN_HD float tanh(float x) {
  if (detail::is_nan(x)) return detail::nan();
  float ax = detail::abs(x);
  if (ax < 0x1p-12f) return x;
  float y;
  if (ax >= 9.1f) {
    y = 1.0f;
  } else {
    // t/(t + 2) with t = expm1(2|x|) = th + tl (2^-11 <= t < 2^27) carried as a double-float
    detail::Expm1Reduced e = detail::expm1_reduce(2.0f * ax);
    float th, tl;
    detail::expm1_kernel_split(e.a, e.a_lo, e.r, e.r_lo, th, tl);
    float scale = detail::pow2i(e.k);  // exact: k >= 0 and t is normal
    th = th * scale;
    tl = tl * scale;
    float d, d_err;  // d + d_err == th + 2 + tl
    detail::two_sum(th, 2.0f, d, d_err);
    d_err = d_err + tl;
    float q = detail::div(th, d);
    float rem = detail::fma(-q, d, th);  // exact
    rem = rem + detail::fma(-q, d_err, tl);
    y = q + detail::div(rem, d);
  }
  return detail::with_sign_of(y, x);
}

// Error function; erf(+-inf) = +-1, -0 -> -0.
DETNN_HD float erf(float x) {
  if (detail::is_nan(x)) return detail::nan();
  float ax = detail::abs(x);
  if (ax < 0x1p-60f) return detail::fma(x, 0x1.06eba8p-3f, x);  // 2x/sqrt(pi); keeps -0
  if (ax < 1.0f) {
    // erf(x) = x + x*Q(x^2), Q = c0 + z*(c1 + z*B(z)) minimax degree 7 on [0, 1] (rel. error
    // 2^-29.8). Near |x| = 1 the last two Horner steps and the final sum cancel, so they are
    // carried as double-floats.
    using detail::fma;
    const float c0 = 0x1.06eba8p-3f, c1 = -0x1.812740p-2f;
    float z = x * x;
    float z_lo = fma(x, x, -z);
    float b = fma(-0x1.6da542p-18f, z, 0x1.936f3ap-14f);
    b = fma(b, z, -0x1.af9024p-11f);
    b = fma(b, z, 0x1.54e800p-8f);
    b = fma(b, z, -0x1.b80a56p-6f);
    b = fma(b, z, 0x1.ce2d94p-4f);
    float p = z * b;
    float a, a_err;
    detail::fast_two_sum(c1, p, a, a_err);  // |c1| > |p|
    float a_lo = a_err + fma(z, b, -p) + z_lo * b;
    float p2 = z * a;
    float q, q_err;
    detail::two_sum(c0, p2, q, q_err);
    float q_lo = q_err + fma(z, a, -p2) + fma(z, a_lo, z_lo * a);
    float m = x * q;
    float s, e;
    detail::fast_two_sum(x, m, s, e);  // |q| < 0.13
    return s + (e + fma(x, q_lo, fma(x, q, -m)));
  }
  float y;
  if (ax < 2.0f) {
    // erf(x) = erf(1.5) + t*C0 + t^2*Q(t), t = |x| - 1.5 (exact); erf(1.5) and C0 = erf'(1.5)
    // as double-floats, Q minimax degree 8 on [-1/2, 1/2] (rel. error of erf 2^-29)
    float t = ax - 1.5f;
    float q = detail::fma(-0x1.10e748p-15f, t, 0x1.965236p-10f);
    q = detail::fma(q, t, -0x1.381ca6p-9f);
    q = detail::fma(q, t, -0x1.347a1cp-8f);
    q = detail::fma(q, t, 0x1.3caeccp-6f);
    q = detail::fma(q, t, -0x1.e73f74p-7f);
    q = detail::fma(q, t, -0x1.6d5aecp-5f);
    q = detail::fma(q, t, 0x1.1c2a10p-3f);
    q = detail::fma(q, t, -0x1.6d5a96p-3f);
    const float e0_hi = 0x1.eea556p-1f, e0_lo = -0x1.1d90a4p-26f;
    const float c0_hi = 0x1.e72372p-4f, c0_lo = 0x1.ae092ap-30f;
    float tt = t * t;
    float tt_lo = detail::fma(t, t, -tt);
    float p = t * c0_hi;
    float s, e;
    detail::fast_two_sum(e0_hi, p, s, e);  // |p| <= 0.06
    float small = detail::fma(t, c0_lo, detail::fma(tt_lo, q, e0_lo));
    small = e + (detail::fma(t, c0_hi, -p) + small);
    y = s + detail::fma(tt, q, small);
  } else if (ax < 3.92f) {
    // erf(x) = 1 - exp(p(x)), p ~ log(erfc(x)): minimax in t = |x| - 3 on [2, 3.92],
    // degree 7, weighted by erfc/erf (rel. error of erf 2^-29)
    float t = ax - 3.0f;
    float p = detail::fma(-0x1.57d58ap-17f, t, 0x1.65f03ep-15f);
    p = detail::fma(p, t, -0x1.f8b562p-13f);
    p = detail::fma(p, t, 0x1.64122ep-10f);
    p = detail::fma(p, t, -0x1.e5a868p-8f);
    p = detail::fma(p, t, -0x1.ea2f9cp-1f);
    p = detail::fma(p, t, -0x1.9370b4p+2f);
    p = detail::fma(p, t, -0x1.570d36p+3f);
    y = -expm1(p);
  } else {
    y = 1.0f;  // erfc(x) < 2^-25 from x = 3.9193 on
  }
  return detail::with_sign_of(y, x);
}

// sin(x) for every float x (see the reduction note at the top); sin(+-inf) = NaN.
DETNN_HD float sin(float x) {
  if (!detail::is_finite(x)) return detail::nan();
  if (detail::abs(x) < 0x1p-12f) return x;
  detail::ReducedArg a = detail::reduce_pio2(x);
  float v = (a.q & 1) ? detail::cos_kernel(a.hi, a.lo) : detail::sin_kernel(a.hi, a.lo);
  return (a.q & 2) ? -v : v;
}

// cos(x) for every float x; cos(+-inf) = NaN.
DETNN_HD float cos(float x) {
  if (!detail::is_finite(x)) return detail::nan();
  if (detail::abs(x) < 0x1p-12f) return 1.0f;
  detail::ReducedArg a = detail::reduce_pio2(x);
  float v = (a.q & 1) ? detail::sin_kernel(a.hi, a.lo) : detail::cos_kernel(a.hi, a.lo);
  return ((a.q + 1) & 2) ? -v : v;
}

// sin(pi x), exact argument reduction. sinpi(+-n) = +-0 for integers n (IEEE 754 sinPi).
DETNN_HD float sinpi(float x) {
  if (!detail::is_finite(x)) return detail::nan();
  float ax = detail::abs(x);
  float v;
  if (ax < 0x1p-100f) {  // pi x, rounded once in the normal range before scaling down
    float s = ax * 0x1p64f;
    v = detail::fma(s, detail::kPiHi, s * detail::kPiLo) * 0x1p-64f;
  } else if (ax >= 0x1p23f) {  // an integer: sin is zero
    v = 0.0f;
  } else {
    float j = detail::nearest_half_turns(ax);
    float r = detail::fma(-0.5f, j, ax);  // exact, |r| <= 1/4
    int q = static_cast<int>(j) & 3;
    v = (q & 1) ? detail::cospi_kernel(r) : detail::sinpi_kernel(r);
    if (q & 2) v = 0.0f - v;  // 0 - (+0) = +0: sinpi(2n+1) is +0 before the sign
  }
  return detail::negate_if(v, detail::bits(x) >> 31);
}

// cos(pi x), exact argument reduction. cospi(n + 1/2) = +0 (IEEE 754 cosPi).
DETNN_HD float cospi(float x) {
  if (!detail::is_finite(x)) return detail::nan();
  float ax = detail::abs(x);
  if (ax >= 0x1p24f) return 1.0f;  // an even integer
  float j = detail::nearest_half_turns(ax);
  float r = detail::fma(-0.5f, j, ax);
  int q = static_cast<int>(j) & 3;
  float v = (q & 1) ? detail::sinpi_kernel(r) : detail::cospi_kernel(r);
  // q = 1: cos(pi(r + 1/2)) = -sin(pi r); q = 2: -cos(pi r); q = 3: sin(pi r)
  return (q == 1 || q == 2) ? 0.0f - v : v;
}

// Correctly rounded square root (IEEE sqrt on both sides); sqrt(-0) = -0, x < 0 -> NaN.
DETNN_HD float sqrt(float x) {
  if (!(x >= 0.0f)) return detail::nan();
  return detail::sqrt_rn(x);
}

// x^y with the special cases of C99 Annex F (pow(x, +-0) = 1, pow(1, y) = 1, negative x
// only for integer y, ...). For x > 0: exp(y * log x) with log x and the product as
// double-floats, so the error stays below 1 ulp for any y.
DETNN_HD float pow(float x, float y) {
  using namespace detail;
  if (y == 0.0f || x == 1.0f) return 1.0f;
  if (is_nan(x) || is_nan(y)) return nan();
  uint32_t iy = bits(y) & 0x7fffffffu;
  // Is y an integer, and odd?
  int ey = static_cast<int>(iy >> 23) - 127;
  bool y_int = ey >= 23 || (ey >= 0 && (iy & (0x007fffffu >> ey)) == 0);
  bool y_odd = y_int && ey <= 23 && ((((iy & 0x007fffffu) | 0x00800000u) >> (23 - ey)) & 1u);
  bool y_neg = y < 0.0f;
  float ax = abs(x);
  bool x_neg = bits(x) >> 31;
  if (iy == 0x7f800000u) {  // y = +-inf
    if (ax == 1.0f) return 1.0f;
    return (ax < 1.0f) == y_neg ? inf() : 0.0f;
  }
  if (ax == 0.0f || ax == inf()) {
    bool big = (ax == 0.0f) == y_neg;  // 0^-y and inf^y are infinite
    return negate_if(big ? inf() : 0.0f, x_neg && y_odd);
  }
  if (x_neg && !y_int) return nan();
  float lh, ll;
  log_double_float(ax, lh, ll);
  float wh = y * lh;
  float v;
  if (wh > 89.0f) {
    v = inf();
  } else if (wh < -104.0f) {
    v = 0.0f;
  } else {
    float wl = fma(y, lh, -wh) + y * ll;
    v = exp_double_float(wh, wl);
  }
  return negate_if(v, x_neg && y_odd);
}

}  // namespace detnn::dmath
