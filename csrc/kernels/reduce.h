// Reductions of a C-contiguous float32 array.
// sum: over the axes flagged in `reduced` (the output holds the other axes in
//   order, C-contiguous; reducing nothing copies). Accumulated in double, in
//   a fixed order: rows in 16 interleaved lanes within fixed blocks of
//   kSumBlock elements, blocks added in index order; columns (a reduced axis
//   with kept axes after it) summed down in index order. So results are
//   independent of the thread count and within ~1 float32 rounding of an
//   exact sum. Must match numpy's float64 sum rounded to float32, closely.
// max: along the middle axis of (outer, n, inner), n >= 1: values and int64
//   indices; the first maximum wins ties, and the first NaN wins outright
//   (PyTorch's rule), so the index is always a position of the returned value.
#pragma once

#include <cstdint>

namespace cunn::kernels {

void sum(const float* x, int64_t ndim, const int64_t* shape, const bool* reduced, float* out);
void max(const float* x, float* values, int64_t* indices, int64_t outer, int64_t n,
         int64_t inner);

}  // namespace cunn::kernels
