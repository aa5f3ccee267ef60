// Argument checks for the `cunn._C.cuda` bindings. Device pointers arrive as Python ints
// and kernels trust them, so what a caller can get wrong without a crash is checked here:
// sizes are non-negative, a pointer is non-zero when its buffer has elements (0 is allowed
// only where the spec says "0 = none") and aligned for its element type, shape and stride
// lists have <= 8 entries and agree in length, and names of ops and dtypes are known.
// Violations raise ValueError naming the function and the argument.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "cuda/elementwise.h"
#include "cuda/memory.h"

namespace cunn::bind::cuda_args {

namespace py = pybind11;
using Pointer = std::uintptr_t;

[[noreturn]] inline void fail(const char* op, const std::string& message) {
  throw py::value_error(std::string(op) + ": " + message);
}

inline std::int64_t size(std::int64_t value, const char* op, const char* arg) {
  if (value < 0)
    fail(op, std::string(arg) + " must be >= 0, got " + std::to_string(value));
  return value;
}

// a * b for sizes, refusing a product past int64 (the kernels index with int64).
inline std::int64_t product(std::int64_t a, std::int64_t b, const char* op) {
  if (a != 0 && b > std::numeric_limits<std::int64_t>::max() / a)
    fail(op, "the sizes multiply past 2^63");
  return a * b;
}

template <class T>
T* optional(Pointer pointer, const char* op, const char* arg) {
  if (pointer % alignof(T) != 0)
    fail(op, std::string(arg) + " must be aligned to " + std::to_string(alignof(T)) +
                 " bytes, got " + std::to_string(pointer));
  return reinterpret_cast<T*>(pointer);
}

// A pointer that must be non-zero when its buffer holds `count` > 0 elements.
template <class T>
T* required(Pointer pointer, std::int64_t count, const char* op, const char* arg) {
  if (count > 0 && pointer == 0) fail(op, std::string(arg) + " is 0 for a non-empty buffer");
  return optional<T>(pointer, op, arg);
}

// A shape: at most 8 non-negative sizes.
inline std::vector<std::int64_t> shape(const std::vector<std::int64_t>& dims, const char* op,
                                       const char* arg) {
  if (dims.size() > static_cast<std::size_t>(cunn::cuda::kMaxDims))
    fail(op, std::string(arg) + " has " + std::to_string(dims.size()) +
                 " dims, at most 8 are supported");
  for (std::int64_t d : dims) size(d, op, arg);
  return dims;
}

inline std::int64_t count_of(const std::vector<std::int64_t>& dims, const char* op) {
  std::int64_t count = 1;
  for (std::int64_t d : dims) count = product(count, d, op);
  return count;
}

// Element strides (any sign) of a view of `ndim` dims.
inline const std::vector<std::int64_t>& strides(const std::vector<std::int64_t>& values,
                                                std::size_t ndim, const char* op,
                                                const char* arg) {
  if (values.size() != ndim)
    fail(op, std::string(arg) + " must have one stride per dim (" + std::to_string(ndim) +
                 "), got " + std::to_string(values.size()));
  return values;
}

// The enum value named `name` (an op or a kind); ValueError listing the known names.
template <class Enum>
Enum choice(const std::map<std::string, Enum>& names, const std::string& name, const char* op,
            const char* arg) {
  auto found = names.find(name);
  if (found != names.end()) return found->second;
  std::string known;
  for (const auto& entry : names) known += (known.empty() ? "" : ", ") + entry.first;
  fail(op, std::string(arg) + " must be one of " + known + "; got '" + name + "'");
}

inline cunn::cuda::DType dtype(const std::string& name, const char* op, const char* arg) {
  if (name == "float32") return cunn::cuda::DType::float32;
  if (name == "int64") return cunn::cuda::DType::int64;
  if (name == "uint8") return cunn::cuda::DType::uint8;
  fail(op, std::string(arg) + " must be 'float32', 'int64' or 'uint8', got '" + name + "'");
}

inline std::int64_t itemsize(cunn::cuda::DType dtype) {
  return dtype == cunn::cuda::DType::float32 ? 4 : dtype == cunn::cuda::DType::int64 ? 8 : 1;
}

}  // namespace cunn::bind::cuda_args
