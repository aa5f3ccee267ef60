// Optimizer steps over lists of arrays: sgd_step_, adam_step_, rmsprop_step_,
// adadelta_step_, adagrad_step_.
// Every list element is checked (float32, C-contiguous, writable unless it is a
// gradient, the parameter's shape) and errors name the op, the list and the
// index: "adam_step_: exp_avgs[3] must have shape (128,), got (10,)".
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "bindings/families.h"
#include "bindings/validate.h"
#include "kernels/optim.h"

namespace py = pybind11;

namespace cunn::bind {
namespace {

// The arrays of one list argument, owned here so that they stay alive while
// the GIL is released even if the caller's list is mutated meanwhile.
struct ArrayList {
  std::vector<py::array> arrays;
  float* mutable_data(size_t i) { return data_of<float>(arrays[i]); }
  const float* data(size_t i) const { return cdata_of<float>(arrays[i]); }
};

ArrayList take_list(const py::object& list, const char* op, const char* name) {
  if (!py::isinstance<py::list>(list) && !py::isinstance<py::tuple>(list))
    throw py::type_error(std::string(op) + ": " + name + " must be a list of arrays, got " +
                         py::str(py::type::of(list).attr("__name__")).cast<std::string>());
  ArrayList result;
  for (const py::handle item : list) {
    if (!py::isinstance<py::array>(item))
      throw py::type_error(std::string(op) + ": " + name + "[" +
                           std::to_string(result.arrays.size()) + "] must be a numpy array, got " +
                           py::str(py::type::of(item).attr("__name__")).cast<std::string>());
    result.arrays.push_back(py::reinterpret_borrow<py::array>(item));
  }
  return result;
}

void require_length(const ArrayList& list, size_t length, const char* op, const char* name,
                    const char* expected_from) {
  if (list.arrays.size() != length)
    throw py::value_error(std::string(op) + ": " + name + " must have one array per " +
                          expected_from + " (" + std::to_string(length) + "), got " +
                          std::to_string(list.arrays.size()));
}

// Whether `array` passes every check below; the messages (which need the
// argument's name, "exp_avgs[3]") are only built for an array that fails.
bool is_ready(const py::array& array, const std::vector<int64_t>* shape, bool writable) {
  const auto flags = array.flags();
  if (!(flags & py::array::c_style) || (writable && !array.writeable())) return false;
  const py::dtype dtype = array.dtype();
  // A byte-swapped float32 ('>f4' here) fails too; require_float32 then refuses it.
  const char order = dtype.byteorder();
  if (dtype.kind() != 'f' || dtype.itemsize() != 4 || (order != '=' && order != '|'))
    return false;
  if (shape == nullptr) return true;
  if (static_cast<size_t>(array.ndim()) != shape->size()) return false;
  for (size_t d = 0; d < shape->size(); ++d)
    if (array.shape(static_cast<py::ssize_t>(d)) != (*shape)[d]) return false;
  return true;
}

std::string element_name(const char* name, size_t index) {
  return std::string(name) + "[" + std::to_string(index) + "]";
}

// params: in-place float32 arrays; the others must match them one to one.
std::vector<std::vector<int64_t>> check_params(const ArrayList& params, const char* op) {
  std::vector<std::vector<int64_t>> shapes;
  shapes.reserve(params.arrays.size());
  for (size_t i = 0; i < params.arrays.size(); ++i) {
    const py::array& param = params.arrays[i];
    if (!is_ready(param, nullptr, true)) {
      const std::string arg = element_name("params", i);
      require_float32(param, op, arg.c_str());
      require_contiguous(param, op, arg.c_str());
      require_writable(param, op, arg.c_str());
    }
    shapes.push_back(shape_of(param));
  }
  return shapes;
}

void check_grads(const ArrayList& grads, const std::vector<std::vector<int64_t>>& shapes,
                 const char* op) {
  require_length(grads, shapes.size(), op, "grads", "parameter");
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (is_ready(grads.arrays[i], &shapes[i], false)) continue;
    const std::string arg = element_name("grads", i);
    require_float_input(grads.arrays[i], op, arg.c_str());
    require_shape(grads.arrays[i], shapes[i], op, arg.c_str());
  }
}

void check_states(const ArrayList& states, const std::vector<std::vector<int64_t>>& shapes,
                  const char* op, const char* name) {
  require_length(states, shapes.size(), op, name, "parameter");
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (is_ready(states.arrays[i], &shapes[i], true)) continue;
    const std::string arg = element_name(name, i);
    require_float_output(states.arrays[i], shapes[i], op, arg.c_str());
  }
}

