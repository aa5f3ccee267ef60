// Launch helpers shared by the layer kernels (conv2d, pooling, dropout, optimizers,
// normalization, embedding): grid sizing for grid-stride loops, the after-launch error
// check that names the kernel, and a device workspace that goes back to the caching
// allocator however the call ends.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/allocator.h"

namespace cunn::cuda::layers {

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over `count` items: enough to fill any current GPU, and
// below the 2^31 - 1 limit of gridDim.x however large `count` is (the loops use int64).
inline unsigned int blocks_for(std::int64_t count, int threads = kThreads) {
  const std::int64_t blocks = (count + threads - 1) / threads;
  return static_cast<unsigned int>(
      std::max<std::int64_t>(1, std::min<std::int64_t>(blocks, 65536)));
}

// cudaGetLastError after a launch; a failure becomes std::runtime_error (RuntimeError in
// Python) naming the kernel, e.g. "max_pool2d_forward: CUDA error after launch: ...".
inline void check_launch(const char* kernel) {
  const cudaError_t error = cudaGetLastError();
  if (error != cudaSuccess)
    throw std::runtime_error(std::string(kernel) + ": CUDA error after launch: " +
                             cudaGetErrorString(error));
}

// A workspace block from the caching allocator. Kernels using it run on the default
// stream, so handing it back right after the launches is safe: a later user of the block
// is queued behind them.
class Workspace {
 public:
  explicit Workspace(std::size_t bytes) : pointer_(allocate(bytes)) {}
  ~Workspace() { release(pointer_); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  template <class T>
  T* as() const { return static_cast<T*>(pointer_); }

 private:
  void* pointer_;
};

// Grid-stride loop index type: every index is int64 so that buffers beyond 2^31 elements work.
__device__ inline std::int64_t first_index() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline std::int64_t grid_stride() {
  return static_cast<std::int64_t>(gridDim.x) * blockDim.x;
}

// float32 arithmetic rounded once per operation, as NumPy's: the intrinsics keep nvcc from
// contracting a multiply and an add into one FMA, so the optimizer updates and the
// normalization follow their twins' rounding step by step.
namespace rounded {
__device__ inline float add(float a, float b) { return __fadd_rn(a, b); }
__device__ inline float sub(float a, float b) { return __fsub_rn(a, b); }
__device__ inline float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ inline float div(float a, float b) { return __fdiv_rn(a, b); }
__device__ inline float root(float a) { return __fsqrt_rn(a); }
}  // namespace rounded

}  // namespace cunn::cuda::layers
