// The CUDA layer binding families; bind_cuda_layers.cpp calls each to fill `cunn._C.cuda`.
#pragma once

#include <pybind11/pybind11.h>

namespace cunn::bind {

void bind_cuda_conv2d(pybind11::module_& cuda);
void bind_cuda_pool(pybind11::module_& cuda);       // max, average and adaptive average
void bind_cuda_dropout(pybind11::module_& cuda);
void bind_cuda_optim(pybind11::module_& cuda);
void bind_cuda_normalization(pybind11::module_& cuda);
void bind_cuda_embedding(pybind11::module_& cuda);

}  // namespace cunn::bind
