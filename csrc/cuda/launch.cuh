// Launch helpers shared by the .cu files (CUDA only; bindings never include this).
// Kernels use grid-stride loops with int64 indices, so a grid of at most
// kMaxBlocks blocks covers any count, including counts past 2^31.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/device_math.cuh"

namespace cunn::cuda {

constexpr int kThreads = 256;
constexpr std::int64_t kMaxBlocks = 65535;

inline unsigned blocks_for(std::int64_t count, int threads = kThreads) {
  const std::int64_t blocks = (count + threads - 1) / threads;
  return static_cast<unsigned>(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

// Called after every launch: a bad configuration or a missing device surfaces here as a
// std::runtime_error (RuntimeError in Python) naming the kernel.
inline void check_launch(const char* kernel) {
  const cudaError_t error = cudaGetLastError();
  if (error != cudaSuccess)
    throw std::runtime_error(std::string(kernel) + ": CUDA kernel launch failed: " +
                             cudaGetErrorString(error));
}

// For runtime calls (memcpy, malloc, device queries): the same error naming the call.
inline void check_call(cudaError_t error, const char* what) {
  if (error != cudaSuccess) {
    cudaGetLastError();  // clear a non-sticky error so the next call starts clean
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(error));
  }
}

__device__ inline std::int64_t global_thread_index() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline std::int64_t grid_stride() {
  return static_cast<std::int64_t>(gridDim.x) * blockDim.x;
}

// Tree sum of one value per thread over a whole block, the same order on every run.
// `shared` holds one T per warp; every thread gets the result. blockDim.x is a multiple of 32.
template <class T>
__device__ T block_sum(T value, T* shared) {
  for (int offset = 16; offset > 0; offset /= 2)
    value += __shfl_down_sync(0xffffffffu, value, offset);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  __syncthreads();  // `shared` may still be read by a previous call
  if (lane == 0) shared[warp] = value;
  __syncthreads();
  if (warp == 0) {
    value = lane < warps ? shared[lane] : T(0);
    for (int offset = 16; offset > 0; offset /= 2)
      value += __shfl_down_sync(0xffffffffu, value, offset);
    if (lane == 0) shared[0] = value;
  }
  __syncthreads();
  return shared[0];
}

// The same tree with NumPy's NaN-propagating maximum.
__device__ inline float block_max(float value, float* shared) {
  for (int offset = 16; offset > 0; offset /= 2)
    value = nan_maximum(value, __shfl_down_sync(0xffffffffu, value, offset));
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  __syncthreads();
  if (lane == 0) shared[warp] = value;
  __syncthreads();
  if (warp == 0) {
    value = lane < warps ? shared[lane] : shared[0];
    for (int offset = 16; offset > 0; offset /= 2)
      value = nan_maximum(value, __shfl_down_sync(0xffffffffu, value, offset));
    if (lane == 0) shared[0] = value;
  }
  __syncthreads();
  return shared[0];
}

// Threads per block for a per-row reduction: a power of two in [32, 256], enough for `length`.
inline int row_threads(std::int64_t length) {
  int threads = 32;
  while (threads < kThreads && threads < length) threads *= 2;
  return threads;
}

}  // namespace cunn::cuda
