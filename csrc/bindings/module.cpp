// cunn._C: the compiled kernels. Python reaches them through
// cunn/_backends/cpu.py, never directly from user code.
#include "bindings/families.h"

PYBIND11_MODULE(_C, m) {
  m.doc() = "cunn compiled kernels (float32, row-major, NCHW)";
  cunn::bind::bind_runtime(m);
  cunn::bind::bind_gemm(m);
  cunn::bind::bind_linear_chain(m);
  cunn::bind::bind_elementwise(m);
  cunn::bind::bind_activation(m);
  cunn::bind::bind_softmax(m);
  cunn::bind::bind_reduce(m);
  cunn::bind::bind_loss(m);
  cunn::bind::bind_conv2d(m);
  cunn::bind::bind_pool(m);
  cunn::bind::bind_dropout(m);
  cunn::bind::bind_optim(m);
  cunn::bind::bind_image_batch(m);
  cunn::bind::bind_cuda(m);
  cunn::bind::bind_normalization(m);
  cunn::bind::bind_avg_pool(m);
  cunn::bind::bind_smooth_activation(m);
  cunn::bind::bind_embedding(m);
}
