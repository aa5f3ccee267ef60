// normalize_images(images, indices, mean, std): the fused gather + ToTensor +
// Normalize of cunn/data (math in kernels/image_batch.h). images uint8
// C-contiguous (N, ...), never copied (it is the whole dataset); indices int64
// 1-D, each in [0, N), all checked before any memory is read; std != 0.
// Returns a new float32 (len(indices), *images.shape[1:]).
#include <cmath>
#include <string>

#include "bindings/families.h"
#include "bindings/validate.h"
#include "kernels/image_batch.h"

namespace cunn::bind {
namespace {

constexpr const char* kOp = "normalize_images";

py::array as_array(const py::object& value, const char* arg) {
  if (!py::isinstance<py::array>(value))
    throw py::type_error(std::string(kOp) + ": " + arg + " must be a NumPy array, got " +
                         py::str(py::type::handle_of(value).attr("__name__")).cast<std::string>());
  return py::reinterpret_borrow<py::array>(value);
}

float as_float(const py::object& value, const char* arg) {
  // Python float/int and NumPy scalars; bool and strings are refused.
  const bool number = !py::isinstance<py::bool_>(value) &&
                      (py::isinstance<py::float_>(value) || py::isinstance<py::int_>(value) ||
                       py::hasattr(value, "__float__")) &&
                      !py::isinstance<py::str>(value) && !py::isinstance<py::array>(value);
  if (!number)
    throw py::type_error(std::string(kOp) + ": " + arg + " must be a float, got " +
                         py::str(py::type::handle_of(value).attr("__name__")).cast<std::string>());
  // double -> float rounds to nearest, as NumPy's astype(float32) in Normalize.
  return static_cast<float>(value.cast<double>());
}

}  // namespace

void bind_image_batch(py::module_& m) {
  m.def("normalize_images", [](const py::object& images_object, const py::object& indices_object,
                               const py::object& mean_object, const py::object& std_object) {
    const InputArray images(as_array(images_object, "images"));
    const InputArray indices(as_array(indices_object, "indices"));
    if (!(images.dtype().kind() == 'u' && images.itemsize() == 1))
      throw py::type_error(std::string(kOp) + ": images must be uint8, got " +
                           py::str(images.dtype()).cast<std::string>());
    if (images.ndim() < 1)
      throw py::value_error(std::string(kOp) +
                            ": images must have a leading (item) axis, got a 0-d array");
    require_contiguous(images, kOp, "images");
    require_int64(indices, kOp, "indices");
    require_ndim(indices, 1, kOp, "indices");
    require_contiguous(indices, kOp, "indices");
    const float mean = as_float(mean_object, "mean");
    const float std = as_float(std_object, "std");
    if (std == 0.0f)
      throw py::value_error(std::string(kOp) + ": std must be non-zero (as float32), got " +
                            py::str(std_object).cast<std::string>());

    const int64_t count = images.shape(0);
    const int64_t batch = indices.shape(0);
    const int64_t* index_data = cdata_of<int64_t>(indices);
    for (int64_t b = 0; b < batch; ++b) {
      if (index_data[b] < 0 || index_data[b] >= count)
        throw py::value_error(std::string(kOp) + ": indices must lie in [0, " +
                              std::to_string(count) + "), got " + std::to_string(index_data[b]) +
                              " at position " + std::to_string(b));
    }
    std::vector<int64_t> shape = shape_of(images);
    shape[0] = batch;
    int64_t row = 1;
    for (size_t axis = 1; axis < shape.size(); ++axis) row *= shape[axis];
    py::array out = new_float_array(shape);
    const uint8_t* image_data = cdata_of<uint8_t>(images);
    float* out_data = data_of<float>(out);
    {
      py::gil_scoped_release release;
      kernels::normalize_images(image_data, row, index_data, batch, mean, std, out_data);
    }
    return out;
  }, py::arg("images"), py::arg("indices"), py::arg("mean"), py::arg("std"));
}

}  // namespace cunn::bind
