// sum(x, dims=None, keepdim=False) and max(x, dim, keepdim=False) -> (values,
// indices). dims: None (every axis), an int, or a sequence of ints; negative
// axes count from the end; a 0-d array accepts axis 0 / -1, as PyTorch.
#include <pybind11/stl.h>

#include "bindings/families.h"
#include "bindings/validate.h"
#include "kernels/reduce.h"

namespace cunn::bind {
namespace {

int64_t normalize_dim(int64_t dim, int64_t ndim, const char* op) {
  const int64_t rank = ndim == 0 ? 1 : ndim;
  if (dim < -rank || dim >= rank)
    throw py::index_error(std::string(op) + ": dim must be in [" + std::to_string(-rank) + ", " +
                          std::to_string(rank) + "), got " + std::to_string(dim));
  return dim < 0 ? dim + rank : dim;
}

// Anything with __index__ is an axis (Python and NumPy integers alike).
bool is_axis(const py::handle item) {
  return PyIndex_Check(item.ptr()) && !py::isinstance<py::bool_>(item);
}

std::string type_name(const py::handle item) {
  return std::string(py::str(py::type::of(item).attr("__name__")));
}

// An axis item as an int64; one beyond int64 is out of range for any array (IndexError).
int64_t axis_value(const py::handle item, const char* op) {
  const py::object number = py::reinterpret_steal<py::object>(PyNumber_Index(item.ptr()));
  if (!number) throw py::error_already_set();
  int overflow = 0;
  const long long value = PyLong_AsLongLongAndOverflow(number.ptr(), &overflow);
  if (overflow)
    throw py::index_error(std::string(op) + ": dim " + std::string(py::str(number)) +
                          " is out of range");
  return value;
}

// Flags of the axes to sum (one per axis of x).
std::vector<char> summed_axes(const py::object& dims, int64_t ndim) {
  const char* op = "sum";
  if (dims.is_none()) return std::vector<char>(ndim, 1);
  std::vector<int64_t> list;
  if (is_axis(dims)) {
    list.push_back(axis_value(dims, op));
  } else if (py::isinstance<py::sequence>(dims) && !py::isinstance<py::str>(dims)) {
    for (const py::handle item : dims.cast<py::sequence>()) {
      if (!is_axis(item))
        throw py::type_error(std::string(op) + ": dims must be None, an int or a tuple of "
                             "ints, got an item of type " + type_name(item));
      list.push_back(axis_value(item, op));
    }
  } else {
    throw py::type_error(std::string(op) + ": dims must be None, an int or a tuple of ints, got " +
                         type_name(dims));
  }
  std::vector<char> flags(ndim, 0);
  char scalar_axis = 0;  // a 0-d array's one permitted axis
  for (const int64_t dim : list) {
    const int64_t axis = normalize_dim(dim, ndim, op);
    char& flag = ndim == 0 ? scalar_axis : flags[axis];
    if (flag)
      throw py::value_error(std::string(op) + ": dims must not repeat an axis, got " +
                            std::to_string(dim) + " twice");
    flag = 1;
  }
  return flags;
}

py::array sum(const py::array& x, const py::object& dims, bool keepdim) {
  require_float_input(x, "sum", "x");
  const int64_t ndim = x.ndim();
  const std::vector<char> flags = summed_axes(dims, ndim);
  const std::vector<int64_t> shape = shape_of(x);
  std::vector<int64_t> out_shape;
  for (int64_t d = 0; d < ndim; ++d) {
    if (!flags[d]) out_shape.push_back(shape[d]);
    else if (keepdim) out_shape.push_back(1);
  }
  py::array out = new_float_array(out_shape);
  std::unique_ptr<bool[]> reduced(new bool[std::max<int64_t>(ndim, 1)]);
  for (int64_t d = 0; d < ndim; ++d) reduced[d] = flags[d];
  const float* x_data = cdata_of<float>(x);
  float* out_data = data_of<float>(out);
  {
    py::gil_scoped_release release;
    kernels::sum(x_data, ndim, shape.data(), reduced.get(), out_data);
  }
  return out;
}

py::tuple max(const py::array& x, const py::object& dim_object, bool keepdim) {
  const char* op = "max";
  require_float_input(x, op, "x");
  if (!is_axis(dim_object))
    throw py::type_error(std::string(op) + ": dim must be an int, got " + type_name(dim_object));
  const int64_t dim = axis_value(dim_object, op);
  const int64_t ndim = x.ndim();
  const int64_t axis = normalize_dim(dim, ndim, op);
  int64_t outer = 1, n = 1, inner = 1;
  std::vector<int64_t> out_shape;
  for (int64_t d = 0; d < ndim; ++d) {
    if (d < axis) outer *= x.shape(d);
    else if (d > axis) inner *= x.shape(d);
    else n = x.shape(d);
    if (d != axis) out_shape.push_back(x.shape(d));
    else if (keepdim) out_shape.push_back(1);
  }
  if (n == 0)
    throw py::value_error(std::string(op) + ": dim " + std::to_string(dim) +
                          " has size 0 in x of shape " + shape_string(x) +
                          ", and an empty axis has no maximum");
  py::array values = new_float_array(out_shape);
  py::array indices = new_int64_array(out_shape);
  const float* x_data = cdata_of<float>(x);
  float* values_data = data_of<float>(values);
  int64_t* indices_data = data_of<int64_t>(indices);
  {
    py::gil_scoped_release release;
    kernels::max(x_data, values_data, indices_data, outer, n, inner);
  }
  return py::make_tuple(values, indices);
}

}  // namespace

void bind_reduce(py::module_& m) {
  m.def("sum", &sum, py::arg("x"), py::arg("dims") = py::none(), py::arg("keepdim") = false);
  m.def("max", &max, py::arg("x"), py::arg("dim"), py::arg("keepdim") = false);
}

}  // namespace cunn::bind
