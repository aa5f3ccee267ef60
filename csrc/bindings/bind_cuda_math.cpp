// cunn._C.cuda: gemm (and its batched form), bias, activations, softmax and the losses.
#include <map>

#include "bindings/cuda_args.h"
#include "bindings/cuda_core_parts.h"
#include "cuda/activation.h"
#include "cuda/bias.h"
#include "cuda/gemm.h"
#include "cuda/loss.h"
#include "cuda/softmax.h"

namespace cunn::bind {
namespace {

namespace py = pybind11;
namespace args = cuda_args;
using args::Pointer;
using cunn::cuda::Activation;
using cunn::cuda::PointwiseLoss;

// A row-major matrix stored rows x columns with leading dimension ld (>= columns, >= 1).
void check_leading(std::int64_t ld, std::int64_t columns, const char* op, const char* arg) {
  const std::int64_t least = columns > 1 ? columns : 1;
  if (ld < least)
    args::fail(op, std::string(arg) + " must be >= " + std::to_string(least) + ", got " +
                       std::to_string(ld));
}

struct GemmShape {
  std::int64_t a_count, b_count, c_count;
};

GemmShape check_gemm(const char* op, bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
                     std::int64_t k, std::int64_t lda, std::int64_t ldb, std::int64_t ldc) {
  args::size(m, op, "m");
  args::size(n, op, "n");
  args::size(k, op, "k");
  check_leading(lda, trans_a ? m : k, op, "lda");  // A is stored m x k, or k x m if trans_a
  check_leading(ldb, trans_b ? k : n, op, "ldb");  // B is stored k x n, or n x k if trans_b
  check_leading(ldc, n, op, "ldc");
  return {args::product(m, k, op), args::product(k, n, op), args::product(m, n, op)};
}

void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
          double alpha, Pointer a, std::int64_t lda, Pointer b, std::int64_t ldb, double beta,
          Pointer c, std::int64_t ldc) {
  const char* op = "gemm";
  const GemmShape shape = check_gemm(op, trans_a, trans_b, m, n, k, lda, ldb, ldc);
  cunn::cuda::gemm(trans_a, trans_b, m, n, k, static_cast<float>(alpha),
                   args::required<const float>(a, shape.a_count, op, "a_ptr"), lda,
                   args::required<const float>(b, shape.b_count, op, "b_ptr"), ldb,
                   static_cast<float>(beta), args::required<float>(c, shape.c_count, op, "c_ptr"),
                   ldc);
}

void gemm_strided_batched(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
                          std::int64_t k, double alpha, Pointer a, std::int64_t lda,
                          std::int64_t stride_a, Pointer b, std::int64_t ldb,
                          std::int64_t stride_b, double beta, Pointer c, std::int64_t ldc,
                          std::int64_t stride_c, std::int64_t batch) {
  const char* op = "gemm_strided_batched";
  const GemmShape shape = check_gemm(op, trans_a, trans_b, m, n, k, lda, ldb, ldc);
  args::size(stride_a, op, "stride_a");
  args::size(stride_b, op, "stride_b");
  args::size(stride_c, op, "stride_c");
  args::size(batch, op, "batch");
  const std::int64_t a_count = batch > 0 ? shape.a_count : 0;
  const std::int64_t b_count = batch > 0 ? shape.b_count : 0;
  const std::int64_t c_count = batch > 0 ? shape.c_count : 0;
  cunn::cuda::gemm_strided_batched(
      trans_a, trans_b, m, n, k, static_cast<float>(alpha),
      args::required<const float>(a, a_count, op, "a_ptr"), lda, stride_a,
      args::required<const float>(b, b_count, op, "b_ptr"), ldb, stride_b,
      static_cast<float>(beta), args::required<float>(c, c_count, op, "c_ptr"), ldc, stride_c,
      batch);
}

// outer, channels, inner: sizes of a (outer, channels, inner) view; returns their product.
std::int64_t three_sizes(std::int64_t outer, std::int64_t middle, std::int64_t inner,
                         const char* op, const char* middle_name) {
  args::size(outer, op, "outer");
  args::size(middle, op, middle_name);
  args::size(inner, op, "inner");
  return args::product(args::product(outer, middle, op), inner, op);
}

const std::map<std::string, Activation>& activation_kinds() {
  static const std::map<std::string, Activation> names = {
      {"relu", Activation::relu}, {"leaky_relu", Activation::leaky_relu},
      {"sigmoid", Activation::sigmoid}, {"tanh", Activation::tanh}, {"gelu", Activation::gelu},
      {"elu", Activation::elu}, {"silu", Activation::silu}, {"softplus", Activation::softplus}};
  return names;
}

const std::map<std::string, PointwiseLoss>& loss_kinds() {
  static const std::map<std::string, PointwiseLoss> names = {
      {"mse", PointwiseLoss::mse}, {"l1", PointwiseLoss::l1},
      {"smooth_l1", PointwiseLoss::smooth_l1}, {"huber", PointwiseLoss::huber},
      {"bce", PointwiseLoss::bce}, {"bce_with_logits", PointwiseLoss::bce_with_logits},
      {"kl_div", PointwiseLoss::kl_div}, {"kl_div_log_target", PointwiseLoss::kl_div_log_target}};
  return names;
}

void nll_forward(Pointer losses, Pointer weights, Pointer error, Pointer log_probs,
                 Pointer labels, Pointer class_weight, std::int64_t n, std::int64_t c,
                 std::int64_t ignore_index) {
  const char* op = "nll_forward";
  args::size(n, op, "n");
  args::size(c, op, "c");
  cunn::cuda::nll_forward(args::required<float>(losses, n, op, "losses_ptr"),
                          args::required<float>(weights, n, op, "weights_ptr"),
                          args::required<std::int32_t>(error, n, op, "error_ptr"),
                          args::required<const float>(log_probs, args::product(n, c, op), op,
                                                      "log_probs_ptr"),
                          args::required<const std::int64_t>(labels, n, op, "labels_ptr"),
                          args::optional<const float>(class_weight, op, "class_weight_ptr"), n,
                          c, ignore_index);
}

void nll_backward(Pointer grad_log_probs, Pointer grad_output, std::int64_t grad_output_stride,
                  Pointer divisor, Pointer labels, Pointer class_weight, std::int64_t n,
                  std::int64_t c, std::int64_t ignore_index) {
  const char* op = "nll_backward";
  args::size(n, op, "n");
  args::size(c, op, "c");
  args::size(grad_output_stride, op, "grad_output_stride");
  const std::int64_t count = args::product(n, c, op);
  cunn::cuda::nll_backward(args::required<float>(grad_log_probs, count, op, "grad_log_probs_ptr"),
                           args::required<const float>(grad_output, n, op, "grad_output_ptr"),
                           grad_output_stride,
                           args::optional<const float>(divisor, op, "divisor_ptr"),
                           args::required<const std::int64_t>(labels, n, op, "labels_ptr"),
                           args::optional<const float>(class_weight, op, "class_weight_ptr"), n,
                           c, ignore_index);
}

void pointwise_loss_forward(const std::string& kind, Pointer out, Pointer input, Pointer target,
                            Pointer weight, Pointer pos_weight, std::int64_t count,
                            double param) {
  const char* op = "pointwise_loss_forward";
  const PointwiseLoss loss = args::choice(loss_kinds(), kind, op, "kind");
  args::size(count, op, "count");
  cunn::cuda::pointwise_loss_forward(
      loss, args::required<float>(out, count, op, "out_ptr"),
      args::required<const float>(input, count, op, "input_ptr"),
      args::required<const float>(target, count, op, "target_ptr"),
      args::optional<const float>(weight, op, "weight_ptr"),
      args::optional<const float>(pos_weight, op, "pos_weight_ptr"), count,
      static_cast<float>(param));
}

void pointwise_loss_backward(const std::string& kind, Pointer grad_input, Pointer grad_output,
                             std::int64_t grad_output_stride, Pointer input, Pointer target,
                             Pointer weight, Pointer pos_weight, std::int64_t count,
                             double param, double scale) {
  const char* op = "pointwise_loss_backward";
  const PointwiseLoss loss = args::choice(loss_kinds(), kind, op, "kind");
  args::size(count, op, "count");
  args::size(grad_output_stride, op, "grad_output_stride");
  cunn::cuda::pointwise_loss_backward(
      loss, args::required<float>(grad_input, count, op, "grad_input_ptr"),
      args::required<const float>(grad_output, count, op, "grad_output_ptr"),
      grad_output_stride, args::required<const float>(input, count, op, "input_ptr"),
      args::required<const float>(target, count, op, "target_ptr"),
      args::optional<const float>(weight, op, "weight_ptr"),
      args::optional<const float>(pos_weight, op, "pos_weight_ptr"), count,
      static_cast<float>(param), static_cast<float>(scale));
}

}  // namespace

