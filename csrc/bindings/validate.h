// Argument checks shared by every binding. Kernels trust their inputs, so
// everything a Python caller can get wrong is caught here first, with an
// error that names the op and the argument ("linear: weight must be ...").
// Inputs and outputs must already be float32/int64 and C-contiguous: nothing
// is silently copied (the Python adapter in cunn/_backends/cpu.py makes inputs
// contiguous; outputs of the wrong layout are refused), except a misaligned input,
// which kernels cannot read (aligned_input below).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

namespace py = pybind11;

namespace cunn::bind {

std::string shape_string(const py::array& array);
std::string shape_string(const std::vector<int64_t>& shape);
std::vector<int64_t> shape_of(const py::array& array);

// Raises TypeError unless `array` holds float32 (or int64 / bool|uint8 masks).
void require_float32(const py::array& array, const char* op, const char* arg);
void require_int64(const py::array& array, const char* op, const char* arg);
void require_mask(const py::array& array, const char* op, const char* arg);
// Raises ValueError unless `array` is C-contiguous (and writable, for outputs).
void require_contiguous(const py::array& array, const char* op, const char* arg);
void require_writable(const py::array& array, const char* op, const char* arg);
void require_ndim(const py::array& array, int64_t ndim, const char* op, const char* arg);
void require_shape(const py::array& array, const std::vector<int64_t>& shape, const char* op,
                   const char* arg);
// The usual combination: float32, C-contiguous.
void require_float_input(const py::array& array, const char* op, const char* arg);
// float32, 2-D, C-contiguous.
void require_float_matrix(const py::array& array, const char* op, const char* arg);
// `value` as an array; TypeError ("must be a numpy.ndarray, got list") otherwise.
py::array as_ndarray(const py::handle& value, const char* op, const char* arg);
// float32, C-contiguous, writable, exactly `shape`.
void require_float_output(const py::array& array, const std::vector<int64_t>& shape,
                          const char* op, const char* arg);
// A stride, padding, kernel size or shape argument: a sequence of exactly `length`
// integers (Python or NumPy ints, not bools), each in [minimum, 2^31). TypeError if it
// is not a sequence of integers, ValueError for a wrong length or a value out of range.
std::vector<int64_t> int_sequence(const py::handle& value, size_t length, int64_t minimum,
                                  const char* op, const char* arg);
// "mean" | "sum" | "none"; ValueError otherwise.
enum class Reduction { none = 0, mean = 1, sum = 2 };
Reduction parse_reduction(const std::string& reduction, const char* op);

template <class T>
T* data_of(py::array& array) { return static_cast<T*>(array.mutable_data()); }
template <class T>
const T* cdata_of(const py::array& array) { return static_cast<const T*>(array.data()); }

// A new C-contiguous float32 array of `shape`.
py::array new_float_array(const std::vector<int64_t>& shape);
// The same, its data on a 64-byte line (owned by a capsule, the array's base): for results
// that threads write in column ranges, where a line shared by two ranges would bounce
// between the cores on every row.
py::array new_line_aligned_float_array(const std::vector<int64_t>& shape);
py::array new_int64_array(const std::vector<int64_t>& shape);

// Alignment. Kernels read float and int64 data with the natural alignment of the type
// (scalar code and the compiler's vectorised loops assume it), but NumPy hands out
// misaligned views (np.frombuffer(buffer, offset=1)). An input is read-only, so a
// misaligned one is copied: aligned_input returns `array` itself when it is aligned, else
// an aligned copy of it. Outputs and in-place arguments are never copied (the caller would
// not see the result): require_aligned refuses them with a ValueError.
py::array aligned_input(const py::array& array);
void require_aligned(const py::array& array, const char* op, const char* arg);

// A read-only array argument, always aligned: made from any ndarray through aligned_input.
// Bindings declare their input parameters `const InputArray& x` (pybind11 then converts
// through the type_caster below) and wrap inputs that arrive inside other objects (an
// optional bias, list items) as InputArray(array).
class InputArray : public py::array {
 public:
  explicit InputArray(const py::array& array) : py::array(aligned_input(array)) {}

 private:
  friend class py::detail::type_caster<InputArray>;
  InputArray() : py::array(py::reinterpret_steal<py::array>(py::handle())) {}
};

}  // namespace cunn::bind

namespace pybind11::detail {

template <>
class type_caster<cunn::bind::InputArray> {
 public:
  // `value` starts as an empty handle until load succeeds, as in pybind11's own object
  // casters (a default py::array would allocate a NumPy array per call).
  PYBIND11_TYPE_CASTER(cunn::bind::InputArray, const_name("numpy.ndarray"));

  bool load(handle source, bool) {
    if (!isinstance<array>(source)) return false;
    value = cunn::bind::InputArray(reinterpret_borrow<array>(source));
    return true;
  }

  static handle cast(const cunn::bind::InputArray& source, return_value_policy, handle) {
    return source.inc_ref();
  }
};

}  // namespace pybind11::detail
