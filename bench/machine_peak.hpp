#pragma once
// The cores' float32 multiply-add issue rate: the ceiling no GEMM can pass. Benchmarks only.

namespace ploutos::bench {

// GFLOP/s of `threads` threads, each running independent fused multiply-adds on registers only
// (AVX-512, else AVX2 + FMA, else 0: no figure) for about `seconds`.
double machine_fma_peak_gflops(int threads, double seconds = 0.3);

}  // namespace ploutos::bench
