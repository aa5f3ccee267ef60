// H1's half of `cunn._C.cuda`: runtime, memory, copies, elementwise, reductions, gemm,
// bias, activations, softmax and losses. Pointers are Python ints; see cuda_args.h.
#include "bindings/cuda_core_parts.h"
#include "bindings/cuda_families.h"

namespace cunn::bind {

void bind_cuda_core(pybind11::module_& cuda) {
  bind_cuda_memory(cuda);
  bind_cuda_elementwise(cuda);
  bind_cuda_math(cuda);
}

}  // namespace cunn::bind
