// 2-D convolution as im2col / col2im around our sgemm (math and layout in conv2d.h;
// must match cunn/_backends/numpy_ref/conv2d.py up to float rounding).
//
// Per image n, with K = C*kh*kw and P = OH*OW, the column matrix cols[n] is (K, P):
// row (c*kh + p)*kw + q, column i*OW + j holds xpad[n, c, i*sh + p, j*sw + q]. Then
//   forward          out[n] (O, P)  = W (O, K) . cols[n]            (+ bias, seeded as beta*C)
//   backward_input   dcols (K, P)   = W^T . grad_out[n] (O, P), scattered back by col2im
//   backward_weight  dW (O, K)     += grad_out[n] (O, P) . cols[n]^T
// so every product lands in NCHW directly and needs no transpose. A 1x1 kernel with
// stride 1 and no padding skips the copy: cols[n] is x[n] itself.
//
// 3x3 kernels at stride 1 with enough channels take the Winograd path instead
// (conv2d_winograd.cpp), and with few input channels (K = 9 C too short for a GEMM) the
// direct loops of conv2d_small_channels.cpp; the column copies are in conv2d_im2col.cpp,
// the cutting of work over threads in conv2d_partition.cpp, the thresholds in tuning.cpp.
// Geometries where most of im2col's work would be padding (huge padding, a kernel far
// larger than the input) take the direct loops of conv2d_direct.cpp, whose cost is the
// number of products that read the input.
//
// Threads take whole images (the sgemm inside then runs serially); a lone image lets
// sgemm split the product instead. sgemm sums each element in an order fixed by the
// problem's shape alone, so either way the result does not depend on the thread count.
// The weight gradient is a sum over images: images are cut into at most
// conv_max_weight_groups groups fixed by the batch and layer sizes, each group sums its images
// in order into its own partial, and the partials are added in group order afterwards.
// Column buffers are per thread (thread_local), which keeps the kernels re-entrant; a
// large image is processed in blocks of output rows so the buffer stays near
// conv_column_budget floats.
#include "kernels/conv2d.h"

#include <algorithm>

#include "kernels/conv2d_direct.h"
#include "kernels/conv2d_im2col.h"
#include "kernels/conv2d_partition.h"
#include "kernels/conv2d_small_channels.h"
#include "kernels/conv2d_winograd.h"
#include "kernels/gemm.h"
#include "kernels/tuning.h"

