// Built with CUNN_CUDA=ON and a CUDA compiler: reports the GPUs it can see and
// exposes the device kernels as the `cunn._C.cuda` submodule.
#include "bindings/cuda_families.h"
#include "bindings/families.h"
#include "cuda/device.h"

namespace cunn::bind {

void bind_cuda(pybind11::module_& m) {
  m.def("cuda_built", [] { return true; });
  m.def("cuda_device_count", [] { return cunn::cuda::device_count(); });
  auto cuda = m.def_submodule("cuda", "Device memory and CUDA kernels; pointers are ints");
  bind_cuda_core(cuda);
  bind_cuda_layers(cuda);
}

}  // namespace cunn::bind
