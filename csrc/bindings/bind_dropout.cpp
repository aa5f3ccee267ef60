// Placeholder: the dropout kernels are not bound yet.
#include "bindings/families.h"

namespace cunn::bind {

void bind_dropout(pybind11::module_&) {}

}  // namespace cunn::bind
