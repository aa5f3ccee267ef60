#include "bindings/validate.h"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <sstream>

namespace cunn::bind {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream text;
  text << "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) text << ", ";
    text << shape[i];
  }
  if (shape.size() == 1) text << ",";
  text << ")";
  return text.str();
}

std::vector<int64_t> shape_of(const py::array& array) {
  std::vector<int64_t> shape(array.ndim());
  for (py::ssize_t i = 0; i < array.ndim(); ++i) shape[i] = array.shape(i);
  return shape;
}

std::string shape_string(const py::array& array) { return shape_string(shape_of(array)); }

namespace {

std::string dtype_name(const py::array& array) {
  return py::str(array.dtype()).cast<std::string>();
}

[[noreturn]] void type_error(const char* op, const char* arg, const char* expected,
                             const py::array& array) {
  throw py::type_error(std::string(op) + ": " + arg + " must be " + expected + ", got " +
                       dtype_name(array));
}

}  // namespace

void require_float32(const py::array& array, const char* op, const char* arg) {
  if (!py::isinstance<py::array_t<float>>(array) || array.dtype().kind() != 'f' ||
      array.itemsize() != 4)
    type_error(op, arg, "float32", array);
}

void require_int64(const py::array& array, const char* op, const char* arg) {
  // array_t also refuses a non-native byte order, which the kernels would misread.
  if (!py::isinstance<py::array_t<int64_t>>(array) || array.dtype().kind() != 'i' ||
      array.itemsize() != 8)
    type_error(op, arg, "int64", array);
}

void require_mask(const py::array& array, const char* op, const char* arg) {
  const char kind = array.dtype().kind();
  if (!((kind == 'b' || kind == 'u') && array.itemsize() == 1))
    type_error(op, arg, "bool or uint8", array);
}

void require_contiguous(const py::array& array, const char* op, const char* arg) {
  if (!(array.flags() & py::array::c_style))
    throw py::value_error(std::string(op) + ": " + arg + " must be C-contiguous");
}

void require_writable(const py::array& array, const char* op, const char* arg) {
  if (!array.writeable())
    throw py::value_error(std::string(op) + ": " + arg + " must be writable");
}

void require_ndim(const py::array& array, int64_t ndim, const char* op, const char* arg) {
  if (array.ndim() != ndim)
    throw py::value_error(std::string(op) + ": " + arg + " must be " + std::to_string(ndim) +
                          "-D, got shape " + shape_string(array));
}

void require_shape(const py::array& array, const std::vector<int64_t>& shape, const char* op,
                   const char* arg) {
  if (shape_of(array) != shape)
    throw py::value_error(std::string(op) + ": " + arg + " must have shape " +
                          shape_string(shape) + ", got " + shape_string(array));
}

void require_float_input(const py::array& array, const char* op, const char* arg) {
  require_float32(array, op, arg);
  require_contiguous(array, op, arg);
}

void require_float_matrix(const py::array& array, const char* op, const char* arg) {
  require_float32(array, op, arg);
  require_ndim(array, 2, op, arg);
  require_contiguous(array, op, arg);
}

py::array as_ndarray(const py::handle& value, const char* op, const char* arg) {
  if (!py::isinstance<py::array>(value))
    throw py::type_error(std::string(op) + ": " + arg + " must be a numpy.ndarray, got " +
                         std::string(py::str(py::type::of(value).attr("__name__"))));
  return py::reinterpret_borrow<py::array>(value);
}

void require_float_output(const py::array& array, const std::vector<int64_t>& shape,
                          const char* op, const char* arg) {
  require_float32(array, op, arg);
  require_contiguous(array, op, arg);
  require_writable(array, op, arg);
  require_shape(array, shape, op, arg);
}

std::vector<int64_t> int_sequence(const py::handle& value, size_t length, int64_t minimum,
                                  const char* op, const char* arg) {
  auto type_name = [](const py::handle item) {
    return std::string(py::str(py::type::of(item).attr("__name__")));
  };
  auto is_int = [](const py::handle item) {
    return PyIndex_Check(item.ptr()) && !py::isinstance<py::bool_>(item);
  };
  const std::string what = std::string(op) + ": " + arg + " must be a sequence of " +
                           std::to_string(length) + " integers";
  if (!py::isinstance<py::sequence>(value) || py::isinstance<py::str>(value))
    throw py::type_error(what + ", got " + type_name(value));
  const py::sequence items = py::reinterpret_borrow<py::sequence>(value);
  if (items.size() != length)
    throw py::value_error(what + ", got " + std::to_string(items.size()) + " of them");
  const std::string given = std::string(py::repr(value));
  std::vector<int64_t> result;
  constexpr int64_t kLimit = int64_t{1} << 31;  // keeps every derived size far from overflow
  for (const py::handle item : items) {
    if (!is_int(item)) throw py::type_error(what + ", got an item of type " + type_name(item));
    const py::object number = py::reinterpret_steal<py::object>(PyNumber_Index(item.ptr()));
    if (!number) throw py::error_already_set();
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(number.ptr(), &overflow);
    if (overflow || v < minimum || v >= kLimit)
      throw py::value_error(what + " in [" + std::to_string(minimum) + ", 2^31), got " + given);
    result.push_back(v);
  }
  return result;
}

Reduction parse_reduction(const std::string& reduction, const char* op) {
  if (reduction == "mean") return Reduction::mean;
  if (reduction == "sum") return Reduction::sum;
  if (reduction == "none") return Reduction::none;
  throw py::value_error(std::string(op) + ": reduction must be 'mean', 'sum' or 'none', got '" +
                        reduction + "'");
}

py::array new_float_array(const std::vector<int64_t>& shape) {
  return py::array(py::dtype::of<float>(), std::vector<py::ssize_t>(shape.begin(), shape.end()));
}

py::array new_line_aligned_float_array(const std::vector<int64_t>& shape) {
  size_t count = 1;
  for (const int64_t extent : shape) count *= static_cast<size_t>(extent);
  const size_t bytes = (std::max<size_t>(count, 1) * sizeof(float) + 63) / 64 * 64;
  void* data = std::aligned_alloc(64, bytes);
  if (!data) throw std::bad_alloc();
  py::capsule owner(data, [](void* memory) { std::free(memory); });
  return py::array(py::dtype::of<float>(), std::vector<py::ssize_t>(shape.begin(), shape.end()),
                   data, owner);
}

py::array new_int64_array(const std::vector<int64_t>& shape) {
  return py::array(py::dtype::of<int64_t>(),
                   std::vector<py::ssize_t>(shape.begin(), shape.end()));
}

}  // namespace cunn::bind
