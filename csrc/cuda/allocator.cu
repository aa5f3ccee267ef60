// The caching device allocator (allocator.h). Sizes are rounded up to a bucket (a
// multiple of 512 bytes below 1 MiB, else one of four steps per power of two), and a
// released block waits in its bucket's free list for the next request of that bucket, so a
// training loop that asks for the same shapes every step stops calling cudaMalloc after
// its first step. Blocks are never split or merged: the rounding bounds the waste to 25%.
// Free lists are kept per device; one mutex guards all state.
#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cuda/allocator.h"

namespace cunn::cuda {
namespace {

constexpr std::size_t kSmallGranule = 512;
constexpr std::size_t kSmallLimit = std::size_t(1) << 20;

std::size_t bucket_size(std::size_t bytes) {
  if (bytes <= kSmallLimit) return (bytes + kSmallGranule - 1) / kSmallGranule * kSmallGranule;
  // Largest power of two not above `bytes`, split into four steps of a quarter each.
  std::size_t power = kSmallLimit;
  while (power <= bytes / 2) power *= 2;
  const std::size_t step = power / 4;
  return (bytes + step - 1) / step * step;
}

struct Block {
  int device;
  std::size_t size;
};

struct State {
  std::mutex mutex;
  std::map<std::pair<int, std::size_t>, std::vector<void*>> cached;  // (device, size) -> free
  std::unordered_map<void*, Block> in_use;
  MemoryStats stats{0, 0, 0, 0};
};

// Never destroyed: at interpreter exit the CUDA context may already be gone, and freeing
// blocks then would fail; the driver reclaims everything with the process.
State& state() {
  static State* instance = new State;
  return *instance;
}

// Caller holds the mutex.
void free_cached_blocks(State& s) {
  for (auto& [key, blocks] : s.cached) {
    for (void* block : blocks) {
      cudaFree(block);
      s.stats.reserved_bytes -= static_cast<std::int64_t>(key.second);
    }
  }
  s.cached.clear();
  cudaGetLastError();  // a failed cudaFree must not poison the next launch check
}

}  // namespace

void* allocate(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  const std::size_t size = bucket_size(bytes);
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) {
    cudaGetLastError();
    throw std::runtime_error("malloc: no CUDA device is usable");
  }
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto found = s.cached.find({device, size});
  if (found != s.cached.end() && !found->second.empty()) {
    void* block = found->second.back();
    found->second.pop_back();
    s.in_use.emplace(block, Block{device, size});
    s.stats.allocated_bytes += static_cast<std::int64_t>(size);
    s.stats.cache_hits += 1;
    return block;
  }
  void* block = nullptr;
  cudaError_t error = cudaMalloc(&block, size);
  s.stats.device_malloc_calls += 1;
  if (error == cudaErrorMemoryAllocation) {
    // Blocks cached for other sizes may be what the driver is missing: give them back, retry.
    cudaGetLastError();
    free_cached_blocks(s);
    error = cudaMalloc(&block, size);
    s.stats.device_malloc_calls += 1;
  }
  if (error != cudaSuccess) {
    cudaGetLastError();
    const std::string message = "malloc: cannot allocate " + std::to_string(bytes) +
                                " bytes on CUDA device " + std::to_string(device) + ": " +
                                cudaGetErrorString(error);
    if (error == cudaErrorMemoryAllocation) throw OutOfMemory(message);
    throw std::runtime_error(message);
  }
  s.in_use.emplace(block, Block{device, size});
  s.stats.allocated_bytes += static_cast<std::int64_t>(size);
  s.stats.reserved_bytes += static_cast<std::int64_t>(size);
  return block;
}

void release(void* pointer) {
  if (pointer == nullptr) return;
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto found = s.in_use.find(pointer);
  if (found == s.in_use.end())
    throw std::invalid_argument("free: the pointer was not returned by malloc, or was freed");
  const Block block = found->second;
  s.in_use.erase(found);
  // Reusing the block is safe without a synchronisation: every kernel and copy runs on the
  // default stream, so the next user of the block is ordered after the last one.
  s.cached[{block.device, block.size}].push_back(pointer);
  s.stats.allocated_bytes -= static_cast<std::int64_t>(block.size);
}

void empty_cache() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  free_cached_blocks(s);
}

MemoryStats memory_stats() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.stats;
}

}  // namespace cunn::cuda
