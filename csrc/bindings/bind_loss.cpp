// Loss kernels: cross_entropy, nll_loss (logits / log_probs (N, C), int64
// labels (N,) in [0, C) or equal to ignore_index; cross_entropy also takes
// float32 (N, C) class probabilities; optional per-class weight (C,)), mse, l1,
// smooth_l1, huber, kl_div, binary_cross_entropy(_with_logits) (input and
// target of one shape; optional weight / pos_weight of that shape too).
// Outputs: 0-d loss for mean/sum, (N,) or the input's shape for none;
// grad_output must have the loss's shape. Without options the plain kernels run.
#include "bindings/families.h"
#include "bindings/validate.h"
#include "kernels/loss.h"
#include "kernels/softmax.h"

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

// Returns whether some label equals ignore_index (which is allowed out of range).
bool require_labels(const py::array& labels, int64_t batch, int64_t classes, const char* op,
                    int64_t ignore_index = -100) {
  require_int64(labels, op, "labels");
  require_contiguous(labels, op, "labels");
  require_shape(labels, {batch}, op, "labels");
  const int64_t* data = cdata_of<int64_t>(labels);
  bool ignored = false;
  for (int64_t i = 0; i < batch; ++i) {
    if (data[i] == ignore_index) {
      ignored = true;
      continue;
    }
    if (data[i] < 0 || data[i] >= classes)
      throw py::value_error(std::string(op) + ": labels must be in [0, " +
                            std::to_string(classes) + "), got " + std::to_string(data[i]) +
                            " at index " + std::to_string(i));
  }
  return ignored;
}

// None, or a float32 C-contiguous array of `shape` (kept alive in `keep`, a plain
// object: a default-constructed py::array would allocate an empty array per call).
const float* optional_floats(const py::object& value, const std::vector<int64_t>& shape,
                             const char* op, const char* arg, py::object& keep) {
  if (value.is_none()) return nullptr;
  py::array array = as_ndarray(value, op, arg);
  require_float_input(array, op, arg);
  require_shape(array, shape, op, arg);
  keep = array;
  return cdata_of<float>(array);
}

// The class-loss options from the Python arguments; `target` is int64 labels (N,) or,
// when `allow_probs`, float32 probabilities (N, C). Returns whether any option is in
// effect (otherwise the plain kernel runs).
struct ClassArguments {
  kernels::ClassLossOptions options;
  py::object weight_keep;
  bool used = false;
};

