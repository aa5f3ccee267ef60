// Placeholder: the elementwise kernels are not bound yet.
#include "bindings/families.h"

namespace cunn::bind {

void bind_elementwise(pybind11::module_&) {}

}  // namespace cunn::bind
