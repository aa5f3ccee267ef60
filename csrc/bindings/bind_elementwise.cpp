// add / sub / mul / div with NumPy broadcasting. Inputs may have any strides
// (they are read in place, stride 0 on broadcast axes); the output is a new
// C-contiguous float32 array of the broadcast shape.
#include <algorithm>

#include "bindings/families.h"
#include "bindings/validate.h"
#include "kernels/elementwise.h"

namespace cunn::bind {
namespace {

// Outputs up to this many elements are computed without releasing the GIL.
constexpr py::ssize_t kHoldGilMaxElements = 4096;

// Element strides of `array` over the broadcast shape of `ndim` axes
// (right-aligned, 0 where the array has size 1 or lacks the axis).
std::vector<int64_t> broadcast_strides(const py::array& array, int64_t ndim, const char* op,
                                       const char* arg) {
  std::vector<int64_t> strides(ndim, 0);
  const int64_t offset = ndim - array.ndim();
  for (py::ssize_t d = 0; d < array.ndim(); ++d) {
    const py::ssize_t bytes = array.strides(d);
    if (bytes % static_cast<py::ssize_t>(sizeof(float)) != 0)
      throw py::value_error(std::string(op) + ": " + arg +
                            " must have strides that are multiples of 4 bytes");
    strides[offset + d] = array.shape(d) == 1 ? 0 : bytes / static_cast<py::ssize_t>(sizeof(float));
  }
  return strides;
}

// NumPy scalars (np.float32(2)) are accepted as 0-d arrays; anything else that
// is not already an array fails the float32 check rather than being converted.
py::array as_array(const py::object& value) {
  if (py::isinstance<py::array>(value)) return py::reinterpret_borrow<py::array>(value);
  return py::array::ensure(value);
}

py::array binary(kernels::BinaryOp op, const char* name, const py::object& a_value,
                 const py::object& b_value) {
  const InputArray a(as_array(a_value));
  const InputArray b(as_array(b_value));
  require_float32(a, name, "a");
  require_float32(b, name, "b");
  const int64_t ndim = std::max<int64_t>(a.ndim(), b.ndim());
  std::vector<int64_t> shape(ndim, 1);
  for (int64_t d = 0; d < ndim; ++d) {
    const int64_t a_axis = d - (ndim - a.ndim());
    const int64_t b_axis = d - (ndim - b.ndim());
    const int64_t a_size = a_axis >= 0 ? a.shape(a_axis) : 1;
    const int64_t b_size = b_axis >= 0 ? b.shape(b_axis) : 1;
    if (a_size != b_size && a_size != 1 && b_size != 1)
      throw py::value_error(std::string(name) + ": shapes " + shape_string(a) + " and " +
                            shape_string(b) + " cannot be broadcast together");
    shape[d] = a_size == 1 ? b_size : a_size;
  }
  const std::vector<int64_t> a_strides = broadcast_strides(a, ndim, name, "a");
  const std::vector<int64_t> b_strides = broadcast_strides(b, ndim, name, "b");
  py::array out = new_float_array(shape);
  float* out_data = data_of<float>(out);
  const float* a_data = cdata_of<float>(a);
  const float* b_data = cdata_of<float>(b);
  const auto run = [&] {
    kernels::binary(op, ndim, shape.data(), a_data, a_strides.data(), b_data, b_strides.data(),
                    out_data);
  };
  // Releasing and retaking the GIL costs more than adding a few thousand floats, which
  // is a tiny op's whole cost; larger inputs let other Python threads run meanwhile.
  if (out.size() <= kHoldGilMaxElements) {
    run();
  } else {
    py::gil_scoped_release release;
    run();
  }
  return out;
}

}  // namespace

void bind_elementwise(py::module_& m) {
  m.def("add", [](const py::object& a, const py::object& b) {
    return binary(kernels::BinaryOp::add, "add", a, b);
  }, py::arg("a"), py::arg("b"));
  m.def("sub", [](const py::object& a, const py::object& b) {
    return binary(kernels::BinaryOp::sub, "sub", a, b);
  }, py::arg("a"), py::arg("b"));
  m.def("mul", [](const py::object& a, const py::object& b) {
    return binary(kernels::BinaryOp::mul, "mul", a, b);
  }, py::arg("a"), py::arg("b"));
  m.def("div", [](const py::object& a, const py::object& b) {
    return binary(kernels::BinaryOp::div, "div", a, b);
  }, py::arg("a"), py::arg("b"));
}

}  // namespace cunn::bind
