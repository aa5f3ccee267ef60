// The machine-tuned thresholds of the GEMM and conv2d loop nests, one table per
// instruction set (tuning.cpp), each value with the measurement that set it. The loops
// read them through tuning(), so re-tuning for another machine edits one table and
// nothing in gemm.cpp or conv2d*.cpp. The micro-kernels' own tile and cache block sizes
// (mr, nr, mc, kc, nc) stay in their GemmKernel beside the code they size.
#pragma once

#include <cstdint>

namespace cunn::kernels {

struct Tuning {
  // gemm.cpp: below this many flops (2 M N K) one thread does the whole product.
  double gemm_parallel_min_flops;
  // gemm.cpp: A.B^T runs as unpacked dot products (GemmKernel::dot_nt) for outputs at
  // most dot_max_n wide, at most dot_max_m rows of A, or K >= dot_min_k (0: never) with
  // all of B (n x k) within dot_max_b_floats.
  int64_t dot_max_n, dot_max_m, dot_min_k, dot_max_b_floats;
  // gemm.cpp: full panels already in the micro-panel layout are read in place, not packed
  // (false: never): a transposed A for K <= read_a_max_k, an untransposed B for
  // K <= read_b_max_k and M <= read_b_max_m.
  bool read_in_place;
  int64_t read_a_max_k, read_b_max_k, read_b_max_m;
  // gemm.cpp: products at most this many columns wide take the narrow micro-kernel
  // (0: the instruction set has one kernel).
  int64_t narrow_max_n;
  // conv2d: below this many flops one thread does the whole pass.
  double conv_parallel_min_flops;
  // conv2d: floats in one im2col column block (and in one Winograd block's V and M).
  int64_t conv_column_budget;
  // conv2d: the weight gradient sums images into at most this many partials, of at most
  // conv_partial_budget floats in all.
  int64_t conv_max_weight_groups, conv_partial_budget;
  // conv2d: 3x3 stride-1 layers with at least this many input and output channels take
  // the Winograd path (0: never; its transforms exist for AVX-512 only).
  int64_t winograd_min_channels;
  // gemm.cpp: the long-K rule of the dot products applies only up to this many rows of
  // A (0: any number).
  int64_t dot_long_k_max_m = 0;
  // gemm.cpp: an untransposed A is read in place row by row (GemmKernel::micro_kernel_rows,
  // where the kernel has one) instead of being packed, for products at most this many
  // columns wide (0: never), whose packed A would be reused by few column panels.
  int64_t read_a_rows_max_n = 0;
  // conv2d: 3x3 stride-1 layers with at most this many input channels are computed
  // directly, vectorised along the output row (conv2d_small_channels.h; 0: never, its loops
  // exist for AVX-512 only).
  int64_t small_channels_max_channels = 0;
};

// The table of the instruction set the kernels run with now (dispatch/cpu.h).
const Tuning& tuning();

}  // namespace cunn::kernels
