// embedding family: embedding_forward(weight (V, D), indices int64 (*)) -> (*, D) and
// embedding_backward(grad_output (*, D), indices, num_embeddings, padding_idx) -> (V, D).
// float32 / int64, C-contiguous (the cpu adapter copies other layouts). The kernels check
// every index as they read it; a bad one is raised here as an IndexError.
#include "bindings/families.h"
#include "bindings/validate.h"
#include "kernels/embedding.h"

namespace cunn::bind {
namespace {

[[noreturn]] void bad_index(const char* op, const py::array& indices, int64_t position,
                            int64_t num_embeddings) {
  throw py::index_error(std::string(op) + ": indices must be in [0, " +
                        std::to_string(num_embeddings) + "), got " +
                        std::to_string(cdata_of<int64_t>(indices)[position]) +
                        " at flat position " + std::to_string(position));
}

py::array embedding_forward(const InputArray& weight, const InputArray& indices) {
  const char* op = "embedding_forward";
  require_float_matrix(weight, op, "weight");
  require_int64(indices, op, "indices");
  require_contiguous(indices, op, "indices");
  const int64_t num_embeddings = weight.shape(0), dim = weight.shape(1);
  std::vector<int64_t> out_shape = shape_of(indices);
  out_shape.push_back(dim);
  py::array out = new_float_array(out_shape);
  const float* weight_data = cdata_of<float>(weight);
  const int64_t* index_data = cdata_of<int64_t>(indices);
  float* out_data = data_of<float>(out);
  const int64_t count = indices.size();
  int64_t bad;
  {
    py::gil_scoped_release release;
    bad = kernels::embedding_forward(weight_data, num_embeddings, dim, index_data, count,
                                     out_data);
  }
  if (bad >= 0) bad_index(op, indices, bad, num_embeddings);
  return out;
}

py::array embedding_backward(const InputArray& grad_output, const InputArray& indices,
                             int64_t num_embeddings, int64_t padding_idx) {
  const char* op = "embedding_backward";
  require_float_input(grad_output, op, "grad_output");
  require_int64(indices, op, "indices");
  require_contiguous(indices, op, "indices");
  if (num_embeddings < 0)
    throw py::value_error(std::string(op) + ": num_embeddings must be >= 0");
  if (grad_output.ndim() != indices.ndim() + 1)
    throw py::value_error(std::string(op) + ": grad_output must be indices' shape + (D,), got " +
                          shape_string(grad_output) + " for indices " + shape_string(indices));
  for (py::ssize_t axis = 0; axis < indices.ndim(); ++axis)
    if (grad_output.shape(axis) != indices.shape(axis))
      throw py::value_error(std::string(op) + ": grad_output must be indices' shape + (D,), got " +
                            shape_string(grad_output) + " for indices " + shape_string(indices));
  const int64_t dim = grad_output.shape(indices.ndim());
  py::array grad_weight = new_float_array({num_embeddings, dim});
  const float* grad_data = cdata_of<float>(grad_output);
  const int64_t* index_data = cdata_of<int64_t>(indices);
  float* out_data = data_of<float>(grad_weight);
  const int64_t count = indices.size();
  int64_t bad;
  {
    py::gil_scoped_release release;
    bad = kernels::embedding_backward(grad_data, index_data, count, num_embeddings, dim,
                                      padding_idx, out_data);
  }
  if (bad >= 0) bad_index(op, indices, bad, num_embeddings);
  return grad_weight;
}

}  // namespace

void bind_embedding(py::module_& m) {
  m.def("embedding_forward", &embedding_forward, py::arg("weight"), py::arg("indices"),
        "Rows of weight at indices -> indices.shape + (D,).");
  m.def("embedding_backward", &embedding_backward, py::arg("grad_output"), py::arg("indices"),
        py::arg("num_embeddings"), py::arg("padding_idx") = -1,
        "Gradient of embedding_forward with respect to weight (repeated indices add up).");
}

}  // namespace cunn::bind
