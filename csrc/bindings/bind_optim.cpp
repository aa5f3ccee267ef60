// Placeholder: the optim kernels are not bound yet.
#include "bindings/families.h"

namespace cunn::bind {

void bind_optim(pybind11::module_&) {}

}  // namespace cunn::bind