// An optional state list: empty when the option is off, one per parameter otherwise.
void check_optional_states(const ArrayList& states, bool used,
                           const std::vector<std::vector<int64_t>>& shapes, const char* op,
                           const char* name, const char* when) {
  if (used) {
    check_states(states, shapes, op, name);
  } else if (!states.arrays.empty()) {
    throw py::value_error(std::string(op) + ": " + name + " must be empty " + when + ", got " +
                          std::to_string(states.arrays.size()) + " arrays");
  }
}

void sgd_step_(const py::object& params_list, const py::object& grads_list,
               const py::object& buffers_list, double lr, double momentum, double dampening,
               double weight_decay, bool nesterov, bool first_step) {
  const char* op = "sgd_step_";
  ArrayList params = take_list(params_list, op, "params");
  ArrayList grads = take_list(grads_list, op, "grads");
  ArrayList buffers = take_list(buffers_list, op, "momentum_buffers");
  const auto shapes = check_params(params, op);
  check_grads(grads, shapes, op);
  const bool use_momentum = momentum != 0.0;
  check_optional_states(buffers, use_momentum, shapes, op, "momentum_buffers",
                        "when momentum == 0");
  std::vector<kernels::SgdTensor> tensors(shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i)
    tensors[i] = {params.mutable_data(i), grads.data(i),
                  use_momentum ? buffers.mutable_data(i) : nullptr,
                  static_cast<int64_t>(params.arrays[i].size())};
  py::gil_scoped_release release;
  kernels::sgd_step(tensors, lr, momentum, dampening, weight_decay, nesterov, first_step);
}

void adam_step_(const py::object& params_list, const py::object& grads_list,
                const py::object& exp_avgs_list, const py::object& exp_avg_sqs_list, double lr,
                double beta1, double beta2, double eps, double weight_decay, int64_t step,
                bool decoupled_weight_decay, const py::object& max_exp_avg_sqs_list) {
  const char* op = "adam_step_";
  if (step < 1)
    throw py::value_error("adam_step_: step must be >= 1, got " + std::to_string(step));
  ArrayList params = take_list(params_list, op, "params");
  ArrayList grads = take_list(grads_list, op, "grads");
  ArrayList exp_avgs = take_list(exp_avgs_list, op, "exp_avgs");
  ArrayList exp_avg_sqs = take_list(exp_avg_sqs_list, op, "exp_avg_sqs");
  ArrayList max_exp_avg_sqs = take_list(max_exp_avg_sqs_list, op, "max_exp_avg_sqs");
  const auto shapes = check_params(params, op);
  check_grads(grads, shapes, op);
  check_states(exp_avgs, shapes, op, "exp_avgs");
  check_states(exp_avg_sqs, shapes, op, "exp_avg_sqs");
  // amsgrad is on exactly when the list is not empty.
  const bool amsgrad = !max_exp_avg_sqs.arrays.empty();
  if (amsgrad) check_states(max_exp_avg_sqs, shapes, op, "max_exp_avg_sqs");
  std::vector<kernels::AdamTensor> tensors(shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i)
    tensors[i] = {params.mutable_data(i), grads.data(i), exp_avgs.mutable_data(i),
                  exp_avg_sqs.mutable_data(i), amsgrad ? max_exp_avg_sqs.mutable_data(i) : nullptr,
                  static_cast<int64_t>(params.arrays[i].size())};
  py::gil_scoped_release release;
  kernels::adam_step(tensors, lr, beta1, beta2, eps, weight_decay, step, decoupled_weight_decay);
}

void rmsprop_step_(const py::object& params_list, const py::object& grads_list,
                   const py::object& square_avgs_list, const py::object& buffers_list,
                   const py::object& grad_avgs_list, double lr, double alpha, double eps,
                   double weight_decay, double momentum, bool centered) {
  const char* op = "rmsprop_step_";
  ArrayList params = take_list(params_list, op, "params");
  ArrayList grads = take_list(grads_list, op, "grads");
  ArrayList square_avgs = take_list(square_avgs_list, op, "square_avgs");
  ArrayList buffers = take_list(buffers_list, op, "momentum_buffers");
  ArrayList grad_avgs = take_list(grad_avgs_list, op, "grad_avgs");
  const auto shapes = check_params(params, op);
  check_grads(grads, shapes, op);
  check_states(square_avgs, shapes, op, "square_avgs");
  const bool use_momentum = momentum > 0.0;
  check_optional_states(buffers, use_momentum, shapes, op, "momentum_buffers",
                        "when momentum <= 0");
  check_optional_states(grad_avgs, centered, shapes, op, "grad_avgs", "unless centered");
  std::vector<kernels::RmspropTensor> tensors(shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i)
    tensors[i] = {params.mutable_data(i), grads.data(i), square_avgs.mutable_data(i),
                  use_momentum ? buffers.mutable_data(i) : nullptr,
                  centered ? grad_avgs.mutable_data(i) : nullptr,
                  static_cast<int64_t>(params.arrays[i].size())};
  py::gil_scoped_release release;
  kernels::rmsprop_step(tensors, lr, alpha, eps, weight_decay, momentum, centered);
}

