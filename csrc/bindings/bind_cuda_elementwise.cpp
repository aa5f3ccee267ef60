// cunn._C.cuda: elementwise kernels (binary with broadcast strides, unary, scalar, cast,
// where) and the sum / max reductions.
#include <pybind11/stl.h>

#include <map>

#include "bindings/cuda_args.h"
#include "bindings/cuda_core_parts.h"
#include "cuda/elementwise.h"
#include "cuda/reduce.h"

namespace cunn::bind {
namespace {

namespace py = pybind11;
namespace args = cuda_args;
using args::Pointer;
using cunn::cuda::BinaryOp;
using cunn::cuda::DType;
using cunn::cuda::UnaryOp;

const std::map<std::string, BinaryOp>& binary_ops() {
  static const std::map<std::string, BinaryOp> names = {
      {"add", BinaryOp::add}, {"sub", BinaryOp::sub}, {"mul", BinaryOp::mul},
      {"div", BinaryOp::div}, {"maximum", BinaryOp::maximum}, {"minimum", BinaryOp::minimum},
      {"pow", BinaryOp::pow}, {"eq", BinaryOp::eq}, {"ne", BinaryOp::ne}, {"lt", BinaryOp::lt},
      {"le", BinaryOp::le}, {"gt", BinaryOp::gt}, {"ge", BinaryOp::ge}};
  return names;
}

const std::map<std::string, UnaryOp>& unary_ops() {
  static const std::map<std::string, UnaryOp> names = {
      {"neg", UnaryOp::neg}, {"exp", UnaryOp::exp}, {"log", UnaryOp::log},
      {"sqrt", UnaryOp::sqrt}, {"abs", UnaryOp::abs}, {"sign", UnaryOp::sign},
      {"square", UnaryOp::square}, {"reciprocal", UnaryOp::reciprocal}};
  return names;
}

// A buffer of `dtype`: checked for the alignment of its element type.
void* typed_output(Pointer pointer, DType dtype, std::int64_t count, const char* op,
                   const char* arg) {
  if (dtype == DType::float32) return args::required<float>(pointer, count, op, arg);
  if (dtype == DType::int64) return args::required<std::int64_t>(pointer, count, op, arg);
  return args::required<std::uint8_t>(pointer, count, op, arg);
}
const void* typed_input(Pointer pointer, DType dtype, std::int64_t count, const char* op,
                        const char* arg) {
  return typed_output(pointer, dtype, count, op, arg);
}

void binary(const std::string& op_name, Pointer out, Pointer a,
            const std::vector<std::int64_t>& a_strides, Pointer b,
            const std::vector<std::int64_t>& b_strides, const std::vector<std::int64_t>& shape,
            const std::string& dtype_name) {
  const char* op = "binary";
  const BinaryOp binary_op = args::choice(binary_ops(), op_name, op, "op");
  const DType dtype = args::dtype(dtype_name, op, "dtype");
  if (dtype == DType::uint8) args::fail(op, "dtype must be 'float32' or 'int64', got 'uint8'");
  if (dtype == DType::int64 && (binary_op == BinaryOp::div || binary_op == BinaryOp::pow))
    args::fail(op, "op '" + op_name + "' takes float32 operands only, got int64");
  args::shape(shape, op, "shape");
  args::strides(a_strides, shape.size(), op, "a_strides");
  args::strides(b_strides, shape.size(), op, "b_strides");
  const std::int64_t count = args::count_of(shape, op);
  const DType out_dtype = cunn::cuda::is_comparison(binary_op) ? DType::uint8 : dtype;
  cunn::cuda::binary(binary_op, typed_output(out, out_dtype, count, op, "out_ptr"),
                     typed_input(a, dtype, count, op, "a_ptr"), a_strides.data(),
                     typed_input(b, dtype, count, op, "b_ptr"), b_strides.data(),
                     static_cast<int>(shape.size()), shape.data(), dtype);
}

void scalar(const std::string& op_name, Pointer out, Pointer x, std::int64_t count, double value,
            bool reverse) {
  const char* op = "scalar";
  const BinaryOp binary_op = args::choice(binary_ops(), op_name, op, "op");
  args::size(count, op, "count");
  const DType out_dtype = cunn::cuda::is_comparison(binary_op) ? DType::uint8 : DType::float32;
  cunn::cuda::scalar(binary_op, typed_output(out, out_dtype, count, op, "out_ptr"),
                     args::required<const float>(x, count, op, "x_ptr"),
                     count, static_cast<float>(value), reverse);
}

void cast(Pointer out, const std::string& out_dtype_name, Pointer x,
          const std::string& x_dtype_name, std::int64_t count) {
  const char* op = "cast";
  const DType out_dtype = args::dtype(out_dtype_name, op, "out_dtype");
  const DType x_dtype = args::dtype(x_dtype_name, op, "x_dtype");
  args::size(count, op, "count");
  cunn::cuda::cast(typed_output(out, out_dtype, count, op, "out_ptr"), out_dtype,
                   typed_input(x, x_dtype, count, op, "x_ptr"), x_dtype, count);
}

void reduce_sum(Pointer out, Pointer x, std::int64_t outer, std::int64_t length,
                std::int64_t inner, const std::string& dtype_name) {
  const char* op = "sum";
  const DType dtype = args::dtype(dtype_name, op, "dtype");
  if (dtype == DType::uint8) args::fail(op, "dtype must be 'float32' or 'int64', got 'uint8'");
  args::size(outer, op, "outer");
  args::size(length, op, "length");
  args::size(inner, op, "inner");
  const std::int64_t outputs = args::product(outer, inner, op);
  const std::int64_t count = args::product(outputs, length, op);
  cunn::cuda::sum(typed_output(out, dtype, outputs, op, "out_ptr"),
                  typed_input(x, dtype, count, op, "x_ptr"), outer, length, inner, dtype);
}

void reduce_max(Pointer values, Pointer indices, Pointer x, std::int64_t outer,
                std::int64_t length, std::int64_t inner) {
  const char* op = "max";
  args::size(outer, op, "outer");
  args::size(length, op, "length");
  args::size(inner, op, "inner");
  const std::int64_t outputs = args::product(outer, inner, op);
  const std::int64_t count = args::product(outputs, length, op);
  if (outputs > 0 && length == 0) args::fail(op, "cannot reduce an empty axis (length 0)");
  cunn::cuda::max(args::required<float>(values, outputs, op, "values_ptr"),
                  args::optional<std::int64_t>(indices, op, "indices_ptr"),
                  args::required<const float>(x, count, op, "x_ptr"), outer, length, inner);
}

}  // namespace

void bind_cuda_elementwise(py::module_& cuda) {
  cuda.def("binary", &binary, py::arg("op"), py::arg("out_ptr"), py::arg("a_ptr"),
           py::arg("a_strides"), py::arg("b_ptr"), py::arg("b_strides"), py::arg("shape"),
           py::arg("dtype"));
  cuda.def("unary", [](const std::string& op_name, Pointer out, Pointer x, std::int64_t count) {
    const char* op = "unary";
    const UnaryOp unary_op = args::choice(unary_ops(), op_name, op, "op");
    args::size(count, op, "count");
    cunn::cuda::unary(unary_op, args::required<float>(out, count, op, "out_ptr"),
                      args::required<const float>(x, count, op, "x_ptr"), count);
  }, py::arg("op"), py::arg("out_ptr"), py::arg("x_ptr"), py::arg("count"));
  cuda.def("scalar", &scalar, py::arg("op"), py::arg("out_ptr"), py::arg("x_ptr"),
           py::arg("count"), py::arg("value"), py::arg("reverse") = false);
  cuda.def("cast", &cast, py::arg("out_ptr"), py::arg("out_dtype"), py::arg("x_ptr"),
           py::arg("x_dtype"), py::arg("count"));
  cuda.def("where", [](Pointer out, Pointer condition, Pointer a, Pointer b, std::int64_t count) {
    const char* op = "where";
    args::size(count, op, "count");
    cunn::cuda::where(args::required<float>(out, count, op, "out_ptr"),
                      args::required<const std::uint8_t>(condition, count, op, "condition_ptr"),
                      args::required<const float>(a, count, op, "a_ptr"),
                      args::required<const float>(b, count, op, "b_ptr"), count);
  }, py::arg("out_ptr"), py::arg("condition_ptr"), py::arg("a_ptr"), py::arg("b_ptr"),
     py::arg("count"));
  cuda.def("sum", &reduce_sum, py::arg("out_ptr"), py::arg("x_ptr"), py::arg("outer"),
           py::arg("length"), py::arg("inner"), py::arg("dtype"));
  cuda.def("max", &reduce_max, py::arg("values_ptr"), py::arg("indices_ptr"), py::arg("x_ptr"),
           py::arg("outer"), py::arg("length"), py::arg("inner"));
}

}  // namespace cunn::bind
