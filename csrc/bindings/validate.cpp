#include "bindings/validate.h"

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
  if (array.dtype().kind() != 'i' || array.itemsize() != 8) type_error(op, arg, "int64", array);
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

void require_float_output(const py::array& array, const std::vector<int64_t>& shape,
                          const char* op, const char* arg) {
  require_float32(array, op, arg);
  require_contiguous(array, op, arg);
  require_writable(array, op, arg);
  require_shape(array, shape, op, arg);
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

py::array new_int64_array(const std::vector<int64_t>& shape) {
  return py::array(py::dtype::of<int64_t>(),
                   std::vector<py::ssize_t>(shape.begin(), shape.end()));
}

}  // namespace cunn::bind
