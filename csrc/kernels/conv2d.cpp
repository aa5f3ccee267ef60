// 2-D convolution as im2col / col2im around our sgemm (math and layout in conv2d.h;
// must match cunn/backends/numpy_ref/conv2d.py up to float rounding).
//
// Per image n, with K = C*kh*kw and P = OH*OW, the column matrix cols[n] is (K, P):
// row (c*kh + p)*kw + q, column i*OW + j holds xpad[n, c, i*sh + p, j*sw + q]. Then
//   forward          out[n] (O, P)  = W (O, K) . cols[n]            (+ bias, seeded as beta*C)
//   backward_input   dcols (K, P)   = W^T . grad_out[n] (O, P), scattered back by col2im
//   backward_weight  dW (O, K)     += grad_out[n] (O, P) . cols[n]^T
// so every product lands in NCHW directly and needs no transpose. A 1x1 kernel with
// stride 1 and no padding skips the copy: cols[n] is x[n] itself.
//
// Threads take whole images (the sgemm inside then runs serially); a lone image lets
// sgemm split the product instead. sgemm sums each element in an order fixed by the
// problem's shape alone, so either way the result does not depend on the thread count.
// The weight gradient is a sum over images: images are cut into at most
// kMaxWeightGroups groups fixed by the batch size, each group sums its images in order
// into its own partial, and the partials are added in group order afterwards.
// Column buffers are per thread (thread_local), which keeps the kernels re-entrant; a
// large image is processed in blocks of output rows so the buffer stays near
// kColumnBudget floats.
#include "kernels/conv2d.h"

#include <algorithm>
#include <vector>

#include "dispatch/parallel.h"
#include "kernels/gemm.h"

