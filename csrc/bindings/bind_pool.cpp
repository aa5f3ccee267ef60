// Placeholder: the pool kernels are not bound yet.
#include "bindings/families.h"

namespace cunn::bind {

void bind_pool(pybind11::module_&) {}

}  // namespace cunn::bind
