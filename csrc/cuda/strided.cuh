// Strided views for copy_strided and the broadcasting binary kernels (CUDA only).
// The host first drops size-1 axes and merges axes that are contiguous in every operand,
// so the common cases (contiguous, a row broadcast) become one or two axes and the
// per-element division loop below stays short.
#pragma once

#include <cstdint>

#include "cuda/memory.h"

namespace cunn::cuda {

// One output shape read by `Operands` inputs, each with its own element strides.
template <int Operands>
struct StridedLayout {
  int ndim;
  std::int64_t shape[kMaxDims];
  std::int64_t strides[Operands][kMaxDims];
};

// Builds the collapsed layout. Axis d merges into the next kept axis when, for every operand,
// stride[d] == stride[next] * shape[next] (walking one step of d is walking shape[next] steps
// of next), which holds for contiguous runs and for runs broadcast (stride 0) together.
template <int Operands>
StridedLayout<Operands> collapse(int ndim, const std::int64_t* shape,
                                 const std::int64_t* const* strides) {
  StridedLayout<Operands> layout{};
  int kept = 0;  // axes stored so far, innermost first
  std::int64_t reversed_shape[kMaxDims];
  std::int64_t reversed_strides[Operands][kMaxDims];
  for (int d = ndim - 1; d >= 0; --d) {
    if (shape[d] == 1) continue;
    bool merge = kept > 0;
    for (int o = 0; o < Operands && merge; ++o)
      merge = strides[o][d] == reversed_strides[o][kept - 1] * reversed_shape[kept - 1];
    if (merge) {
      reversed_shape[kept - 1] *= shape[d];
      // The merged axis keeps the inner stride: its walk starts where the inner one does.
    } else {
      reversed_shape[kept] = shape[d];
      for (int o = 0; o < Operands; ++o) reversed_strides[o][kept] = strides[o][d];
      ++kept;
    }
  }
  layout.ndim = kept;
  for (int d = 0; d < kept; ++d) {
    layout.shape[d] = reversed_shape[kept - 1 - d];
    for (int o = 0; o < Operands; ++o) layout.strides[o][d] = reversed_strides[o][kept - 1 - d];
  }
  return layout;
}

// Element offsets of the C-order position `linear` in each operand.
template <int Operands>
__device__ inline void offsets_of(std::int64_t linear, const StridedLayout<Operands>& layout,
                                  std::int64_t* offsets) {
  if (layout.ndim == 1) {  // the common case after collapsing: no division
    for (int o = 0; o < Operands; ++o) offsets[o] = linear * layout.strides[o][0];
    return;
  }
  for (int o = 0; o < Operands; ++o) offsets[o] = 0;
  for (int d = layout.ndim - 1; d >= 0; --d) {
    const std::int64_t size = layout.shape[d];
    const std::int64_t coordinate = linear % size;
    linear /= size;
    for (int o = 0; o < Operands; ++o) offsets[o] += coordinate * layout.strides[o][d];
  }
}

}  // namespace cunn::cuda