ClassArguments class_arguments(const py::array& target, const py::object& weight,
                               int64_t ignore_index, double label_smoothing, int64_t batch,
                               int64_t classes, bool allow_probs, const char* op) {
  ClassArguments result;
  if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
    throw py::value_error(std::string(op) + ": label_smoothing must be in [0, 1], got " +
                          std::to_string(label_smoothing));
  result.options.weight = optional_floats(weight, {classes}, op, "weight", result.weight_keep);
  result.options.ignore_index = ignore_index;
  result.options.label_smoothing = label_smoothing;
  if (allow_probs && target.dtype().kind() == 'f') {
    require_float_input(target, op, "target");
    require_shape(target, {batch, classes}, op, "target");
    result.options.target_probs = cdata_of<float>(target);
    result.used = true;
  } else {
    const bool ignored = require_labels(target, batch, classes, op, ignore_index);
    result.options.labels = cdata_of<int64_t>(target);
    result.used = ignored || result.options.weight != nullptr || label_smoothing != 0.0;
  }
  return result;
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

py::tuple cross_entropy_forward(const py::array& logits, const py::array& labels,
                                const std::string& reduction, const py::object& weight,
                                int64_t ignore_index, double label_smoothing) {
  const char* op = "cross_entropy_forward";
  require_scores(logits, op, "logits");
  const int64_t batch = logits.shape(0), classes = logits.shape(1);
  const ClassArguments arguments = class_arguments(labels, weight, ignore_index,
                                                   label_smoothing, batch, classes, true, op);
  const kernels::LossReduction how = reduction_of(reduction, op);
  if (arguments.used) {
    py::array log_probs = new_float_array({batch, classes});
    py::array loss = new_float_array(loss_shape(how, {batch}));
    const float* logits_data = cdata_of<float>(logits);
    float* log_probs_data = data_of<float>(log_probs);
    float* loss_data = data_of<float>(loss);
    {
      py::gil_scoped_release release;
      kernels::log_softmax_forward(logits_data, log_probs_data, batch, classes, 1);
      kernels::class_loss_forward(log_probs_data, arguments.options, loss_data, batch, classes,
                                  how);
    }
    return py::make_tuple(loss, log_probs);
  }
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

py::array cross_entropy_backward(const py::array& grad_output, const py::array& log_probs,
                                 const py::array& labels, const std::string& reduction,
                                 const py::object& weight, int64_t ignore_index,
                                 double label_smoothing) {
  const char* op = "cross_entropy_backward";
  require_scores(log_probs, op, "log_probs");
  const int64_t batch = log_probs.shape(0), classes = log_probs.shape(1);
  const ClassArguments arguments = class_arguments(labels, weight, ignore_index,
                                                   label_smoothing, batch, classes, true, op);
  const kernels::LossReduction how = reduction_of(reduction, op);
  require_grad_output(grad_output, loss_shape(how, {batch}), op);
  py::array grad_logits = new_float_array({batch, classes});
  if (arguments.used) {
    const float* grad_data = cdata_of<float>(grad_output);
    const float* log_probs_data = cdata_of<float>(log_probs);
    float* out_data = data_of<float>(grad_logits);
    py::gil_scoped_release release;
    kernels::class_loss_backward(grad_data, log_probs_data, arguments.options, out_data, batch,
                                 classes, how, true);
    return grad_logits;
  }
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

py::array nll_loss_forward(const py::array& log_probs, const py::array& labels,
                           const std::string& reduction, const py::object& weight,
                           int64_t ignore_index) {
  const char* op = "nll_loss_forward";
  require_scores(log_probs, op, "log_probs");
  const int64_t batch = log_probs.shape(0), classes = log_probs.shape(1);
  const ClassArguments arguments = class_arguments(labels, weight, ignore_index, 0.0, batch,
                                                   classes, false, op);
  const kernels::LossReduction how = reduction_of(reduction, op);
  py::array loss = new_float_array(loss_shape(how, {batch}));
  const float* log_probs_data = cdata_of<float>(log_probs);
  const int64_t* labels_data = cdata_of<int64_t>(labels);
  float* loss_data = data_of<float>(loss);
  {
    py::gil_scoped_release release;
    if (arguments.used)
      kernels::class_loss_forward(log_probs_data, arguments.options, loss_data, batch, classes,
                                  how);
    else
      kernels::nll_loss_forward(log_probs_data, labels_data, loss_data, batch, classes, how);
  }
  return loss;
}

py::array nll_loss_backward(const py::array& grad_output, const py::array& labels,
                            int64_t num_classes, const std::string& reduction,
                            const py::object& weight, int64_t ignore_index) {
  const char* op = "nll_loss_backward";
  if (num_classes < 0)
    throw py::value_error(std::string(op) + ": num_classes must be >= 0, got " +
                          std::to_string(num_classes));
  require_int64(labels, op, "labels");
  require_ndim(labels, 1, op, "labels");
  const int64_t batch = labels.shape(0);
  const ClassArguments arguments = class_arguments(labels, weight, ignore_index, 0.0, batch,
                                                   num_classes, false, op);
  const kernels::LossReduction how = reduction_of(reduction, op);
  require_grad_output(grad_output, loss_shape(how, {batch}), op);
  py::array grad_log_probs = new_float_array({batch, num_classes});
  const float* grad_data = cdata_of<float>(grad_output);
  const int64_t* labels_data = cdata_of<int64_t>(labels);
  float* out_data = data_of<float>(grad_log_probs);
  {
    py::gil_scoped_release release;
    if (arguments.used)
      kernels::class_loss_backward(grad_data, nullptr, arguments.options, out_data, batch,
                                   num_classes, how, false);
    else
      kernels::nll_loss_backward(grad_data, labels_data, out_data, batch, num_classes, how);
  }
  return grad_log_probs;
}

void require_pair(const py::array& input, const py::array& target, const char* op) {
  require_float_input(input, op, "input");
  require_float_input(target, op, "target");
  require_shape(target, shape_of(input), op, "target");
}

// The pointwise options; the arrays they point into are kept alive in `keep`.
struct PointwiseArguments {
  kernels::PointwiseOptions options;
  py::object weight_keep, pos_weight_keep;
};

PointwiseArguments pointwise_arguments(const py::array& input, double parameter,
                                       const py::object& weight, const py::object& pos_weight,
                                       const char* op) {
  PointwiseArguments result;
  result.options.parameter = static_cast<float>(parameter);
  result.options.weight = optional_floats(weight, shape_of(input), op, "weight",
                                          result.weight_keep);
  result.options.pos_weight = optional_floats(pos_weight, shape_of(input), op, "pos_weight",
                                              result.pos_weight_keep);
  return result;
}

py::array pointwise_forward(kernels::PointwiseLoss kind, const char* op, const py::array& input,
                            const py::array& target, const std::string& reduction,
                            const kernels::PointwiseOptions& options = {}) {
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
    kernels::pointwise_loss_forward(kind, input_data, target_data, loss_data, n, how, options);
  }
  return loss;
}

py::array pointwise_backward(kernels::PointwiseLoss kind, const char* op,
                             const py::array& grad_output, const py::array& input,
                             const py::array& target, const std::string& reduction,
                             const kernels::PointwiseOptions& options = {}) {
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
    kernels::pointwise_loss_backward(kind, grad_data, input_data, target_data, out_data, n, how,
                                     options);
  }
  return grad_input;
}

void bind_pointwise(py::module_& m, kernels::PointwiseLoss kind, const char* forward_name,
                    const char* backward_name) {
  m.def(forward_name, [kind, forward_name](const py::array& input, const py::array& target,
                                           const std::string& reduction) {
    return pointwise_forward(kind, forward_name, input, target, reduction);
  }, py::arg("input"), py::arg("target"), py::arg("reduction") = "mean");
  m.def(backward_name, [kind, backward_name](const py::array& grad_output,
                                             const py::array& input, const py::array& target,
                                             const std::string& reduction) {
    return pointwise_backward(kind, backward_name, grad_output, input, target, reduction);
  }, py::arg("grad_output"), py::arg("input"), py::arg("target"), py::arg("reduction") = "mean");
}

// A pointwise loss with one number option (beta, delta): name(input, target,
// reduction, parameter_name).
void bind_parameterised(py::module_& m, kernels::PointwiseLoss kind, const char* forward_name,
                        const char* backward_name, const char* parameter_name) {
  m.def(forward_name, [kind, forward_name](const py::array& input, const py::array& target,
                                           const std::string& reduction, double parameter) {
    const PointwiseArguments arguments = pointwise_arguments(input, parameter, py::none(),
                                                             py::none(), forward_name);
    return pointwise_forward(kind, forward_name, input, target, reduction, arguments.options);
  }, py::arg("input"), py::arg("target"), py::arg("reduction") = "mean",
     py::arg(parameter_name) = 1.0);
  m.def(backward_name, [kind, backward_name](const py::array& grad_output,
                                             const py::array& input, const py::array& target,
                                             const std::string& reduction, double parameter) {
    const PointwiseArguments arguments = pointwise_arguments(input, parameter, py::none(),
                                                             py::none(), backward_name);
    return pointwise_backward(kind, backward_name, grad_output, input, target, reduction,
                              arguments.options);
  }, py::arg("grad_output"), py::arg("input"), py::arg("target"), py::arg("reduction") = "mean",
     py::arg(parameter_name) = 1.0);
}

// The binary cross-entropies with their optional weight (and pos_weight with logits).
void bind_weighted(py::module_& m, kernels::PointwiseLoss kind, const char* forward_name,
                   const char* backward_name) {
  m.def(forward_name, [kind, forward_name](const py::array& input, const py::array& target,
                                           const std::string& reduction,
                                           const py::object& weight,
                                           const py::object& pos_weight) {
    const PointwiseArguments arguments = pointwise_arguments(input, 0.0, weight, pos_weight,
                                                             forward_name);
    return pointwise_forward(kind, forward_name, input, target, reduction, arguments.options);
  }, py::arg("input"), py::arg("target"), py::arg("reduction") = "mean",
     py::arg("weight") = py::none(), py::arg("pos_weight") = py::none());
  m.def(backward_name, [kind, backward_name](const py::array& grad_output,
                                             const py::array& input, const py::array& target,
                                             const std::string& reduction,
                                             const py::object& weight,
                                             const py::object& pos_weight) {
    const PointwiseArguments arguments = pointwise_arguments(input, 0.0, weight, pos_weight,
                                                             backward_name);
    return pointwise_backward(kind, backward_name, grad_output, input, target, reduction,
                              arguments.options);
  }, py::arg("grad_output"), py::arg("input"), py::arg("target"), py::arg("reduction") = "mean",
     py::arg("weight") = py::none(), py::arg("pos_weight") = py::none());
}

}  // namespace

