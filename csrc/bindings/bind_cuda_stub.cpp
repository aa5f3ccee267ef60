// Built when CUDA is off or not found: availability is answered at run time,
// so the module always links and cunn.cuda.is_available() is simply False.
#include "bindings/families.h"

namespace cunn::bind {

void bind_cuda(pybind11::module_& m) {
  m.def("cuda_built", [] { return false; });
  m.def("cuda_device_count", [] { return 0; });
}

}  // namespace cunn::bind
