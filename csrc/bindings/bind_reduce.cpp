// Placeholder: the reduce kernels are not bound yet.
#include "bindings/families.h"

namespace cunn::bind {

void bind_reduce(pybind11::module_&) {}

}  // namespace cunn::bind
