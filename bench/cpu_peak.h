// The FP32 FMA peak of the CPU threads the kernels use, measured: every thread of
// cpu_thread_pool() runs independent fused multiply-add chains in the widest registers of the
// active path (runtime/cpu_isa.h), enough of them to cover the FMA latency. The CPU benchmarks
// report their GFLOP/s as a fraction of it ("peak_fraction"), so the figure needs no clock
// speed or port count looked up for the machine.
#pragma once

#include <benchmark/benchmark.h>

namespace detnn::bench {

// GFLOP/s of all pool threads together (2 FLOP per lane per FMA); measured once per process and
// thread count, in about a tenth of a second.
double cpu_fma_peak_gflops();

// Sets state's "peak_fraction" counter: `flops_per_iteration` over `seconds` of wall time for
// all iterations, divided by cpu_fma_peak_gflops() (a plain ratio, not a rate).
void report_peak_fraction(benchmark::State& state, double flops_per_iteration, double seconds);

}  // namespace detnn::bench
