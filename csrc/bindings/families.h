// One registration function per kernel family; each lives in bind_<family>.cpp.
#pragma once

#include <pybind11/pybind11.h>

namespace cunn::bind {

void bind_runtime(pybind11::module_& m);
void bind_gemm(pybind11::module_& m);
void bind_linear_chain(pybind11::module_& m);
void bind_elementwise(pybind11::module_& m);
void bind_activation(pybind11::module_& m);
void bind_softmax(pybind11::module_& m);
void bind_reduce(pybind11::module_& m);
void bind_loss(pybind11::module_& m);
void bind_conv2d(pybind11::module_& m);
void bind_pool(pybind11::module_& m);
void bind_dropout(pybind11::module_& m);
void bind_optim(pybind11::module_& m);
void bind_image_batch(pybind11::module_& m);
void bind_cuda(pybind11::module_& m);
void bind_normalization(pybind11::module_& m);
void bind_avg_pool(pybind11::module_& m);
void bind_smooth_activation(pybind11::module_& m);
void bind_embedding(pybind11::module_& m);

}  // namespace cunn::bind
