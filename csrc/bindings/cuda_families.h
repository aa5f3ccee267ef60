// The CUDA build's binding families: each fills the `cunn._C.cuda` submodule.
#pragma once

#include <pybind11/pybind11.h>

namespace cunn::bind {

// Runtime, memory, copies, gemm, elementwise, reduce, activations, softmax, losses.
void bind_cuda_core(pybind11::module_& cuda);
// conv2d, pooling, dropout, optimizer updates, normalization, embedding.
void bind_cuda_layers(pybind11::module_& cuda);

}  // namespace cunn::bind