void bind_cuda_math(py::module_& cuda) {
  cuda.def("gemm", &gemm, py::arg("trans_a"), py::arg("trans_b"), py::arg("m"), py::arg("n"),
           py::arg("k"), py::arg("alpha"), py::arg("a_ptr"), py::arg("lda"), py::arg("b_ptr"),
           py::arg("ldb"), py::arg("beta"), py::arg("c_ptr"), py::arg("ldc"));
  cuda.def("gemm_strided_batched", &gemm_strided_batched, py::arg("trans_a"),
           py::arg("trans_b"), py::arg("m"), py::arg("n"), py::arg("k"), py::arg("alpha"),
           py::arg("a_ptr"), py::arg("lda"), py::arg("stride_a"), py::arg("b_ptr"),
           py::arg("ldb"), py::arg("stride_b"), py::arg("beta"), py::arg("c_ptr"),
           py::arg("ldc"), py::arg("stride_c"), py::arg("batch"));

  cuda.def("bias_add", [](Pointer out, Pointer bias, std::int64_t outer, std::int64_t channels,
                          std::int64_t inner) {
    const char* op = "bias_add";
    const std::int64_t count = three_sizes(outer, channels, inner, op, "channels");
    const float* bias_data =
        args::required<const float>(bias, count > 0 ? channels : 0, op, "bias_ptr");
    cunn::cuda::bias_add(args::required<float>(out, count, op, "out_ptr"), bias_data, outer,
                         channels, inner);
  }, py::arg("out_ptr"), py::arg("bias_ptr"), py::arg("outer"), py::arg("channels"),
     py::arg("inner"));
  cuda.def("bias_grad", [](Pointer out, Pointer grad, std::int64_t outer, std::int64_t channels,
                           std::int64_t inner) {
    const char* op = "bias_grad";
    const std::int64_t count = three_sizes(outer, channels, inner, op, "channels");
    cunn::cuda::bias_grad(args::required<float>(out, channels, op, "out_ptr"),
                          args::required<const float>(grad, count, op, "grad_ptr"), outer,
                          channels, inner);
  }, py::arg("out_ptr"), py::arg("grad_ptr"), py::arg("outer"), py::arg("channels"),
     py::arg("inner"));

  cuda.def("activation_forward", [](const std::string& kind, Pointer out, Pointer x,
                                    std::int64_t count, double param0, double param1) {
    const char* op = "activation_forward";
    const Activation activation = args::choice(activation_kinds(), kind, op, "kind");
    args::size(count, op, "count");
    cunn::cuda::activation_forward(activation, args::required<float>(out, count, op, "out_ptr"),
                                   args::required<const float>(x, count, op, "x_ptr"), count,
                                   static_cast<float>(param0), static_cast<float>(param1));
  }, py::arg("kind"), py::arg("out_ptr"), py::arg("x_ptr"), py::arg("count"),
     py::arg("param0") = 0.0, py::arg("param1") = 0.0);
  cuda.def("activation_backward", [](const std::string& kind, Pointer grad_input,
                                     Pointer grad_output, Pointer saved, std::int64_t count,
                                     double param0, double param1) {
    const char* op = "activation_backward";
    const Activation activation = args::choice(activation_kinds(), kind, op, "kind");
    args::size(count, op, "count");
    cunn::cuda::activation_backward(
        activation, args::required<float>(grad_input, count, op, "grad_input_ptr"),
        args::required<const float>(grad_output, count, op, "grad_output_ptr"),
        args::required<const float>(saved, count, op, "saved_ptr"), count,
        static_cast<float>(param0), static_cast<float>(param1));
  }, py::arg("kind"), py::arg("grad_input_ptr"), py::arg("grad_output_ptr"),
     py::arg("saved_ptr"), py::arg("count"), py::arg("param0") = 0.0, py::arg("param1") = 0.0);

  cuda.def("softmax_forward", [](Pointer out, Pointer x, std::int64_t outer, std::int64_t length,
                                 std::int64_t inner, bool log) {
    const char* op = "softmax_forward";
    const std::int64_t count = three_sizes(outer, length, inner, op, "length");
    cunn::cuda::softmax_forward(args::required<float>(out, count, op, "out_ptr"),
                                args::required<const float>(x, count, op, "x_ptr"), outer,
                                length, inner, log);
  }, py::arg("out_ptr"), py::arg("x_ptr"), py::arg("outer"), py::arg("length"),
     py::arg("inner"), py::arg("log"));
  cuda.def("softmax_backward", [](Pointer grad_input, Pointer grad_output, Pointer output,
                                  std::int64_t outer, std::int64_t length, std::int64_t inner,
                                  bool log) {
    const char* op = "softmax_backward";
    const std::int64_t count = three_sizes(outer, length, inner, op, "length");
    cunn::cuda::softmax_backward(
        args::required<float>(grad_input, count, op, "grad_input_ptr"),
        args::required<const float>(grad_output, count, op, "grad_output_ptr"),
        args::required<const float>(output, count, op, "output_ptr"), outer, length, inner, log);
  }, py::arg("grad_input_ptr"), py::arg("grad_output_ptr"), py::arg("output_ptr"),
     py::arg("outer"), py::arg("length"), py::arg("inner"), py::arg("log"));

  cuda.def("nll_forward", &nll_forward, py::arg("losses_ptr"), py::arg("weights_ptr"),
           py::arg("error_ptr"), py::arg("log_probs_ptr"), py::arg("labels_ptr"),
           py::arg("class_weight_ptr"), py::arg("n"), py::arg("c"), py::arg("ignore_index"));
  cuda.def("nll_backward", &nll_backward, py::arg("grad_log_probs_ptr"),
           py::arg("grad_output_ptr"), py::arg("grad_output_stride"), py::arg("divisor_ptr"),
           py::arg("labels_ptr"), py::arg("class_weight_ptr"), py::arg("n"), py::arg("c"),
           py::arg("ignore_index"));
  cuda.def("pointwise_loss_forward", &pointwise_loss_forward, py::arg("kind"),
           py::arg("out_ptr"), py::arg("input_ptr"), py::arg("target_ptr"),
           py::arg("weight_ptr"), py::arg("pos_weight_ptr"), py::arg("count"), py::arg("param"));
  cuda.def("pointwise_loss_backward", &pointwise_loss_backward, py::arg("kind"),
           py::arg("grad_input_ptr"), py::arg("grad_output_ptr"),
           py::arg("grad_output_stride"), py::arg("input_ptr"), py::arg("target_ptr"),
           py::arg("weight_ptr"), py::arg("pos_weight_ptr"), py::arg("count"), py::arg("param"),
           py::arg("scale"));
}

}  // namespace cunn::bind
