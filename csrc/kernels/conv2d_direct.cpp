// 2-D convolution that visits only the kernel taps reading the input, for geometries
// where im2col would mostly copy and multiply padding: huge padding, a kernel much larger
// than the input, or a stride that skips most of it (math and layout in conv2d.h; must
// match cunn/_backends/numpy_ref/conv2d.py up to float rounding).
//
// Along one axis, kernel offset p reads input index i*stride - pad + p for output indices
// i in [lo, hi) only; the other outputs read padding. AxisTaps lists the offsets whose
// range is not empty, so the loops below cost the number of products that involve an
// input value (plus filling the output), never the size of the padded input: a
// 1x1 input under padding 2^16 costs a few products however large the kernel.
// Threads take whole output planes (forward), input planes (input gradient) or
// (o, c) kernel planes (weight gradient), each summed in a fixed order, so results do
// not depend on the thread count.
#include "kernels/conv2d_direct.h"

#include <algorithm>
#include <vector>

#include "dispatch/parallel.h"

namespace cunn::kernels {
namespace {

// Products per thread below which a fork costs more than it saves.
constexpr int64_t kGrain = 32768;
// im2col is used unless it would do this many times the direct loops' work: it runs
// the products as one GEMM, many times faster per product than the scalar loops here.
constexpr double kIm2colWasteLimit = 16.0;

struct Tap {
  int64_t offset;  // p (or q)
  int64_t lo, hi;  // output indices reading the input
};

struct AxisTaps {
  std::vector<Tap> taps;
  int64_t products = 0;  // sum of hi - lo
};

// The offsets p in [0, kernel) that read index i*stride - pad + p inside [0, size) for
// some output index i in [0, out). Only offsets in [pad - (out-1)*stride, size + pad) can,
// so the scan never runs over a kernel's padding-only rows.
AxisTaps axis_taps(int64_t size, int64_t kernel, int64_t stride, int64_t pad, int64_t out) {
  AxisTaps axis;
  const int64_t first = std::max<int64_t>(0, pad - (out - 1) * stride);
  const int64_t last = std::min(kernel, size + pad);
  for (int64_t p = first; p < last; ++p) {
    // i*stride >= pad - p and i*stride <= size - 1 + pad - p.
    const int64_t low = pad - p;
    const int64_t lo = low <= 0 ? 0 : (low + stride - 1) / stride;
    const int64_t hi = std::min(out, (size - 1 + pad - p) / stride + 1);
    if (lo < hi) {
      axis.taps.push_back({p, lo, hi});
      axis.products += hi - lo;
    }
  }
  return axis;
}

int64_t grain(double work_per_unit) {
  return std::max<int64_t>(1, static_cast<int64_t>(kGrain / std::max(1.0, work_per_unit)));
}

}  // namespace

bool conv2d_direct_pays(const Conv2dShape& s) {
  if (s.channels <= 0) return false;
  const AxisTaps rows = axis_taps(s.height, s.kernel_h, s.stride_h, s.pad_h, s.out_h);
  const AxisTaps cols = axis_taps(s.width, s.kernel_w, s.stride_w, s.pad_w, s.out_w);
  const double outputs = static_cast<double>(s.out_h) * static_cast<double>(s.out_w);
  const double im2col = static_cast<double>(s.kernel_h) * static_cast<double>(s.kernel_w) *
                        outputs;
  const double direct = static_cast<double>(rows.products) *
                        static_cast<double>(cols.products) + outputs;
  return im2col > kIm2colWasteLimit * direct;
}

void conv2d_direct_forward(const Conv2dShape& s, const float* x, const float* weight,
                           const float* bias, float* out) {
  const AxisTaps rows = axis_taps(s.height, s.kernel_h, s.stride_h, s.pad_h, s.out_h);
  const AxisTaps cols = axis_taps(s.width, s.kernel_w, s.stride_w, s.pad_w, s.out_w);
  const int64_t in_plane = s.height * s.width, out_plane = s.out_h * s.out_w;
  const int64_t kernel_plane = s.kernel_h * s.kernel_w;
  const double work = static_cast<double>(s.channels) * static_cast<double>(rows.products) *
                      static_cast<double>(cols.products) + static_cast<double>(out_plane);
  parallel_for(0, s.batch * s.out_channels, grain(work), [&](int64_t first, int64_t last) {
    for (int64_t plane = first; plane < last; ++plane) {
      const int64_t n = plane / s.out_channels, o = plane % s.out_channels;
      float* y = out + plane * out_plane;
      std::fill(y, y + out_plane, bias ? bias[o] : 0.f);
      for (int64_t c = 0; c < s.channels; ++c) {
        const float* x_c = x + (n * s.channels + c) * in_plane;
        const float* w_c = weight + (o * s.channels + c) * kernel_plane;
        for (const Tap& r : rows.taps) {
          for (const Tap& t : cols.taps) {
            const float w = w_c[r.offset * s.kernel_w + t.offset];
            for (int64_t i = r.lo; i < r.hi; ++i) {
              const int64_t row = (i * s.stride_h - s.pad_h + r.offset) * s.width;
              const int64_t shift = t.offset - s.pad_w;
              float* y_row = y + i * s.out_w;
              for (int64_t j = t.lo; j < t.hi; ++j)
                y_row[j] += w * x_c[row + j * s.stride_w + shift];
            }
          }
        }
      }
    }
  });
}

void conv2d_direct_backward_input(const Conv2dShape& s, const float* grad_output,
                                  const float* weight, float* grad_input) {
  const AxisTaps rows = axis_taps(s.height, s.kernel_h, s.stride_h, s.pad_h, s.out_h);
  const AxisTaps cols = axis_taps(s.width, s.kernel_w, s.stride_w, s.pad_w, s.out_w);
  const int64_t in_plane = s.height * s.width, out_plane = s.out_h * s.out_w;
  const int64_t kernel_plane = s.kernel_h * s.kernel_w;
  const double work = static_cast<double>(s.out_channels) *
                      static_cast<double>(rows.products) * static_cast<double>(cols.products) +
                      static_cast<double>(in_plane);
  parallel_for(0, s.batch * s.channels, grain(work), [&](int64_t first, int64_t last) {
    for (int64_t plane = first; plane < last; ++plane) {
      const int64_t n = plane / s.channels, c = plane % s.channels;
      float* dx = grad_input + plane * in_plane;
      std::fill(dx, dx + in_plane, 0.f);
      for (int64_t o = 0; o < s.out_channels; ++o) {
        const float* dy = grad_output + (n * s.out_channels + o) * out_plane;
        const float* w_c = weight + (o * s.channels + c) * kernel_plane;
        for (const Tap& r : rows.taps) {
          for (const Tap& t : cols.taps) {
            const float w = w_c[r.offset * s.kernel_w + t.offset];
            for (int64_t i = r.lo; i < r.hi; ++i) {
              const int64_t row = (i * s.stride_h - s.pad_h + r.offset) * s.width;
              const int64_t shift = t.offset - s.pad_w;
              const float* dy_row = dy + i * s.out_w;
              for (int64_t j = t.lo; j < t.hi; ++j)
                dx[row + j * s.stride_w + shift] += w * dy_row[j];
            }
          }
        }
      }
    }
  });
}

void conv2d_direct_backward_weight(const Conv2dShape& s, const float* grad_output,
                                   const float* x, float* grad_weight) {
  const AxisTaps rows = axis_taps(s.height, s.kernel_h, s.stride_h, s.pad_h, s.out_h);
  const AxisTaps cols = axis_taps(s.width, s.kernel_w, s.stride_w, s.pad_w, s.out_w);
  const int64_t in_plane = s.height * s.width, out_plane = s.out_h * s.out_w;
  const int64_t kernel_plane = s.kernel_h * s.kernel_w;
  const double work = static_cast<double>(s.batch) * static_cast<double>(rows.products) *
                      static_cast<double>(cols.products) + static_cast<double>(kernel_plane);
  parallel_for(0, s.out_channels * s.channels, grain(work), [&](int64_t first, int64_t last) {
    for (int64_t pair = first; pair < last; ++pair) {
      const int64_t o = pair / s.channels, c = pair % s.channels;
      float* dw = grad_weight + pair * kernel_plane;
      std::fill(dw, dw + kernel_plane, 0.f);
      for (const Tap& r : rows.taps) {
        for (const Tap& t : cols.taps) {
          const int64_t shift = t.offset - s.pad_w;
          float sum = 0.f;
          for (int64_t n = 0; n < s.batch; ++n) {
            const float* dy = grad_output + (n * s.out_channels + o) * out_plane;
            const float* x_c = x + (n * s.channels + c) * in_plane;
            for (int64_t i = r.lo; i < r.hi; ++i) {
              const int64_t row = (i * s.stride_h - s.pad_h + r.offset) * s.width;
              const float* dy_row = dy + i * s.out_w;
              for (int64_t j = t.lo; j < t.hi; ++j)
                sum += dy_row[j] * x_c[row + j * s.stride_w + shift];
            }
          }
          dw[r.offset * s.kernel_w + t.offset] = sum;
        }
      }
    }
  });
}

}  // namespace cunn::kernels
