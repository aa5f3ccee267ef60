// The layer kernels of `cunn._C.cuda` (conv2d, pooling, dropout, optimizer updates,
// normalization, embedding), one bind_cuda_<family>.cpp each.
#include "bindings/cuda_families.h"
#include "bindings/cuda_layer_families.h"

namespace cunn::bind {

void bind_cuda_layers(pybind11::module_& cuda) {
  bind_cuda_conv2d(cuda);
  bind_cuda_pool(cuda);
  bind_cuda_dropout(cuda);
  bind_cuda_optim(cuda);
  bind_cuda_normalization(cuda);
  bind_cuda_embedding(cuda);
}

}  // namespace cunn::bind
