// The CUDA subset that csrc/cuda uses, emulated on the CPU so that the kernels can run
// (slowly) on a machine without a GPU: a kernel launch runs its blocks one after another,
// each block's threads as real threads of a pool, __syncthreads as a barrier of the block,
// warp shuffles through a per-warp barrier, __shared__ memory as static storage (one block
// at a time uses it) and device memory as host memory. See README.md.
#pragma once

#include <math.h>

#include <algorithm>
#include <barrier>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)

struct dim3 {
  unsigned x, y, z;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
inline dim3 gridDim, blockDim, blockIdx;
inline thread_local dim3 threadIdx;

namespace emulator {
inline std::unique_ptr<std::barrier<>> block_barrier;
inline std::vector<std::unique_ptr<std::barrier<>>> warp_barriers;
inline std::uint64_t lanes[1024];
inline std::mutex atomic_mutex;
// Runs `body` once per thread of every block of `grid`.
void launch(dim3 grid, dim3 block, const std::function<void()>& body);
}  // namespace emulator

inline void __syncthreads() { emulator::block_barrier->arrive_and_wait(); }
inline void __threadfence() {}

template <class T>
T __shfl_down_sync(unsigned, T value, int offset) {
  static_assert(sizeof(T) <= sizeof(std::uint64_t), "a lane holds at most 8 bytes");
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  std::memcpy(&emulator::lanes[threadIdx.x], &value, sizeof(T));
  emulator::warp_barriers[warp]->arrive_and_wait();
  T result = value;  // a lane past the warp's end keeps its own value, as on the device
  if (lane + offset < 32) std::memcpy(&result, &emulator::lanes[threadIdx.x + offset], sizeof(T));
  emulator::warp_barriers[warp]->arrive_and_wait();
  return result;
}
template <class T>
T __shfl_xor_sync(unsigned, T value, int mask) {
  const unsigned warp = threadIdx.x / 32;
  std::memcpy(&emulator::lanes[threadIdx.x], &value, sizeof(T));
  emulator::warp_barriers[warp]->arrive_and_wait();
  T result;
  std::memcpy(&result, &emulator::lanes[(threadIdx.x & ~31u) | ((threadIdx.x % 32) ^ mask)],
              sizeof(T));
  emulator::warp_barriers[warp]->arrive_and_wait();
  return result;
}

template <class T>
T atomicAdd(T* address, T value) {
  std::lock_guard<std::mutex> lock(emulator::atomic_mutex);
  const T old = *address;
  *address = old + value;
  return old;
}
template <class T>
T __ldg(const T* address) { return *address; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
// The device's round-to-nearest intrinsics are the host's IEEE operations (the build
// passes -ffp-contract=off, so nothing is fused into an FMA here either).
// The high 32 bits of a 32 x 32-bit product (Philox's multiply).
inline unsigned __umulhi(unsigned a, unsigned b) {
  return static_cast<unsigned>((static_cast<unsigned long long>(a) * b) >> 32);
}
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
using std::max;
using std::min;

enum cudaError_t { cudaSuccess = 0, cudaErrorMemoryAllocation = 2, cudaErrorInvalidDevice = 101 };
enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
struct cudaDeviceProp { char name[256]; };
inline const char* cudaGetErrorString(cudaError_t error) {
  return error == cudaErrorMemoryAllocation ? "out of memory (emulated)" : "emulated error";
}
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaGetDeviceCount(int* count) { *count = 1; return cudaSuccess; }
inline cudaError_t cudaGetDevice(int* device) { *device = 0; return cudaSuccess; }
inline cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : cudaErrorInvalidDevice;
}
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* properties, int device) {
  if (device != 0) return cudaErrorInvalidDevice;
  std::strcpy(properties->name, "CPU emulation");
  return cudaSuccess;
}
// Anything past 64 GiB is "out of memory", so the allocator's retry path runs too.
inline cudaError_t cudaMalloc(void** pointer, std::size_t bytes) {
  if (bytes > (std::size_t(1) << 36)) return cudaErrorMemoryAllocation;
  *pointer = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  std::memset(*pointer, 0xff, bytes);  // NaN floats: a kernel that skips an element shows
  return cudaSuccess;
}
inline cudaError_t cudaFree(void* pointer) { std::free(pointer); return cudaSuccess; }
inline cudaError_t cudaMemcpy(void* target, const void* source, std::size_t bytes,
                              cudaMemcpyKind) {
  std::memmove(target, source, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemset(void* target, int value, std::size_t bytes) {
  std::memset(target, value, bytes);
  return cudaSuccess;
}
// One stream here, and launches finish before they return: the async form is the same call.
inline cudaError_t cudaMemsetAsync(void* target, int value, std::size_t bytes, void* = nullptr) {
  return cudaMemset(target, value, bytes);
}
