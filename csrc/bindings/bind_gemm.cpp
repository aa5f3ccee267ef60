// Placeholder: the gemm kernels are not bound yet.
#include "bindings/families.h"

namespace cunn::bind {

void bind_gemm(pybind11::module_&) {}

}  // namespace cunn::bind
