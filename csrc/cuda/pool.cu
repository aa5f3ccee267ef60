// 2-D max pooling on the device (shapes in pool.h), following cunn/_backends/numpy_ref/pool.py:
// a window starts at -inf reporting its first position inside the input; its offsets (p, q)
// are visited in row-major order and a value replaces the best when it is larger, or when it
// is a NaN and the best is not (so the first NaN wins and stays, and ties keep the first).
// The backward pass is a gather: each input element adds grad_output over the windows that
// cover it and chose it, in (i, j) row-major order, which is the order the twin's
// np.add.at applies them; no atomics, so it is deterministic.
#include "cuda/pool.h"

#include <cmath>

#include "cuda/layer_common.cuh"

namespace cunn::cuda {
namespace {

using layers::blocks_for;
using layers::check_launch;
using layers::first_index;
using layers::grid_stride;
using layers::kThreads;

__global__ void max_pool2d_forward_kernel(float* out, std::int64_t* indices, const float* x,
                                          PoolShape s) {
  const std::int64_t out_plane = s.out_h * s.out_w;
  const std::int64_t total = s.planes * out_plane;
  for (std::int64_t e = first_index(); e < total; e += grid_stride()) {
    const std::int64_t j = e % s.out_w, i = (e / s.out_w) % s.out_h, plane = e / out_plane;
    const float* input = x + plane * s.height * s.width;
    const std::int64_t top = i * s.stride_h - s.pad_h, left = j * s.stride_w - s.pad_w;
    // Padding is at most half the kernel, so every window holds an input position.
    const std::int64_t row_begin = top > 0 ? top : 0, col_begin = left > 0 ? left : 0;
    const std::int64_t row_end = min(top + s.kernel_h, s.height);
    const std::int64_t col_end = min(left + s.kernel_w, s.width);
    float best = -INFINITY;
    std::int64_t best_index = row_begin * s.width + col_begin;
    for (std::int64_t row = row_begin; row < row_end; ++row) {
      for (std::int64_t column = col_begin; column < col_end; ++column) {
        const float value = input[row * s.width + column];
        if (value > best || (isnan(value) && !isnan(best))) {
          best = value;
          best_index = row * s.width + column;
        }
      }
    }
    out[e] = best;
    indices[e] = best_index;
  }
}

// The outputs [first, last) along one axis whose windows cover input index `index`:
// i * stride - pad <= index <= i * stride - pad + kernel - 1.
__device__ void covering(std::int64_t index, std::int64_t kernel, std::int64_t stride,
                         std::int64_t pad, std::int64_t out, std::int64_t* first,
                         std::int64_t* last) {
  const std::int64_t low = index + pad - kernel + 1;  // i * stride >= low
  *first = low <= 0 ? 0 : (low + stride - 1) / stride;
  const std::int64_t high = (index + pad) / stride + 1;  // i * stride <= index + pad
  *last = high < out ? high : out;
}

__global__ void max_pool2d_backward_kernel(float* grad_input, const float* grad_output,
                                           const std::int64_t* indices, PoolShape s) {
  const std::int64_t in_plane = s.height * s.width, out_plane = s.out_h * s.out_w;
  const std::int64_t total = s.planes * in_plane;
  for (std::int64_t e = first_index(); e < total; e += grid_stride()) {
    const std::int64_t position = e % in_plane, plane = e / in_plane;
    const std::int64_t h = position / s.width, w = position - h * s.width;
    std::int64_t i0, i1, j0, j1;
    covering(h, s.kernel_h, s.stride_h, s.pad_h, s.out_h, &i0, &i1);
    covering(w, s.kernel_w, s.stride_w, s.pad_w, s.out_w, &j0, &j1);
    const std::int64_t base = plane * out_plane;
    float sum = 0.0f;
    for (std::int64_t i = i0; i < i1; ++i)
      for (std::int64_t j = j0; j < j1; ++j) {
        const std::int64_t o = base + i * s.out_w + j;
        if (indices[o] == position) sum += grad_output[o];
      }
    grad_input[e] = sum;
  }
}

}  // namespace

void max_pool2d_forward(const PoolShape& s, float* out, std::int64_t* indices, const float* x) {
  const std::int64_t total = s.planes * s.out_h * s.out_w;
  if (total == 0) return;
  max_pool2d_forward_kernel<<<blocks_for(total), kThreads>>>(out, indices, x, s);
  check_launch("max_pool2d_forward");
}

void max_pool2d_backward(const PoolShape& s, float* grad_input, const float* grad_output,
                         const std::int64_t* indices) {
  const std::int64_t total = s.planes * s.height * s.width;
  if (total == 0) return;
  max_pool2d_backward_kernel<<<blocks_for(total), kThreads>>>(grad_input, grad_output, indices,
                                                              s);
  check_launch("max_pool2d_backward");
}

}  // namespace cunn::cuda
