// Softmax family, max-subtracted as the twin: shifted = x - max (NaN-propagating max, so
// a NaN or an all -inf slice gives NaN as in NumPy and PyTorch), out = exp(shifted) / sum or
// shifted - log(sum). Like reduce.cu, a slice is walked by one thread when inner >= 32
// (adjacent threads take adjacent columns) and by one block when the slice is a long row.
#include <cuda_runtime.h>

#include "cuda/launch.cuh"
#include "cuda/softmax.h"

namespace cunn::cuda {
namespace {

constexpr std::int64_t kColumnThreshold = 32;

__global__ void forward_columns_kernel(float* out, const float* x, std::int64_t outer,
                                       std::int64_t length, std::int64_t inner, bool log) {
  const std::int64_t slices = outer * inner;
  for (std::int64_t index = global_thread_index(); index < slices; index += grid_stride()) {
    const std::int64_t offset = (index / inner) * length * inner + index % inner;
    const float* in = x + offset;
    float* result = out + offset;
    float peak = in[0];
    for (std::int64_t l = 1; l < length; ++l) peak = nan_maximum(peak, in[l * inner]);
    float total = 0.0f;
    for (std::int64_t l = 0; l < length; ++l) total += expf(in[l * inner] - peak);
    if (log) {
      const float log_total = logf(total);
      for (std::int64_t l = 0; l < length; ++l)
        result[l * inner] = (in[l * inner] - peak) - log_total;
    } else {
      for (std::int64_t l = 0; l < length; ++l)
        result[l * inner] = expf(in[l * inner] - peak) / total;
    }
  }
}

__global__ void forward_rows_kernel(float* out, const float* x, std::int64_t outer,
                                    std::int64_t length, std::int64_t inner, bool log) {
  __shared__ float shared[32];
  const std::int64_t slices = outer * inner;
  for (std::int64_t index = blockIdx.x; index < slices; index += gridDim.x) {
    const std::int64_t offset = (index / inner) * length * inner + index % inner;
    const float* in = x + offset;
    float* result = out + offset;
    float peak = in[0];
    for (std::int64_t l = threadIdx.x; l < length; l += blockDim.x)
      peak = nan_maximum(peak, in[l * inner]);
    peak = block_max(peak, shared);
    float partial = 0.0f;
    for (std::int64_t l = threadIdx.x; l < length; l += blockDim.x)
      partial += expf(in[l * inner] - peak);
    const float total = block_sum(partial, shared);
    const float log_total = logf(total);
    for (std::int64_t l = threadIdx.x; l < length; l += blockDim.x) {
      const float shifted = in[l * inner] - peak;
      result[l * inner] = log ? shifted - log_total : expf(shifted) / total;
    }
  }
}

// sum over the slice of dy * y (softmax) or of dy (log_softmax): the `weight` of dy.
__device__ inline float backward_term(float grad, float output, bool log) {
  return log ? grad : grad * output;
}
__device__ inline float backward_value(float grad, float output, float total, bool log) {
  return log ? grad - expf(output) * total : output * (grad - total);
}

__global__ void backward_columns_kernel(float* grad_input, const float* grad_output,
                                        const float* output, std::int64_t outer,
                                        std::int64_t length, std::int64_t inner, bool log) {
  const std::int64_t slices = outer * inner;
  for (std::int64_t index = global_thread_index(); index < slices; index += grid_stride()) {
    const std::int64_t offset = (index / inner) * length * inner + index % inner;
    float total = 0.0f;
    for (std::int64_t l = 0; l < length; ++l)
      total += backward_term(grad_output[offset + l * inner], output[offset + l * inner], log);
    for (std::int64_t l = 0; l < length; ++l) {
      const std::int64_t at = offset + l * inner;
      grad_input[at] = backward_value(grad_output[at], output[at], total, log);
    }
  }
}

__global__ void backward_rows_kernel(float* grad_input, const float* grad_output,
                                     const float* output, std::int64_t outer,
                                     std::int64_t length, std::int64_t inner, bool log) {
  __shared__ float shared[32];
  const std::int64_t slices = outer * inner;
  for (std::int64_t index = blockIdx.x; index < slices; index += gridDim.x) {
    const std::int64_t offset = (index / inner) * length * inner + index % inner;
    float partial = 0.0f;
    for (std::int64_t l = threadIdx.x; l < length; l += blockDim.x)
      partial += backward_term(grad_output[offset + l * inner], output[offset + l * inner], log);
    const float total = block_sum(partial, shared);
    for (std::int64_t l = threadIdx.x; l < length; l += blockDim.x) {
      const std::int64_t at = offset + l * inner;
      grad_input[at] = backward_value(grad_output[at], output[at], total, log);
    }
  }
}

bool by_columns(std::int64_t length, std::int64_t inner) {
  return inner >= kColumnThreshold || length < kColumnThreshold;
}

unsigned row_blocks(std::int64_t slices) {
  return static_cast<unsigned>(slices < kMaxBlocks ? slices : kMaxBlocks);
}

}  // namespace

void softmax_forward(float* out, const float* x, std::int64_t outer, std::int64_t length,
                     std::int64_t inner, bool log) {
  const std::int64_t slices = outer * inner;
  if (slices == 0 || length == 0) return;
  if (by_columns(length, inner))
    forward_columns_kernel<<<blocks_for(slices), kThreads>>>(out, x, outer, length, inner, log);
  else
    forward_rows_kernel<<<row_blocks(slices), row_threads(length)>>>(out, x, outer, length,
                                                                     inner, log);
  check_launch("softmax_forward");
}

void softmax_backward(float* grad_input, const float* grad_output, const float* output,
                      std::int64_t outer, std::int64_t length, std::int64_t inner, bool log) {
  const std::int64_t slices = outer * inner;
  if (slices == 0 || length == 0) return;
  if (by_columns(length, inner))
    backward_columns_kernel<<<blocks_for(slices), kThreads>>>(grad_input, grad_output, output,
                                                              outer, length, inner, log);
  else
    backward_rows_kernel<<<row_blocks(slices), row_threads(length)>>>(
        grad_input, grad_output, output, outer, length, inner, log);
  check_launch("softmax_backward");
}

}  // namespace cunn::cuda