void bind_loss(py::module_& m) {
  m.def("cross_entropy_forward", &cross_entropy_forward, py::arg("logits"), py::arg("labels"),
        py::arg("reduction") = "mean", py::arg("weight") = py::none(),
        py::arg("ignore_index") = -100, py::arg("label_smoothing") = 0.0);
  m.def("cross_entropy_backward", &cross_entropy_backward, py::arg("grad_output"),
        py::arg("log_probs"), py::arg("labels"), py::arg("reduction") = "mean",
        py::arg("weight") = py::none(), py::arg("ignore_index") = -100,
        py::arg("label_smoothing") = 0.0);
  m.def("nll_loss_forward", &nll_loss_forward, py::arg("log_probs"), py::arg("labels"),
        py::arg("reduction") = "mean", py::arg("weight") = py::none(),
        py::arg("ignore_index") = -100);
  m.def("nll_loss_backward", &nll_loss_backward, py::arg("grad_output"), py::arg("labels"),
        py::arg("num_classes"), py::arg("reduction") = "mean", py::arg("weight") = py::none(),
        py::arg("ignore_index") = -100);
  bind_pointwise(m, kernels::PointwiseLoss::mse, "mse_loss_forward", "mse_loss_backward");
  bind_pointwise(m, kernels::PointwiseLoss::l1, "l1_loss_forward", "l1_loss_backward");
  bind_weighted(m, kernels::PointwiseLoss::binary_cross_entropy,
                "binary_cross_entropy_forward", "binary_cross_entropy_backward");
  bind_weighted(m, kernels::PointwiseLoss::binary_cross_entropy_with_logits,
                "binary_cross_entropy_with_logits_forward",
                "binary_cross_entropy_with_logits_backward");
  bind_parameterised(m, kernels::PointwiseLoss::smooth_l1, "smooth_l1_loss_forward",
                     "smooth_l1_loss_backward", "beta");
  bind_parameterised(m, kernels::PointwiseLoss::huber, "huber_loss_forward",
                     "huber_loss_backward", "delta");
  // kl_div(input, target, reduction, log_target): two kinds, chosen by the flag.
  m.def("kl_div_forward", [](const py::array& input, const py::array& target,
                             const std::string& reduction, bool log_target) {
    return pointwise_forward(log_target ? kernels::PointwiseLoss::kl_div_log_target
                                        : kernels::PointwiseLoss::kl_div,
                             "kl_div_forward", input, target, reduction);
  }, py::arg("input"), py::arg("target"), py::arg("reduction") = "mean",
     py::arg("log_target") = false);
  m.def("kl_div_backward", [](const py::array& grad_output, const py::array& input,
                              const py::array& target, const std::string& reduction,
                              bool log_target) {
    return pointwise_backward(log_target ? kernels::PointwiseLoss::kl_div_log_target
                                         : kernels::PointwiseLoss::kl_div,
                              "kl_div_backward", grad_output, input, target, reduction);
  }, py::arg("grad_output"), py::arg("input"), py::arg("target"), py::arg("reduction") = "mean",
     py::arg("log_target") = false);
}

}  // namespace cunn::bind
