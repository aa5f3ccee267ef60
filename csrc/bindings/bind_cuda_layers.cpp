#include "bindings/cuda_families.h"

namespace cunn::bind {

void bind_cuda_layers(pybind11::module_& cuda) {}

}  // namespace cunn::bind
