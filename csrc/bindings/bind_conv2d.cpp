// Placeholder: the conv2d kernels are not bound yet.
#include "bindings/families.h"

namespace cunn::bind {

void bind_conv2d(pybind11::module_&) {}

}  // namespace cunn::bind
