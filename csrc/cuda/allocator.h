// The caching device allocator: a training step reuses blocks freed by the
// previous one instead of calling cudaMalloc (which synchronises the device).
// Plain C++ so that bindings and layer kernels need no CUDA headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <utility>

namespace cunn::cuda {

// Out of device memory even after the cache was emptied (pybind11 raises MemoryError).
class OutOfMemory : public std::bad_alloc {
 public:
  explicit OutOfMemory(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

// A block of at least `bytes` (aligned to 256 bytes); nullptr for 0 bytes.
// Throws std::bad_alloc-derived cunn::cuda::OutOfMemory after emptying the cache and retrying.
void* allocate(std::size_t bytes);
// Returns a block from allocate() to the cache; nullptr is ignored.
void release(void* pointer);
// Hands every cached (unused) block back to the driver.
void empty_cache();

struct MemoryStats {
  std::int64_t allocated_bytes;     // in blocks handed out and not yet released
  std::int64_t reserved_bytes;      // allocated + cached
  std::int64_t device_malloc_calls; // cudaMalloc calls since start
  std::int64_t cache_hits;          // allocate() calls served from the cache
};
MemoryStats memory_stats();

}  // namespace cunn::cuda
