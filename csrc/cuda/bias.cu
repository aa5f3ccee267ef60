// bias_add and its gradient bias_grad (the sum of the gradient over all but the channel
// axis). bias_grad has two shapes of work, like reduce.cu: for a linear layer (inner == 1)
// one thread per channel walks the batch (adjacent threads read adjacent channels); for a
// convolution one block per channel splits its outer * inner elements and combines them
// in a fixed tree. No atomics: the result is the same on every run.
#include <cuda_runtime.h>

#include "cuda/bias.h"
#include "cuda/launch.cuh"

namespace cunn::cuda {
namespace {

__global__ void bias_add_kernel(float* out, const float* bias, std::int64_t count,
                                std::int64_t channels, std::int64_t inner) {
  for (std::int64_t index = global_thread_index(); index < count; index += grid_stride())
    out[index] += bias[(index / inner) % channels];
}

__global__ void bias_grad_columns_kernel(float* out, const float* grad, std::int64_t outer,
                                         std::int64_t channels) {
  for (std::int64_t c = global_thread_index(); c < channels; c += grid_stride()) {
    double total = 0.0;
    for (std::int64_t o = 0; o < outer; ++o) total += grad[o * channels + c];
    out[c] = static_cast<float>(total);
  }
}

__global__ void bias_grad_blocks_kernel(float* out, const float* grad, std::int64_t outer,
                                        std::int64_t channels, std::int64_t inner) {
  __shared__ double shared[32];
  const std::int64_t per_channel = outer * inner;
  for (std::int64_t c = blockIdx.x; c < channels; c += gridDim.x) {
    double partial = 0.0;
    // Element e of the channel is (o, i) = (e / inner, e % inner): consecutive threads
    // read consecutive i within one plane.
    for (std::int64_t e = threadIdx.x; e < per_channel; e += blockDim.x) {
      const std::int64_t o = e / inner, i = e % inner;
      partial += grad[(o * channels + c) * inner + i];
    }
    const double total = block_sum(partial, shared);
    if (threadIdx.x == 0) out[c] = static_cast<float>(total);
  }
}

}  // namespace

void bias_add(float* out, const float* bias, std::int64_t outer, std::int64_t channels,
              std::int64_t inner) {
  const std::int64_t count = outer * channels * inner;
  if (count == 0) return;
  bias_add_kernel<<<blocks_for(count), kThreads>>>(out, bias, count, channels, inner);
  check_launch("bias_add");
}

void bias_grad(float* out, const float* grad, std::int64_t outer, std::int64_t channels,
               std::int64_t inner) {
  if (channels == 0) return;
  if (inner == 1 && channels >= 32) {
    bias_grad_columns_kernel<<<blocks_for(channels), kThreads>>>(out, grad, outer, channels);
  } else {
    const unsigned blocks = static_cast<unsigned>(channels < kMaxBlocks ? channels : kMaxBlocks);
    bias_grad_blocks_kernel<<<blocks, row_threads(outer * inner)>>>(out, grad, outer, channels,
                                                                    inner);
  }
  check_launch("bias_grad");
}

}  // namespace cunn::cuda
