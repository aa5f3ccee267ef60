// 2-D max pooling, NCHW float32, C-contiguous, over `planes` = N * C planes of H x W:
//   out[plane, i, j] = max of x[plane, h, w] over h in [i*sh - ph, i*sh - ph + kh) and
//                      w in [j*sw - pw, j*sw - pw + kw), positions outside the plane
//                      counting as -inf (they never win);
//   indices[plane, i, j] = h * W + w of that maximum (PyTorch's convention): the first
//                      in row-major window order on ties, the first NaN if there is one
//                      (a NaN wins over numbers); the first position inside the plane
//                      when every value there is -inf.
//   backward: grad_x[plane, indices[plane, k]] += grad_out[plane, k], k in order.
// Must match cunn/_backends/numpy_ref/pool.py exactly (values, indices and gradient
// bit for bit). 2x2 windows at stride 2 have AVX2 / AVX-512 versions chosen by
// active_isa(). The binding has checked the sizes (each window overlaps the plane:
// padding <= kernel / 2); the backward checks the indices itself, as it reads them.
#pragma once

#include <cstdint>

namespace cunn::kernels {

struct Pool2dShape {
  int64_t planes, height, width;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
  int64_t out_h, out_w;
};

void max_pool2d_forward(const Pool2dShape& shape, const float* x, float* out, int64_t* indices);

// grad_input (planes, in_plane) from grad_output and indices (planes, out_plane). Every
// index is checked: one outside [0, in_plane) is never written through, and the flat
// position of the first such index is returned (-1 when all are good), for the binding
// to report; grad_input is then incomplete and must be discarded.
int64_t max_pool2d_backward(const float* grad_output, const int64_t* indices, float* grad_input,
                            int64_t planes, int64_t in_plane, int64_t out_plane);

// One plane of 2x2 windows at stride 2 without padding (the input row length `width` is
// below 2^30), in pool_avx2.cpp / pool_avx512.cpp; pool.cpp holds the portable version.
namespace avx2 {
void max_pool2x2_plane(const float* x, int64_t out_h, int64_t out_w, int64_t width, float* out,
                       int64_t* indices);
}  // namespace avx2
namespace avx512 {
void max_pool2x2_plane(const float* x, int64_t out_h, int64_t out_w, int64_t width, float* out,
                       int64_t* indices);
}  // namespace avx512

}  // namespace cunn::kernels
