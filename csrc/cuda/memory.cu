// Host <-> device copies, strided gathers (a view made contiguous) and fills.
#include <cuda_runtime.h>

#include <stdexcept>

#include "cuda/launch.cuh"
#include "cuda/memory.h"
#include "cuda/strided.cuh"

namespace cunn::cuda {
namespace {

// Item types by size only: a strided copy moves bytes and never interprets them.
template <class Item>
__global__ void copy_strided_kernel(Item* destination, const Item* source, std::int64_t count,
                                    StridedLayout<1> layout) {
  for (std::int64_t i = global_thread_index(); i < count; i += grid_stride()) {
    std::int64_t offset;
    offsets_of<1>(i, layout, &offset);
    destination[i] = source[offset];
  }
}

template <class Item>
void launch_copy_strided(void* destination, const void* source, std::int64_t count,
                         const StridedLayout<1>& layout) {
  copy_strided_kernel<Item><<<blocks_for(count), kThreads>>>(
      static_cast<Item*>(destination), static_cast<const Item*>(source), count, layout);
  check_launch("copy_strided");
}

template <class T>
__global__ void fill_kernel(T* data, std::int64_t count, T value) {
  for (std::int64_t i = global_thread_index(); i < count; i += grid_stride()) data[i] = value;
}

template <class T>
void launch_fill(T* data, std::int64_t count, T value) {
  if (count == 0) return;
  fill_kernel<T><<<blocks_for(count), kThreads>>>(data, count, value);
  check_launch("fill");
}

}  // namespace

void copy_from_host(void* device_destination, const void* host_source, std::size_t bytes) {
  if (bytes == 0) return;
  check_call(cudaMemcpy(device_destination, host_source, bytes, cudaMemcpyHostToDevice),
             "copy_from_host");
}

void copy_to_host(void* host_destination, const void* device_source, std::size_t bytes) {
  if (bytes == 0) return;
  check_call(cudaMemcpy(host_destination, device_source, bytes, cudaMemcpyDeviceToHost),
             "copy_to_host");
}

void copy_device(void* device_destination, const void* device_source, std::size_t bytes) {
  if (bytes == 0) return;
  check_call(cudaMemcpy(device_destination, device_source, bytes, cudaMemcpyDeviceToDevice),
             "copy_device");
}

void copy_strided(void* destination, const void* source, int itemsize, int ndim,
                  const std::int64_t* shape, const std::int64_t* strides) {
  std::int64_t count = 1;
  for (int d = 0; d < ndim; ++d) count *= shape[d];
  if (count == 0) return;
  const std::int64_t* operand_strides[1] = {strides};
  const StridedLayout<1> layout = collapse<1>(ndim, shape, operand_strides);
  switch (itemsize) {
    case 1: launch_copy_strided<std::uint8_t>(destination, source, count, layout); break;
    case 4: launch_copy_strided<std::uint32_t>(destination, source, count, layout); break;
    case 8: launch_copy_strided<std::uint64_t>(destination, source, count, layout); break;
    default: throw std::invalid_argument("copy_strided: itemsize must be 1, 4 or 8");
  }
}

void fill_float32(float* data, std::int64_t count, float value) { launch_fill(data, count, value); }
void fill_int64(std::int64_t* data, std::int64_t count, std::int64_t value) {
  launch_fill(data, count, value);
}
void fill_uint8(std::uint8_t* data, std::int64_t count, std::uint8_t value) {
  launch_fill(data, count, value);
}

}  // namespace cunn::cuda
