// The `cunn._C.cuda` functions as a module of their own, over the emulated runtime.
#include <pybind11/pybind11.h>

#include "bindings/cuda_families.h"

PYBIND11_MODULE(cunn_cuda_emulated, m) {
  cunn::bind::bind_cuda_core(m);
  cunn::bind::bind_cuda_layers(m);
}
