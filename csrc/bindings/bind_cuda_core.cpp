#include "bindings/cuda_families.h"

namespace cunn::bind {

void bind_cuda_core(pybind11::module_& cuda) {}

}  // namespace cunn::bind