namespace cunn::kernels {

using conv2d_detail::call_scratch;
using conv2d_detail::col2im_add;
using conv2d_detail::flops;
using conv2d_detail::for_units;
using conv2d_detail::group_count;
using conv2d_detail::im2col;
using conv2d_detail::make_plan;
using conv2d_detail::make_winograd;
using conv2d_detail::part_begin;
using conv2d_detail::Plan;
using conv2d_detail::scratch;
using conv2d_detail::winograd_applies;
using conv2d_detail::winograd_backward_input_applies;
using conv2d_detail::winograd_conv;
using conv2d_detail::winograd_weight_grad;

void conv2d_forward(const Conv2dShape& s, const float* x, const float* weight,
                    const float* bias, float* out) {
  if (s.batch <= 0 || s.out_channels <= 0) return;
  if (conv2d_direct_pays(s)) {
    conv2d_direct_forward(s, x, weight, bias, out);
    return;
  }
  if (conv2d_small_channels_applies(s)) {
    conv2d_small_channels_forward(s, x, weight, bias, out);
    return;
  }
  if (winograd_applies(s)) {
    winograd_conv(make_winograd(s.batch, s.channels, s.out_channels, s.height, s.width, s.pad_h,
                                s.pad_w),
                  x, weight, false, bias, out);
    return;
  }
  const Plan plan = make_plan(s);
  const int64_t o = s.out_channels, k = plan.k, p = plan.p;
  const int64_t image = s.channels * s.height * s.width;
  // With a column matrix of our own, the bias rides along as one more row of it (all
  // ones) and one more column of the weights, so the output is written once; otherwise
  // it is seeded into the output for sgemm to add onto (beta = 1). The bias comes last in
  // the sum either way, as in the reference (columns . weights^T + bias).
  const bool bias_row = bias && !plan.direct;
  const int64_t depth = bias_row ? k + 1 : k;
  const float* weights = weight;
  if (bias_row) {
    float* augmented = call_scratch(static_cast<size_t>(o * depth));
    for (int64_t row = 0; row < o; ++row) {
      std::copy(weight + row * k, weight + (row + 1) * k, augmented + row * depth);
      augmented[row * depth + k] = bias[row];
    }
    weights = augmented;
  }
  for_units(s.batch, flops(s, plan), [&](int64_t first, int64_t last) {
    float* cols =
        plan.direct ? nullptr : scratch(static_cast<size_t>(depth * plan.block_rows * s.out_w));
    for (int64_t n = first; n < last; ++n) {
      const float* x_n = x + n * image;
      float* out_n = out + n * o * p;
      if (plan.direct) {
        float beta = 0.f;
        if (bias) {
          for (int64_t row = 0; row < o; ++row)
            std::fill(out_n + row * p, out_n + (row + 1) * p, bias[row]);
          beta = 1.f;
        }
        sgemm(false, false, o, p, k, 1.f, weight, k, x_n, p, beta, out_n, p);
        continue;
      }
      for (int64_t row = 0; row < s.out_h; row += plan.block_rows) {
        const int64_t row_end = std::min(s.out_h, row + plan.block_rows);
        const int64_t width = (row_end - row) * s.out_w;
        im2col(s, x_n, row, row_end, cols);
        if (bias_row) std::fill(cols + k * width, cols + (k + 1) * width, 1.f);
        sgemm(false, false, o, width, depth, 1.f, weights, depth, cols, width, 0.f,
              out_n + row * s.out_w, p);
      }
    }
  });
}

void conv2d_backward_input(const Conv2dShape& s, const float* grad_output, const float* weight,
                           float* grad_input) {
  if (s.batch <= 0 || s.channels <= 0) return;
  // No output channels: nothing flows back (and the padded loops below would still
  // sweep every output position).
  if (s.out_channels <= 0) {
    std::fill(grad_input, grad_input + s.batch * s.channels * s.height * s.width, 0.f);
    return;
  }
  if (conv2d_direct_pays(s)) {
    conv2d_direct_backward_input(s, grad_output, weight, grad_input);
    return;
  }
  if (winograd_backward_input_applies(s)) {
    winograd_conv(make_winograd(s.batch, s.out_channels, s.channels, s.out_h, s.out_w,
                                2 - s.pad_h, 2 - s.pad_w),
                  grad_output, weight, true, nullptr, grad_input);
    return;
  }
  const Plan plan = make_plan(s);
  const int64_t o = s.out_channels, k = plan.k, p = plan.p;
  const int64_t image = s.channels * s.height * s.width;
  for_units(s.batch, flops(s, plan), [&](int64_t first, int64_t last) {
    float* cols =
        plan.direct ? nullptr : scratch(static_cast<size_t>(k * plan.block_rows * s.out_w));
    for (int64_t n = first; n < last; ++n) {
      const float* grad_n = grad_output + n * o * p;
      float* dx_n = grad_input + n * image;
      if (plan.direct) {
        sgemm(true, false, k, p, o, 1.f, weight, k, grad_n, p, 0.f, dx_n, p);
        continue;
      }
      std::fill(dx_n, dx_n + image, 0.f);
      for (int64_t row = 0; row < s.out_h; row += plan.block_rows) {
        const int64_t row_end = std::min(s.out_h, row + plan.block_rows);
        const int64_t width = (row_end - row) * s.out_w;
        sgemm(true, false, k, width, o, 1.f, weight, k, grad_n + row * s.out_w, p, 0.f, cols,
              width);
        col2im_add(s, cols, row, row_end, dx_n);
      }
    }
  });
}

void conv2d_backward_weight(const Conv2dShape& s, const float* grad_output, const float* x,
                            float* grad_weight) {
  const Plan plan = make_plan(s);
  const int64_t o = s.out_channels, k = plan.k, p = plan.p;
  const int64_t size = o * k;
  if (size <= 0) return;
  if (s.batch <= 0) {
    std::fill(grad_weight, grad_weight + size, 0.f);
    return;
  }
  if (conv2d_direct_pays(s)) {
    conv2d_direct_backward_weight(s, grad_output, x, grad_weight);
    return;
  }
  if (conv2d_small_channels_applies(s)) {
    conv2d_small_channels_backward_weight(s, grad_output, x, grad_weight);
    return;
  }
  if (winograd_applies(s)) {
    winograd_weight_grad(make_winograd(s.batch, s.channels, s.out_channels, s.height, s.width,
                                       s.pad_h, s.pad_w),
                         x, grad_output, grad_weight);
    return;
  }
  const int64_t image = s.channels * s.height * s.width;
  const int64_t groups = group_count(s.batch, tuning().conv_max_weight_groups, size);
  // Group 0 sums straight into grad_weight; the others into their own partials.
  float* partials = call_scratch(static_cast<size_t>((groups - 1) * size));
  for_units(groups, flops(s, plan), [&](int64_t first, int64_t last) {
    float* cols =
        plan.direct ? nullptr : scratch(static_cast<size_t>(k * plan.block_rows * s.out_w));
    for (int64_t group = first; group < last; ++group) {
      float* dest = group == 0 ? grad_weight : partials + (group - 1) * size;
      float beta = 0.f;
      const int64_t n_end = part_begin(s.batch, groups, group + 1);
      for (int64_t n = part_begin(s.batch, groups, group); n < n_end; ++n) {
        const float* grad_n = grad_output + n * o * p;
        const float* x_n = x + n * image;
        if (plan.direct) {
          sgemm(false, true, o, k, p, 1.f, grad_n, p, x_n, p, beta, dest, k);
          beta = 1.f;
          continue;
        }
        for (int64_t row = 0; row < s.out_h; row += plan.block_rows) {
          const int64_t row_end = std::min(s.out_h, row + plan.block_rows);
          const int64_t width = (row_end - row) * s.out_w;
          im2col(s, x_n, row, row_end, cols);
          sgemm(false, true, o, k, width, 1.f, grad_n + row * s.out_w, p, cols, width, beta, dest,
                k);
          beta = 1.f;
        }
      }
    }
  });
  for (int64_t group = 1; group < groups; ++group) {
    const float* partial = partials + (group - 1) * size;
    for (int64_t i = 0; i < size; ++i) grad_weight[i] += partial[i];
  }
}

}  // namespace cunn::kernels

