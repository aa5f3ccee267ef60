// linear_chain family bindings: linear_chain_forward, linear_chain_backward. Checks
// every array of every layer (float32, C-contiguous, shapes that chain: layer i takes
// what layer i - 1 gives) before the GIL is released and anything is computed.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bindings/families.h"
#include "bindings/validate.h"
#include "kernels/linear_chain.h"

namespace py = pybind11;

namespace cunn::bind {
namespace {

std::string item(const char* list, size_t index) {
  return std::string(list) + "[" + std::to_string(index) + "]";
}

// The layers described by weights (out, in), biases ((out,) or None entries; null for the
// backward, which needs none) and relus, checked to chain from an input of `in_features`
// columns. `keep` holds the arrays.
std::vector<kernels::ChainLayer> chain_layers(const py::list& weights, const py::list* biases,
                                              const std::vector<bool>& relus,
                                              int64_t in_features, const char* op,
                                              std::vector<py::array>& keep) {
  const size_t count = weights.size();
  if (count == 0) throw py::value_error(std::string(op) + ": weights must not be empty");
  const size_t bias_count = biases ? biases->size() : count;
  if (bias_count != count || relus.size() != count)
    throw py::value_error(std::string(op) + ": weights, biases and relus must have the same "
                          "length, got " + std::to_string(count) + ", " +
                          std::to_string(bias_count) + " and " + std::to_string(relus.size()));
  std::vector<kernels::ChainLayer> layers;
  for (size_t i = 0; i < count; ++i) {
    const std::string weight_name = item("weights", i);
    const InputArray weight(as_ndarray(weights[i], op, weight_name.c_str()));
    require_float_matrix(weight, op, weight_name.c_str());
    if (weight.shape(1) != in_features)
      throw py::value_error(std::string(op) + ": " + weight_name +
                            " must be (out_features, " + std::to_string(in_features) +
                            ") to take the previous layer's output, got " + shape_string(weight));
    const int64_t out_features = weight.shape(0);
    const float* bias_data = nullptr;
    if (biases && !(*biases)[i].is_none()) {
      const std::string bias_name = item("biases", i);
      const InputArray bias(as_ndarray((*biases)[i], op, bias_name.c_str()));
      require_float_input(bias, op, bias_name.c_str());
      require_shape(bias, {out_features}, op, bias_name.c_str());
      bias_data = cdata_of<float>(bias);
      keep.push_back(bias);
    }
    layers.push_back({cdata_of<float>(weight), bias_data, in_features, out_features, relus[i]});
    keep.push_back(weight);
    in_features = out_features;
  }
  return layers;
}

py::tuple linear_chain_forward(const InputArray& x, const py::list& weights,
                               const py::list& biases, const std::vector<bool>& relus) {
  const char* op = "linear_chain_forward";
  require_float_matrix(x, op, "x");
  std::vector<py::array> keep;
  const std::vector<kernels::ChainLayer> layers =
      chain_layers(weights, &biases, relus, x.shape(1), op, keep);
  const int64_t batch = x.shape(0);
  py::list outputs;
  std::vector<float*> output_data;
  for (const kernels::ChainLayer& layer : layers) {
    py::array output = new_line_aligned_float_array({batch, layer.out_features});
    output_data.push_back(data_of<float>(output));
    outputs.append(output);
  }
  const float* x_data = cdata_of<float>(x);
  {
    py::gil_scoped_release release;
    kernels::linear_chain_forward(x_data, batch, layers, output_data);
  }
  return py::make_tuple(outputs[layers.size() - 1], outputs);
}

py::tuple linear_chain_backward(const InputArray& grad_output, const InputArray& x,
                                const py::list& outputs, const py::list& weights,
                                const std::vector<bool>& relus, bool need_x,
                                const std::vector<bool>& need_weights,
                                const std::vector<bool>& need_biases) {
  const char* op = "linear_chain_backward";
  require_float_matrix(x, op, "x");
  const int64_t batch = x.shape(0);
  std::vector<py::array> keep;
  // Biases do not enter the backward; only their presence is asked for, by need_biases.
  const std::vector<kernels::ChainLayer> layers =
      chain_layers(weights, nullptr, relus, x.shape(1), op, keep);
  const size_t count = layers.size();
  if (outputs.size() != count || need_weights.size() != count || need_biases.size() != count)
    throw py::value_error(std::string(op) + ": outputs, need_weights and need_biases must have "
                          "one entry per layer (" + std::to_string(count) + ")");
  std::vector<const float*> output_data;
  for (size_t i = 0; i < count; ++i) {
    const std::string output_name = item("outputs", i);
    const InputArray output(as_ndarray(outputs[i], op, output_name.c_str()));
    require_float_input(output, op, output_name.c_str());
    require_shape(output, {batch, layers[i].out_features}, op, output_name.c_str());
    output_data.push_back(cdata_of<float>(output));
    keep.push_back(output);
  }
  require_float_input(grad_output, op, "grad_output");
  require_shape(grad_output, {batch, layers.back().out_features}, op, "grad_output");

  py::object grad_x = py::none();
  float* grad_x_data = nullptr;
  if (need_x) {
    py::array array = new_float_array({batch, layers.front().in_features});
    grad_x_data = data_of<float>(array);
    grad_x = array;
  }
  py::list grad_weights, grad_biases;
  std::vector<float*> grad_weight_data(count, nullptr), grad_bias_data(count, nullptr);
  for (size_t i = 0; i < count; ++i) {
    if (need_weights[i]) {
      py::array array = new_float_array({layers[i].out_features, layers[i].in_features});
      grad_weight_data[i] = data_of<float>(array);
      grad_weights.append(array);
    } else {
      grad_weights.append(py::none());
    }
    if (need_biases[i]) {
      py::array array = new_float_array({layers[i].out_features});
      grad_bias_data[i] = data_of<float>(array);
      grad_biases.append(array);
    } else {
      grad_biases.append(py::none());
    }
  }
  const float* grad_data = cdata_of<float>(grad_output);
  const float* x_data = cdata_of<float>(x);
  {
    py::gil_scoped_release release;
    kernels::linear_chain_backward(grad_data, x_data, batch, layers, output_data, grad_x_data,
                                   grad_weight_data, grad_bias_data);
  }
  return py::make_tuple(grad_x, grad_weights, grad_biases);
}

}  // namespace

void bind_linear_chain(py::module_& m) {
  m.def("linear_chain_forward", &linear_chain_forward, py::arg("x"), py::arg("weights"),
        py::arg("biases"), py::arg("relus"),
        "(output, outputs): layer i computes h_i = h_{i-1} @ weights[i].T + biases[i], then "
        "ReLU where relus[i]; outputs lists every h_i, output is the last.");
  m.def("linear_chain_backward", &linear_chain_backward, py::arg("grad_output"), py::arg("x"),
        py::arg("outputs"), py::arg("weights"), py::arg("relus"), py::arg("need_x"),
        py::arg("need_weights"), py::arg("need_biases"),
        "(grad_x, grad_weights, grad_biases) of linear_chain_forward, from the outputs it "
        "returned; entries not asked for are None.");
}

}  // namespace cunn::bind
