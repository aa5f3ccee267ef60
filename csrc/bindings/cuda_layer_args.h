// Argument checks of the CUDA layer bindings (bind_cuda_<family>.cpp). Device pointers arrive
// as Python ints and sizes as int64; the kernels trust them, so everything that could make a
// kernel read or write outside its buffers is refused here with a ValueError naming the op
// and the argument: negative sizes, size products beyond int64, a null or misaligned pointer
// for a buffer that holds elements, inconsistent output sizes.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>

namespace cunn::bind::cuda_args {

namespace py = pybind11;

[[noreturn]] inline void fail(const char* op, const std::string& message) {
  throw py::value_error(std::string(op) + ": " + message);
}

// A size argument: >= minimum (0 for counts, 1 for kernel sizes and strides).
inline std::int64_t size(std::int64_t value, const char* op, const char* arg,
                         std::int64_t minimum = 0) {
  if (value < minimum)
    fail(op, std::string(arg) + " must be >= " + std::to_string(minimum) + ", got " +
                 std::to_string(value));
  return value;
}

// The product of sizes (each already >= 0); ValueError if it does not fit in int64.
inline std::int64_t product(std::initializer_list<std::int64_t> factors, const char* op) {
  std::int64_t result = 1;
  for (const std::int64_t factor : factors) {
    if (factor == 0) return 0;
  }
  for (const std::int64_t factor : factors) {
    if (result > std::numeric_limits<std::int64_t>::max() / factor)
      fail(op, "the sizes' product does not fit in int64");
    result *= factor;
  }
  return result;
}

// A device pointer to `count` elements of T: non-zero when count > 0, aligned for T.
template <class T>
T* pointer(std::uintptr_t address, std::int64_t count, const char* op, const char* arg) {
  if (address == 0) {
    if (count > 0)
      fail(op, std::string(arg) + " must be a device pointer (non-zero) for its " +
                   std::to_string(count) + " elements, got 0");
    return nullptr;
  }
  if (address % alignof(T) != 0)
    fail(op, std::string(arg) + " must be aligned to " + std::to_string(alignof(T)) +
                 " bytes, got address " + std::to_string(address));
  return reinterpret_cast<T*>(address);
}

// A pointer documented "(0 = none)": null, or a device pointer to `count` elements of T.
template <class T>
T* optional_pointer(std::uintptr_t address, std::int64_t count, const char* op,
                    const char* arg) {
  return address == 0 ? nullptr : pointer<T>(address, count, op, arg);
}

}  // namespace cunn::bind::cuda_args
