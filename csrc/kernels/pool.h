// 2-D max pooling, NCHW float32, C-contiguous, over `planes` = N * C planes of H x W:
//   out[plane, i, j] = max of x[plane, h, w] over h in [i*sh - ph, i*sh - ph + kh) and
//                      w in [j*sw - pw, j*sw - pw + kw), positions outside the plane
//                      counting as -inf (they never win);
//   indices[plane, i, j] = h * W + w of that maximum (PyTorch's convention): the first
//                      in row-major window order on ties, the first NaN if there is one
//                      (a NaN wins over numbers); the first position inside the plane
//                      when every value there is -inf.
//   backward: grad_x[plane, indices[plane, k]] += grad_out[plane, k], k in order.
// Must match cunn/backends/numpy_ref/pool.py exactly (values, indices and gradient
// bit for bit). The binding has checked the sizes (each window overlaps the plane:
// padding <= kernel / 2) and that every index is in [0, H*W).
#pragma once

#include <cstdint>

namespace cunn::kernels {

struct Pool2dShape {
  int64_t planes, height, width;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
  int64_t out_h, out_w;
};

void max_pool2d_forward(const Pool2dShape& shape, const float* x, float* out, int64_t* indices);

// grad_input (planes, in_plane) from grad_output and indices (planes, out_plane).
void max_pool2d_backward(const float* grad_output, const int64_t* indices, float* grad_input,
                         int64_t planes, int64_t in_plane, int64_t out_plane);

// The flat position of the first index outside [0, in_plane) among `count`, or -1.
int64_t max_pool2d_first_bad_index(const int64_t* indices, int64_t count, int64_t in_plane);

}  // namespace cunn::kernels
