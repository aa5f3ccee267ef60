// Loss kernels: cross_entropy, nll_loss (logits / log_probs (N, C), int64
// labels (N,) in [0, C)), mse, l1, binary_cross_entropy(_with_logits) (input
// and target of one shape). Outputs: 0-d loss for mean/sum, (N,) or the
// input's shape for none; grad_output must have the loss's shape.
#include "bindings/families.h"
#include "bindings/validate.h"
#include "kernels/loss.h"

namespace cunn::bind {
namespace {

kernels::LossReduction reduction_of(const std::string& reduction, const char* op) {
  switch (parse_reduction(reduction, op)) {
    case Reduction::mean: return kernels::LossReduction::mean;
    case Reduction::sum: return kernels::LossReduction::sum;
    default: return kernels::LossReduction::none;
  }
}

// (N,) for none, () otherwise.
std::vector<int64_t> loss_shape(kernels::LossReduction reduction,
                                const std::vector<int64_t>& none_shape) {
  return reduction == kernels::LossReduction::none ? none_shape : std::vector<int64_t>{};
}

void require_labels(const py::array& labels, int64_t batch, int64_t classes, const char* op) {
  require_int64(labels, op, "labels");
  require_contiguous(labels, op, "labels");
  require_shape(labels, {batch}, op, "labels");
  const int64_t* data = cdata_of<int64_t>(labels);
  for (int64_t i = 0; i < batch; ++i) {
    if (data[i] < 0 || data[i] >= classes)
      throw py::value_error(std::string(op) + ": labels must be in [0, " +
                            std::to_string(classes) + "), got " + std::to_string(data[i]) +
                            " at index " + std::to_string(i));
  }
}

void require_grad_output(const py::array& grad_output, const std::vector<int64_t>& shape,
                         const char* op) {
  require_float_input(grad_output, op, "grad_output");
  require_shape(grad_output, shape, op, "grad_output");
}

// logits / log_probs: float32, C-contiguous, (N, C).
void require_scores(const py::array& scores, const char* op, const char* arg) {
  require_float_input(scores, op, arg);
  require_ndim(scores, 2, op, arg);
}

py::tuple cross_entropy_forward(const InputArray& logits, const InputArray& labels,
                                const std::string& reduction) {
  const char* op = "cross_entropy_forward";
  require_scores(logits, op, "logits");
  const int64_t batch = logits.shape(0), classes = logits.shape(1);
  require_labels(labels, batch, classes, op);
  const kernels::LossReduction how = reduction_of(reduction, op);
  py::array log_probs = new_float_array({batch, classes});
  py::array loss = new_float_array(loss_shape(how, {batch}));
  const float* logits_data = cdata_of<float>(logits);
  const int64_t* labels_data = cdata_of<int64_t>(labels);
  float* log_probs_data = data_of<float>(log_probs);
  float* loss_data = data_of<float>(loss);
  {
    py::gil_scoped_release release;
    kernels::cross_entropy_forward(logits_data, labels_data, log_probs_data, loss_data, batch,
                                   classes, how);
  }
  return py::make_tuple(loss, log_probs);
}

py::array cross_entropy_backward(const InputArray& grad_output, const InputArray& log_probs,
                                 const InputArray& labels, const std::string& reduction) {
  const char* op = "cross_entropy_backward";
  require_scores(log_probs, op, "log_probs");
  const int64_t batch = log_probs.shape(0), classes = log_probs.shape(1);
  require_labels(labels, batch, classes, op);
  const kernels::LossReduction how = reduction_of(reduction, op);
  require_grad_output(grad_output, loss_shape(how, {batch}), op);
  py::array grad_logits = new_float_array({batch, classes});
  const float* grad_data = cdata_of<float>(grad_output);
  const float* log_probs_data = cdata_of<float>(log_probs);
  const int64_t* labels_data = cdata_of<int64_t>(labels);
  float* out_data = data_of<float>(grad_logits);
  {
    py::gil_scoped_release release;
    kernels::cross_entropy_backward(grad_data, log_probs_data, labels_data, out_data, batch,
                                    classes, how);
  }
  return grad_logits;
}

py::array nll_loss_forward(const InputArray& log_probs, const InputArray& labels,
                           const std::string& reduction) {
  const char* op = "nll_loss_forward";
  require_scores(log_probs, op, "log_probs");
  const int64_t batch = log_probs.shape(0), classes = log_probs.shape(1);
  require_labels(labels, batch, classes, op);
  const kernels::LossReduction how = reduction_of(reduction, op);
  py::array loss = new_float_array(loss_shape(how, {batch}));
  const float* log_probs_data = cdata_of<float>(log_probs);
  const int64_t* labels_data = cdata_of<int64_t>(labels);
  float* loss_data = data_of<float>(loss);
  {
    py::gil_scoped_release release;
    kernels::nll_loss_forward(log_probs_data, labels_data, loss_data, batch, classes, how);
  }
  return loss;
}

py::array nll_loss_backward(const InputArray& grad_output, const InputArray& labels,
                            int64_t num_classes, const std::string& reduction) {
  const char* op = "nll_loss_backward";
  if (num_classes < 0)
    throw py::value_error(std::string(op) + ": num_classes must be >= 0, got " +
                          std::to_string(num_classes));
  require_int64(labels, op, "labels");
  require_ndim(labels, 1, op, "labels");
  const int64_t batch = labels.shape(0);
  require_labels(labels, batch, num_classes, op);
  const kernels::LossReduction how = reduction_of(reduction, op);
  require_grad_output(grad_output, loss_shape(how, {batch}), op);
  py::array grad_log_probs = new_float_array({batch, num_classes});
  const float* grad_data = cdata_of<float>(grad_output);
  const int64_t* labels_data = cdata_of<int64_t>(labels);
  float* out_data = data_of<float>(grad_log_probs);
  {
    py::gil_scoped_release release;
    kernels::nll_loss_backward(grad_data, labels_data, out_data, batch, num_classes, how);
  }
  return grad_log_probs;
}

void require_pair(const py::array& input, const py::array& target, const char* op) {
  require_float_input(input, op, "input");
  require_float_input(target, op, "target");
  require_shape(target, shape_of(input), op, "target");
}

py::array pointwise_forward(kernels::PointwiseLoss kind, const char* op, const InputArray& input,
                            const InputArray& target, const std::string& reduction) {
  require_pair(input, target, op);
  const kernels::LossReduction how = reduction_of(reduction, op);
  if (kind == kernels::PointwiseLoss::binary_cross_entropy) {
    // As PyTorch (and the reference): probabilities only; NaN passes through.
    const float* data = cdata_of<float>(input);
    for (py::ssize_t i = 0; i < input.size(); ++i) {
      if (data[i] < 0.0f || data[i] > 1.0f)
        throw py::value_error(std::string(op) + ": input must hold probabilities in [0, 1], got " +
                              std::to_string(data[i]) + " at flat index " + std::to_string(i));
    }
  }
  py::array loss = new_float_array(loss_shape(how, shape_of(input)));
  const float* input_data = cdata_of<float>(input);
  const float* target_data = cdata_of<float>(target);
  float* loss_data = data_of<float>(loss);
  const int64_t n = input.size();
  {
    py::gil_scoped_release release;
    kernels::pointwise_loss_forward(kind, input_data, target_data, loss_data, n, how);
  }
  return loss;
}

py::array pointwise_backward(kernels::PointwiseLoss kind, const char* op,
                             const InputArray& grad_output, const InputArray& input,
                             const InputArray& target, const std::string& reduction) {
  require_pair(input, target, op);
  const kernels::LossReduction how = reduction_of(reduction, op);
  require_grad_output(grad_output, loss_shape(how, shape_of(input)), op);
  py::array grad_input = new_float_array(shape_of(input));
  const float* grad_data = cdata_of<float>(grad_output);
  const float* input_data = cdata_of<float>(input);
  const float* target_data = cdata_of<float>(target);
  float* out_data = data_of<float>(grad_input);
  const int64_t n = input.size();
  {
    py::gil_scoped_release release;
    kernels::pointwise_loss_backward(kind, grad_data, input_data, target_data, out_data, n, how);
  }
  return grad_input;
}

void bind_pointwise(py::module_& m, kernels::PointwiseLoss kind, const char* forward_name,
                    const char* backward_name) {
  m.def(forward_name, [kind, forward_name](const InputArray& input, const InputArray& target,
                                           const std::string& reduction) {
    return pointwise_forward(kind, forward_name, input, target, reduction);
  }, py::arg("input"), py::arg("target"), py::arg("reduction") = "mean");
  m.def(backward_name, [kind, backward_name](const InputArray& grad_output,
                                             const InputArray& input, const InputArray& target,
                                             const std::string& reduction) {
    return pointwise_backward(kind, backward_name, grad_output, input, target, reduction);
  }, py::arg("grad_output"), py::arg("input"), py::arg("target"), py::arg("reduction") = "mean");
}

}  // namespace

void bind_loss(py::module_& m) {
  m.def("cross_entropy_forward", &cross_entropy_forward, py::arg("logits"), py::arg("labels"),
        py::arg("reduction") = "mean");
  m.def("cross_entropy_backward", &cross_entropy_backward, py::arg("grad_output"),
        py::arg("log_probs"), py::arg("labels"), py::arg("reduction") = "mean");
  m.def("nll_loss_forward", &nll_loss_forward, py::arg("log_probs"), py::arg("labels"),
        py::arg("reduction") = "mean");
  m.def("nll_loss_backward", &nll_loss_backward, py::arg("grad_output"), py::arg("labels"),
        py::arg("num_classes"), py::arg("reduction") = "mean");
  bind_pointwise(m, kernels::PointwiseLoss::mse, "mse_loss_forward", "mse_loss_backward");
  bind_pointwise(m, kernels::PointwiseLoss::l1, "l1_loss_forward", "l1_loss_backward");
  bind_pointwise(m, kernels::PointwiseLoss::binary_cross_entropy,
                 "binary_cross_entropy_forward", "binary_cross_entropy_backward");
  bind_pointwise(m, kernels::PointwiseLoss::binary_cross_entropy_with_logits,
                 "binary_cross_entropy_with_logits_forward",
                 "binary_cross_entropy_with_logits_backward");
}

}  // namespace cunn::bind