namespace cunn::kernels {
namespace {

// Below this many flops one thread does the whole pass (as sgemm's own cut-off).
constexpr double kParallelMinFlops = 0.5e6;
// Floats in one column block: 1 MiB, half the L2 of the machines we tune on. The
// MNIST layers (K*P = 7056 and 56448) never need more than one block.
constexpr int64_t kColumnBudget = int64_t{1} << 18;
// The weight gradient's partial sums: enough groups to keep 16 threads busy on a large
// batch, few enough that adding the partials stays cheap.
constexpr int64_t kMaxWeightGroups = 16;

struct Plan {
  int64_t k;           // C * kh * kw
  int64_t p;           // OH * OW
  bool direct;         // 1x1, stride 1, no padding: cols[n] is x[n]
  int64_t block_rows;  // output rows per column block
};

Plan make_plan(const Conv2dShape& s) {
  Plan plan;
  plan.k = s.channels * s.kernel_h * s.kernel_w;
  plan.p = s.out_h * s.out_w;
  plan.direct = s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 &&
                s.pad_h == 0 && s.pad_w == 0;
  int64_t rows = std::max<int64_t>(1, kColumnBudget / std::max<int64_t>(1, plan.k * s.out_w));
  rows = std::min(rows, s.out_h);
  // Equal blocks: a thin last block would be a sgemm call with little work in it.
  const int64_t blocks = (s.out_h + rows - 1) / rows;
  plan.block_rows = (s.out_h + blocks - 1) / blocks;
  return plan;
}

double flops(const Conv2dShape& s, const Plan& plan) {
  return 2.0 * static_cast<double>(s.batch) * static_cast<double>(s.out_channels) *
         static_cast<double>(plan.k) * static_cast<double>(plan.p);
}

// Runs body(first, last) over [0, count) units (images or groups): split over the
// threads when there are several units and enough work, else on the calling thread.
template <class Body>
void for_units(int64_t count, double total_flops, const Body& body) {
  if (count >= 2 && total_flops >= kParallelMinFlops)
    parallel_for(0, count, 1, body);
  else
    body(int64_t{0}, count);
}

float* scratch(size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

// Output columns j in [lo, hi) read input column j*stride + offset inside [0, size);
// the others read padding.
void valid_range(int64_t offset, int64_t stride, int64_t size, int64_t count, int64_t* lo,
                 int64_t* hi) {
  const int64_t last = size - 1 - offset;
  *hi = last < 0 ? 0 : std::min(count, last / stride + 1);
  *lo = std::min(*hi, offset >= 0 ? int64_t{0} : (-offset + stride - 1) / stride);
}

// The rows of the plane that kernel row p reads for output rows [row_begin, row_end) are
// h = i*sh - ph + p; i in [*first, *last) read inside the plane.
void valid_rows(const Conv2dShape& s, int64_t p, int64_t row_begin, int64_t row_end,
                int64_t* first, int64_t* last) {
  int64_t lo, hi;
  valid_range(p - s.pad_h, s.stride_h, s.height, s.out_h, &lo, &hi);
  *first = std::min(std::max(lo, row_begin), row_end);
  *last = std::max(std::min(hi, row_end), *first);
}

// Unit strides and OW == W (a "same" convolution, the usual 3x3 / padding 1): output
// position i*OW + j reads input position i*W + j + shift for a fixed shift, so a whole
// kernel offset's rows move as one contiguous span; only the wrapped-around edge
// columns need fixing. This turns OH short copies into one long one.
bool flat_rows(const Conv2dShape& s) {
  return s.stride_h == 1 && s.stride_w == 1 && s.out_w == s.width;
}

// cols (K, (row_end - row_begin) * OW) for output rows [row_begin, row_end) of image x_n.
void im2col(const Conv2dShape& s, const float* x_n, int64_t row_begin, int64_t row_end,
            float* cols) {
  const int64_t ow = s.out_w, width = (row_end - row_begin) * ow;
  const bool flat = flat_rows(s);
  for (int64_t c = 0; c < s.channels; ++c) {
    const float* plane = x_n + c * s.height * s.width;
    for (int64_t p = 0; p < s.kernel_h; ++p) {
      int64_t first, last;
      valid_rows(s, p, row_begin, row_end, &first, &last);
      for (int64_t q = 0; q < s.kernel_w; ++q) {
        // Index of output row i's first column in this row of cols: i * OW - base.
        float* __restrict dest = cols + ((c * s.kernel_h + p) * s.kernel_w + q) * width;
        const int64_t base = row_begin * ow;
        const int64_t offset = q - s.pad_w;
        int64_t lo, hi;
        valid_range(offset, s.stride_w, s.width, ow, &lo, &hi);
        std::fill(dest, dest + (first - row_begin) * ow, 0.f);
        std::fill(dest + (last - row_begin) * ow, dest + width, 0.f);
        if (first == last) continue;
        if (flat) {
          // Copy [first*OW + lo, (last-1)*OW + hi) in one piece, then zero the columns
          // outside [lo, hi) that it filled from the neighbouring rows.
          const int64_t begin = first * ow + lo, end = (last - 1) * ow + hi;
          const int64_t shift = (p - s.pad_h) * s.width + offset;
          for (int64_t d = begin; d < end; ++d) dest[d - base] = plane[d + shift];
          for (int64_t i = first; i < last; ++i) {
            float* out = dest + i * ow - base;
            for (int64_t j = 0; j < lo; ++j) out[j] = 0.f;
            for (int64_t j = hi; j < ow; ++j) out[j] = 0.f;
          }
          continue;
        }
        for (int64_t i = first; i < last; ++i) {
          float* __restrict out = dest + i * ow - base;
          const float* __restrict src = plane + (i * s.stride_h - s.pad_h + p) * s.width;
          for (int64_t j = 0; j < lo; ++j) out[j] = 0.f;
          if (s.stride_w == 1)
            for (int64_t j = lo; j < hi; ++j) out[j] = src[j + offset];
          else
            for (int64_t j = lo; j < hi; ++j) out[j] = src[j * s.stride_w + offset];
          for (int64_t j = hi; j < ow; ++j) out[j] = 0.f;
        }
      }
    }
  }
}

// dx_n += the column gradient of output rows [row_begin, row_end), kernel offsets in
// order (p, q) as the reference adds them. May overwrite entries of `cols` that fall in
// the padding (it is scratch).
void col2im_add(const Conv2dShape& s, float* cols, int64_t row_begin, int64_t row_end,
                float* dx_n) {
  const int64_t ow = s.out_w, width = (row_end - row_begin) * ow;
  const bool flat = flat_rows(s);
  for (int64_t c = 0; c < s.channels; ++c) {
    float* plane = dx_n + c * s.height * s.width;
    for (int64_t p = 0; p < s.kernel_h; ++p) {
      int64_t first, last;
      valid_rows(s, p, row_begin, row_end, &first, &last);
      if (first == last) continue;
      for (int64_t q = 0; q < s.kernel_w; ++q) {
        // Index of output row i's first column in this row of cols: i * OW - base.
        float* __restrict src = cols + ((c * s.kernel_h + p) * s.kernel_w + q) * width;
        const int64_t base = row_begin * ow;
        const int64_t offset = q - s.pad_w;
        int64_t lo, hi;
        valid_range(offset, s.stride_w, s.width, ow, &lo, &hi);
        if (flat) {
          // One contiguous add (see im2col); the padding columns are zeroed first so
          // that they add nothing to the neighbouring rows they wrap onto.
          for (int64_t i = first; i < last; ++i) {
            float* in = src + i * ow - base;
            for (int64_t j = 0; j < lo; ++j) in[j] = 0.f;
            for (int64_t j = hi; j < ow; ++j) in[j] = 0.f;
          }
          const int64_t begin = first * ow + lo, end = (last - 1) * ow + hi;
          const int64_t shift = (p - s.pad_h) * s.width + offset;
          for (int64_t d = begin; d < end; ++d) plane[d + shift] += src[d - base];
          continue;
        }
        for (int64_t i = first; i < last; ++i) {
          const float* __restrict in = src + i * ow - base;
          float* __restrict dest = plane + (i * s.stride_h - s.pad_h + p) * s.width;
          if (s.stride_w == 1)
            for (int64_t j = lo; j < hi; ++j) dest[j + offset] += in[j];
          else
            for (int64_t j = lo; j < hi; ++j) dest[j * s.stride_w + offset] += in[j];
        }
      }
    }
  }
}

}  // namespace

void conv2d_forward(const Conv2dShape& s, const float* x, const float* weight,
                    const float* bias, float* out) {
  if (s.batch <= 0 || s.out_channels <= 0) return;
  const Plan plan = make_plan(s);
  const int64_t o = s.out_channels, k = plan.k, p = plan.p;
  const int64_t image = s.channels * s.height * s.width;
  for_units(s.batch, flops(s, plan), [&](int64_t first, int64_t last) {
    float* cols = plan.direct ? nullptr : scratch(static_cast<size_t>(k * plan.block_rows * s.out_w));
    for (int64_t n = first; n < last; ++n) {
      const float* x_n = x + n * image;
      float* out_n = out + n * o * p;
      float beta = 0.f;
      if (bias) {
        // Seed each output plane with its bias and let sgemm add onto it.
        for (int64_t row = 0; row < o; ++row) std::fill(out_n + row * p, out_n + (row + 1) * p, bias[row]);
        beta = 1.f;
      }
      if (plan.direct) {
        sgemm(false, false, o, p, k, 1.f, weight, k, x_n, p, beta, out_n, p);
        continue;
      }
      for (int64_t row = 0; row < s.out_h; row += plan.block_rows) {
        const int64_t row_end = std::min(s.out_h, row + plan.block_rows);
        const int64_t width = (row_end - row) * s.out_w;
        im2col(s, x_n, row, row_end, cols);
        sgemm(false, false, o, width, k, 1.f, weight, k, cols, width, beta, out_n + row * s.out_w,
              p);
      }
    }
  });
}

void conv2d_backward_input(const Conv2dShape& s, const float* grad_output, const float* weight,
                           float* grad_input) {
  if (s.batch <= 0 || s.channels <= 0) return;
  const Plan plan = make_plan(s);
  const int64_t o = s.out_channels, k = plan.k, p = plan.p;
  const int64_t image = s.channels * s.height * s.width;
  for_units(s.batch, flops(s, plan), [&](int64_t first, int64_t last) {
    float* cols = plan.direct ? nullptr : scratch(static_cast<size_t>(k * plan.block_rows * s.out_w));
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
  const int64_t image = s.channels * s.height * s.width;
  const int64_t per_group =
      (s.batch + kMaxWeightGroups - 1) / kMaxWeightGroups;
  const int64_t groups = (s.batch + per_group - 1) / per_group;
  // Group 0 sums straight into grad_weight; the others into their own partials.
  std::vector<float> partials(static_cast<size_t>((groups - 1) * size));
  for_units(groups, flops(s, plan), [&](int64_t first, int64_t last) {
    float* cols = plan.direct ? nullptr : scratch(static_cast<size_t>(k * plan.block_rows * s.out_w));
    for (int64_t group = first; group < last; ++group) {
      float* dest = group == 0 ? grad_weight : partials.data() + (group - 1) * size;
      float beta = 0.f;
      const int64_t n_end = std::min(s.batch, (group + 1) * per_group);
      for (int64_t n = group * per_group; n < n_end; ++n) {
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
    const float* partial = partials.data() + (group - 1) * size;
    for (int64_t i = 0; i < size; ++i) grad_weight[i] += partial[i];
  }
}

}  // namespace cunn::kernels
