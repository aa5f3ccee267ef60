// Built with CUNN_CUDA=ON and a CUDA compiler: reports the GPUs it can see.
#include "bindings/families.h"
#include "cuda/device.h"

namespace cunn::bind {

void bind_cuda(pybind11::module_& m) {
  m.def("cuda_built", [] { return true; });
  m.def("cuda_device_count", [] { return cunn::cuda::device_count(); });
}

}  // namespace cunn::bind
