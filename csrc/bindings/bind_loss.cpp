// Placeholder: the loss kernels are not bound yet.
#include "bindings/families.h"

namespace cunn::bind {

void bind_loss(pybind11::module_&) {}

}  // namespace cunn::bind
