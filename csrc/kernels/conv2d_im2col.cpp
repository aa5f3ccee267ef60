// im2col / col2im for conv2d (layout in conv2d.cpp): copies between an NCHW image and
// its column matrix, a block of output rows at a time, padding read as zeros.
#include "kernels/conv2d_im2col.h"

#include <algorithm>

#include "kernels/tuning.h"

namespace cunn::kernels::conv2d_detail {

Plan make_plan(const Conv2dShape& s) {
  Plan plan;
  plan.k = s.channels * s.kernel_h * s.kernel_w;
  plan.p = s.out_h * s.out_w;
  plan.direct = s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 &&
                s.pad_h == 0 && s.pad_w == 0;
  const int64_t budget = tuning().conv_column_budget;
  int64_t rows = std::max<int64_t>(1, budget / std::max<int64_t>(1, plan.k * s.out_w));
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

namespace {

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

}  // namespace

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

}  // namespace cunn::kernels::conv2d_detail