void adadelta_step_(const py::object& params_list, const py::object& grads_list,
                    const py::object& square_avgs_list, const py::object& acc_deltas_list,
                    double lr, double rho, double eps, double weight_decay) {
  const char* op = "adadelta_step_";
  ArrayList params = take_list(params_list, op, "params");
  ArrayList grads = take_list(grads_list, op, "grads");
  ArrayList square_avgs = take_list(square_avgs_list, op, "square_avgs");
  ArrayList acc_deltas = take_list(acc_deltas_list, op, "acc_deltas");
  const auto shapes = check_params(params, op);
  check_grads(grads, shapes, op);
  check_states(square_avgs, shapes, op, "square_avgs");
  check_states(acc_deltas, shapes, op, "acc_deltas");
  std::vector<kernels::AdadeltaTensor> tensors(shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i)
    tensors[i] = {params.mutable_data(i), grads.data(i), square_avgs.mutable_data(i),
                  acc_deltas.mutable_data(i), static_cast<int64_t>(params.arrays[i].size())};
  py::gil_scoped_release release;
  kernels::adadelta_step(tensors, lr, rho, eps, weight_decay);
}

void adagrad_step_(const py::object& params_list, const py::object& grads_list,
                   const py::object& sums_list, double lr, double lr_decay, double weight_decay,
                   double eps, int64_t step) {
  const char* op = "adagrad_step_";
  if (step < 1)
    throw py::value_error("adagrad_step_: step must be >= 1, got " + std::to_string(step));
  ArrayList params = take_list(params_list, op, "params");
  ArrayList grads = take_list(grads_list, op, "grads");
  ArrayList sums = take_list(sums_list, op, "state_sums");
  const auto shapes = check_params(params, op);
  check_grads(grads, shapes, op);
  check_states(sums, shapes, op, "state_sums");
  std::vector<kernels::AdagradTensor> tensors(shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i)
    tensors[i] = {params.mutable_data(i), grads.data(i), sums.mutable_data(i),
                  static_cast<int64_t>(params.arrays[i].size())};
  py::gil_scoped_release release;
  kernels::adagrad_step(tensors, lr, lr_decay, weight_decay, eps, step);
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("sgd_step_", &sgd_step_, py::arg("params"), py::arg("grads"),
        py::arg("momentum_buffers"), py::arg("lr"), py::arg("momentum"), py::arg("dampening"),
        py::arg("weight_decay"), py::arg("nesterov"), py::arg("first_step"),
        "SGD step in place over lists of float32 arrays (PyTorch's rule).");
  m.def("adam_step_", &adam_step_, py::arg("params"), py::arg("grads"), py::arg("exp_avgs"),
        py::arg("exp_avg_sqs"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"),
        py::arg("eps"), py::arg("weight_decay"), py::arg("step"),
        py::arg("decoupled_weight_decay"), py::arg("max_exp_avg_sqs") = py::list(),
        "Adam (AdamW when decoupled_weight_decay) step in place; step counts from 1; "
        "amsgrad when max_exp_avg_sqs is not empty.");
  m.def("rmsprop_step_", &rmsprop_step_, py::arg("params"), py::arg("grads"),
        py::arg("square_avgs"), py::arg("momentum_buffers"), py::arg("grad_avgs"), py::arg("lr"),
        py::arg("alpha"), py::arg("eps"), py::arg("weight_decay"), py::arg("momentum"),
        py::arg("centered"), "RMSprop step in place over lists of float32 arrays.");
  m.def("adadelta_step_", &adadelta_step_, py::arg("params"), py::arg("grads"),
        py::arg("square_avgs"), py::arg("acc_deltas"), py::arg("lr"), py::arg("rho"),
        py::arg("eps"), py::arg("weight_decay"),
        "Adadelta step in place over lists of float32 arrays (PyTorch's rule).");
  m.def("adagrad_step_", &adagrad_step_, py::arg("params"), py::arg("grads"),
        py::arg("state_sums"), py::arg("lr"), py::arg("lr_decay"), py::arg("weight_decay"),
        py::arg("eps"), py::arg("step"),
        "Adagrad step in place over lists of float32 arrays; step counts from 1.");
}

}  // namespace cunn::bind
