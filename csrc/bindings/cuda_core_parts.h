// The parts of bind_cuda_core (one file each): runtime and memory; elementwise and
// reductions; gemm, bias, activations, softmax and losses.
#pragma once

#include <pybind11/pybind11.h>

namespace cunn::bind {

void bind_cuda_memory(pybind11::module_& cuda);
void bind_cuda_elementwise(pybind11::module_& cuda);
void bind_cuda_math(pybind11::module_& cuda);

}  // namespace cunn::bind
