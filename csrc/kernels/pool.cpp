// 2-D max pooling (math, layout and tie / NaN rules in pool.h; must match
// cunn/backends/numpy_ref/pool.py bit for bit). Threads take whole planes, so each
// output, and each input gradient (a sum over one plane's outputs in order), is
// computed the same way whatever the thread count.
//
// The window is clipped to the plane before the scan: padding is -inf and can never
// beat what the window holds inside the plane (every window overlaps it), and starting
// from -inf at the window's first position inside the plane gives that position when
// every value is -inf.
#include "kernels/pool.h"

#include <algorithm>
#include <atomic>
#include <limits>

#include "dispatch/parallel.h"

namespace cunn::kernels {
namespace {

// Input elements per thread below which a fork costs more than it saves (as for the
// other memory-bound kernels, elementwise.cpp).
constexpr int64_t kGrain = 32768;

int64_t plane_grain(int64_t elements_per_plane) {
  return std::max<int64_t>(1, kGrain / std::max<int64_t>(1, elements_per_plane));
}

// v replaces the running maximum: strictly larger, or the first NaN.
inline bool wins(float v, float best) { return v > best || (v != v && best == best); }

void pool_plane(const Pool2dShape& s, const float* x, float* out, int64_t* indices) {
  for (int64_t i = 0; i < s.out_h; ++i) {
    const int64_t h0 = i * s.stride_h - s.pad_h;
    const int64_t h_begin = std::max<int64_t>(h0, 0);
    const int64_t h_end = std::min(h0 + s.kernel_h, s.height);
    for (int64_t j = 0; j < s.out_w; ++j) {
      const int64_t w0 = j * s.stride_w - s.pad_w;
      const int64_t w_begin = std::max<int64_t>(w0, 0);
      const int64_t w_end = std::min(w0 + s.kernel_w, s.width);
      float best = -std::numeric_limits<float>::infinity();
      int64_t where = h_begin * s.width + w_begin;
      for (int64_t h = h_begin; h < h_end; ++h) {
        for (int64_t w = w_begin; w < w_end; ++w) {
          const float v = x[h * s.width + w];
          if (wins(v, best)) {
            best = v;
            where = h * s.width + w;
          }
        }
      }
      out[i * s.out_w + j] = best;
      indices[i * s.out_w + j] = where;
    }
  }
}

// The MNIST case, 2x2 windows at stride 2 without padding: the four candidates in
// window order, as selects the compiler can vectorise.
void pool_plane_2x2(const Pool2dShape& s, const float* x, float* out, int64_t* indices) {
  const int64_t width = s.width;
  for (int64_t i = 0; i < s.out_h; ++i) {
    const float* top = x + 2 * i * width;
    const float* bottom = top + width;
    float* out_row = out + i * s.out_w;
    int64_t* index_row = indices + i * s.out_w;
    const int64_t row_index = 2 * i * width;
    for (int64_t j = 0; j < s.out_w; ++j) {
      float best = top[2 * j];
      int64_t where = row_index + 2 * j;
      const float b = top[2 * j + 1], c = bottom[2 * j], d = bottom[2 * j + 1];
      bool take = wins(b, best);
      best = take ? b : best;
      where = take ? row_index + 2 * j + 1 : where;
      take = wins(c, best);
      best = take ? c : best;
      where = take ? row_index + width + 2 * j : where;
      take = wins(d, best);
      best = take ? d : best;
      where = take ? row_index + width + 2 * j + 1 : where;
      out_row[j] = best;
      index_row[j] = where;
    }
  }
}

}  // namespace

void max_pool2d_forward(const Pool2dShape& s, const float* x, float* out, int64_t* indices) {
  const int64_t in_plane = s.height * s.width, out_plane = s.out_h * s.out_w;
  const bool two_by_two = s.kernel_h == 2 && s.kernel_w == 2 && s.stride_h == 2 &&
                          s.stride_w == 2 && s.pad_h == 0 && s.pad_w == 0;
  parallel_for(0, s.planes, plane_grain(in_plane), [&](int64_t first, int64_t last) {
    for (int64_t plane = first; plane < last; ++plane) {
      const float* x_plane = x + plane * in_plane;
      float* out_plane_data = out + plane * out_plane;
      int64_t* index_plane = indices + plane * out_plane;
      if (two_by_two)
        pool_plane_2x2(s, x_plane, out_plane_data, index_plane);
      else
        pool_plane(s, x_plane, out_plane_data, index_plane);
    }
  });
}

void max_pool2d_backward(const float* grad_output, const int64_t* indices, float* grad_input,
                         int64_t planes, int64_t in_plane, int64_t out_plane) {
  parallel_for(0, planes, plane_grain(in_plane + out_plane), [&](int64_t first, int64_t last) {
    for (int64_t plane = first; plane < last; ++plane) {
      float* grad_in = grad_input + plane * in_plane;
      const float* grad_out = grad_output + plane * out_plane;
      const int64_t* index = indices + plane * out_plane;
      std::fill(grad_in, grad_in + in_plane, 0.f);
      for (int64_t k = 0; k < out_plane; ++k) grad_in[index[k]] += grad_out[k];
    }
  });
}

int64_t max_pool2d_first_bad_index(const int64_t* indices, int64_t count, int64_t in_plane) {
  std::atomic<int64_t> first_bad{count};
  parallel_for(0, count, 4 * kGrain, [&](int64_t first, int64_t last) {
    // Branch-free scan of the chunk; only a chunk with a bad index looks for where.
    bool bad = false;
    for (int64_t k = first; k < last; ++k)
      bad |= static_cast<uint64_t>(indices[k]) >= static_cast<uint64_t>(in_plane);
    if (!bad) return;
    int64_t k = first;
    while (static_cast<uint64_t>(indices[k]) < static_cast<uint64_t>(in_plane)) ++k;
    int64_t seen = first_bad.load();
    while (k < seen && !first_bad.compare_exchange_weak(seen, k)) {
    }
  });
  const int64_t result = first_bad.load();
  return result == count ? -1 : result;
}

}  // namespace cunn::kernels
