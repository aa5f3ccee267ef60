// Placeholder: the softmax kernels are not bound yet.
#include "bindings/families.h"

namespace cunn::bind {

void bind_softmax(pybind11::module_&) {}

}  // namespace cunn::bind
