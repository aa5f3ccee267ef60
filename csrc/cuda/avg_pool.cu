// Average pooling on the device (shapes in avg_pool.h), following
// cunn/_backends/numpy_ref/avg_pool.py. Backward passes are gathers (no atomics), adding the
// shares grad_output / divisor in the order the twin adds them:
// - avg_pool2d: the twin adds share windows one kernel offset (dh, dw) at a time in
//   row-major order; for one input element dh = h + ph - i*sh grows as i falls, so the
//   gather walks the covering outputs with i, then j, descending.
// - adaptive: the twin adds window (i, j) after window (i, j - 1), so the gather walks
//   i, then j, ascending.
// Divisions are IEEE (__fdiv_rn) and sums plain float adds, as the twin's float32 math.
#include "cuda/avg_pool.h"

#include "cuda/layer_common.cuh"

namespace cunn::cuda {
namespace {

using layers::blocks_for;
using layers::check_launch;
using layers::first_index;
using layers::grid_stride;
using layers::kThreads;

// The divisor of output (i, j): kh * kw, or the window's positions inside the input.
__device__ float divisor(const PoolShape& s, std::int64_t i, std::int64_t j,
                         bool count_include_pad) {
  if (count_include_pad) return static_cast<float>(s.kernel_h * s.kernel_w);
  const std::int64_t top = i * s.stride_h - s.pad_h, left = j * s.stride_w - s.pad_w;
  const std::int64_t rows = min(top + s.kernel_h, s.height) - max(top, std::int64_t{0});
  const std::int64_t cols = min(left + s.kernel_w, s.width) - max(left, std::int64_t{0});
  return static_cast<float>(rows * cols);
}

__global__ void avg_pool2d_forward_kernel(float* out, const float* x, PoolShape s,
                                          bool count_include_pad) {
  const std::int64_t out_plane = s.out_h * s.out_w;
  const std::int64_t total = s.planes * out_plane;
  for (std::int64_t e = first_index(); e < total; e += grid_stride()) {
    const std::int64_t j = e % s.out_w, i = (e / s.out_w) % s.out_h, plane = e / out_plane;
    const float* input = x + plane * s.height * s.width;
    const std::int64_t top = i * s.stride_h - s.pad_h, left = j * s.stride_w - s.pad_w;
    const std::int64_t row_end = min(top + s.kernel_h, s.height);
    const std::int64_t col_end = min(left + s.kernel_w, s.width);
    float sum = 0.0f;  // padding adds zeros, which leave the sum unchanged
    for (std::int64_t row = max(top, std::int64_t{0}); row < row_end; ++row)
      for (std::int64_t column = max(left, std::int64_t{0}); column < col_end; ++column)
        sum += input[row * s.width + column];
    out[e] = __fdiv_rn(sum, divisor(s, i, j, count_include_pad));
  }
}

// The outputs [first, last) along one axis whose windows cover input index `index`.
__device__ void covering(std::int64_t index, std::int64_t kernel, std::int64_t stride,
                         std::int64_t pad, std::int64_t out, std::int64_t* first,
                         std::int64_t* last) {
  const std::int64_t low = index + pad - kernel + 1;  // i * stride >= low
  *first = low <= 0 ? 0 : (low + stride - 1) / stride;
  const std::int64_t high = (index + pad) / stride + 1;  // i * stride <= index + pad
  *last = high < out ? high : out;
}

__global__ void avg_pool2d_backward_kernel(float* grad_input, const float* grad_output,
                                           PoolShape s, bool count_include_pad) {
  const std::int64_t in_plane = s.height * s.width, out_plane = s.out_h * s.out_w;
  const std::int64_t total = s.planes * in_plane;
  for (std::int64_t e = first_index(); e < total; e += grid_stride()) {
    const std::int64_t position = e % in_plane, plane = e / in_plane;
    const std::int64_t h = position / s.width, w = position - h * s.width;
    std::int64_t i0, i1, j0, j1;
    covering(h, s.kernel_h, s.stride_h, s.pad_h, s.out_h, &i0, &i1);
    covering(w, s.kernel_w, s.stride_w, s.pad_w, s.out_w, &j0, &j1);
    const float* grad = grad_output + plane * out_plane;
    float sum = 0.0f;
    for (std::int64_t i = i1 - 1; i >= i0; --i)
      for (std::int64_t j = j1 - 1; j >= j0; --j)
        sum += __fdiv_rn(grad[i * s.out_w + j], divisor(s, i, j, count_include_pad));
    grad_input[e] = sum;
  }
}

// Adaptive window [start, end) of output index i along an axis of `size` pooled to `out`.
__device__ std::int64_t window_start(std::int64_t i, std::int64_t size, std::int64_t out) {
  return (i * size) / out;
}
__device__ std::int64_t window_end(std::int64_t i, std::int64_t size, std::int64_t out) {
  return ((i + 1) * size + out - 1) / out;
}

__global__ void adaptive_avg_pool2d_forward_kernel(float* out, const float* x, PoolShape s) {
  const std::int64_t out_plane = s.out_h * s.out_w;
  const std::int64_t total = s.planes * out_plane;
  for (std::int64_t e = first_index(); e < total; e += grid_stride()) {
    const std::int64_t j = e % s.out_w, i = (e / s.out_w) % s.out_h, plane = e / out_plane;
    const float* input = x + plane * s.height * s.width;
    const std::int64_t h0 = window_start(i, s.height, s.out_h);
    const std::int64_t h1 = window_end(i, s.height, s.out_h);
    const std::int64_t w0 = window_start(j, s.width, s.out_w);
    const std::int64_t w1 = window_end(j, s.width, s.out_w);
    float sum = 0.0f;
    for (std::int64_t row = h0; row < h1; ++row)
      for (std::int64_t column = w0; column < w1; ++column) sum += input[row * s.width + column];
    out[e] = __fdiv_rn(sum, static_cast<float>((h1 - h0) * (w1 - w0)));
  }
}

__global__ void adaptive_avg_pool2d_backward_kernel(float* grad_input, const float* grad_output,
                                                    PoolShape s) {
  const std::int64_t in_plane = s.height * s.width, out_plane = s.out_h * s.out_w;
  const std::int64_t total = s.planes * in_plane;
  for (std::int64_t e = first_index(); e < total; e += grid_stride()) {
    const std::int64_t position = e % in_plane, plane = e / in_plane;
    const std::int64_t h = position / s.width, w = position - h * s.width;
    // Windows containing h start at floor(h * OH / H) and end before ceil((h + 1) * OH / H);
    // the membership test below keeps the bounds exact.
    const std::int64_t i0 = (h * s.out_h) / s.height;
    const std::int64_t i1 = min(((h + 1) * s.out_h + s.height - 1) / s.height, s.out_h);
    const std::int64_t j0 = (w * s.out_w) / s.width;
    const std::int64_t j1 = min(((w + 1) * s.out_w + s.width - 1) / s.width, s.out_w);
    const float* grad = grad_output + plane * out_plane;
    float sum = 0.0f;
    for (std::int64_t i = i0; i < i1; ++i) {
      const std::int64_t h_start = window_start(i, s.height, s.out_h);
      const std::int64_t h_end = window_end(i, s.height, s.out_h);
      if (h < h_start || h >= h_end) continue;
      for (std::int64_t j = j0; j < j1; ++j) {
        const std::int64_t w_start = window_start(j, s.width, s.out_w);
        const std::int64_t w_end = window_end(j, s.width, s.out_w);
        if (w < w_start || w >= w_end) continue;
        const float area = static_cast<float>((h_end - h_start) * (w_end - w_start));
        sum += __fdiv_rn(grad[i * s.out_w + j], area);
      }
    }
    grad_input[e] = sum;
  }
}

}  // namespace

void avg_pool2d_forward(const PoolShape& s, float* out, const float* x, bool count_include_pad) {
  const std::int64_t total = s.planes * s.out_h * s.out_w;
  if (total == 0) return;
  avg_pool2d_forward_kernel<<<blocks_for(total), kThreads>>>(out, x, s, count_include_pad);
  check_launch("avg_pool2d_forward");
}

void avg_pool2d_backward(const PoolShape& s, float* grad_input, const float* grad_output,
                         bool count_include_pad) {
  const std::int64_t total = s.planes * s.height * s.width;
  if (total == 0) return;
  avg_pool2d_backward_kernel<<<blocks_for(total), kThreads>>>(grad_input, grad_output, s,
                                                              count_include_pad);
  check_launch("avg_pool2d_backward");
}

void adaptive_avg_pool2d_forward(const PoolShape& s, float* out, const float* x) {
  const std::int64_t total = s.planes * s.out_h * s.out_w;
  if (total == 0) return;
  adaptive_avg_pool2d_forward_kernel<<<blocks_for(total), kThreads>>>(out, x, s);
  check_launch("adaptive_avg_pool2d_forward");
}

void adaptive_avg_pool2d_backward(const PoolShape& s, float* grad_input,
                                  const float* grad_output) {
  const std::int64_t total = s.planes * s.height * s.width;
  if (total == 0) return;
  adaptive_avg_pool2d_backward_kernel<<<blocks_for(total), kThreads>>>(grad_input, grad_output,
                                                                       s);
  check_launch("adaptive_avg_pool2d_backward");
}

}  // namespace cunn::cuda
