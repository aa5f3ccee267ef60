// Placeholder: the activation kernels are not bound yet.
#include "bindings/families.h"

namespace cunn::bind {

void bind_activation(pybind11::module_&) {}

}  // namespace cunn::bind
