// Copies between host and device, strided gathers and fills; plain C++ (no CUDA headers).
// Host pointers are ordinary memory; device pointers come from allocator.h. Copies to the
// host are synchronous; the rest run in order on the default stream.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cunn::cuda {

void copy_from_host(void* device_destination, const void* host_source, std::size_t bytes);
void copy_to_host(void* host_destination, const void* device_source, std::size_t bytes);
void copy_device(void* device_destination, const void* device_source, std::size_t bytes);

constexpr int kMaxDims = 8;

// destination (contiguous, `shape`) = source viewed with element `strides` (0 repeats an
// element, negative walks backwards from `source`); itemsize 1, 4 or 8; ndim <= kMaxDims.
void copy_strided(void* destination, const void* source, int itemsize, int ndim,
                  const std::int64_t* shape, const std::int64_t* strides);

void fill_float32(float* data, std::int64_t count, float value);
void fill_int64(std::int64_t* data, std::int64_t count, std::int64_t value);
void fill_uint8(std::uint8_t* data, std::int64_t count, std::uint8_t value);

}  // namespace cunn::cuda
