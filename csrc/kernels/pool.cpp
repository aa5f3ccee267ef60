// 2-D max pooling (math, layout and tie / NaN rules in pool.h; must match
// cunn/_backends/numpy_ref/pool.py bit for bit). Threads take whole planes, so each
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
#include <type_traits>
#include <vector>

#include "dispatch/cpu.h"
#include "dispatch/parallel.h"
#include "kernels/float_order.h"

namespace cunn::kernels {
namespace {

// Input elements per thread below which a fork costs more than it saves (as for the
// other memory-bound kernels, elementwise.cpp).
constexpr int64_t kGrain = 32768;

int64_t plane_grain(int64_t elements_per_plane) {
  return std::max<int64_t>(1, kGrain / std::max<int64_t>(1, elements_per_plane));
}

// Output columns j in [lo, hi) read input column j*stride + offset inside [0, size).
void valid_range(int64_t offset, int64_t stride, int64_t size, int64_t count, int64_t* lo,
                 int64_t* hi) {
  const int64_t last = size - 1 - offset;
  *hi = last < 0 ? 0 : std::min(count, last / stride + 1);
  *lo = std::min(*hi, offset >= 0 ? int64_t{0} : (-offset + stride - 1) / stride);
}

// Comparisons go through order_key (float_order.h): integer keys that rank every NaN
// above +inf, all NaNs equal, and -0 equal to +0, so "strictly greater key" is exactly the
// reference's rule (a larger number wins, the first NaN wins and stays, ties keep the
// first). Integer comparisons and selects vectorise; float ones do not (the compiler will
// not select on a comparison that may trap on NaN), and a branch per comparison on random
// data mispredicts half the time (3x slower when we measured it).

// Running maxima of one output row: key[j], value[j] (the winning float, NaN payload and
// sign of zero as stored) and where[j], against v = src[j * step] at input position
// base + j * step, for j in [0, count). A compile-time Step (1 or 2, else 0: read `step`)
// lets the loads vectorise, and so does a 32-bit Index.
template <int Step, class Index>
void update(const float* src, int64_t base, int64_t count, int64_t step, int32_t* __restrict key,
            float* __restrict value, Index* __restrict where) {
  const int64_t stride = Step ? Step : step;
  for (int64_t j = 0; j < count; ++j) {
    const float v = src[j * stride];
    const int32_t k = order_key(v);
    const bool take = k > key[j];
    key[j] = take ? k : key[j];
    value[j] = take ? v : value[j];
    where[j] = take ? static_cast<Index>(base + j * stride) : where[j];
  }
}

// Any window: one output row at a time, each window position (h, q), in the window's
// row-major order, updating the whole row's running maxima in one pass. `key` and `where`
// are one output row of scratch; Index is int32_t when the plane has fewer than 2^31
// elements (widened into `indices` after each row), else int64_t and `where` is `indices`.
template <class Index>
void pool_plane(const Pool2dShape& s, const float* x, float* out, int64_t* indices,
                int32_t* key, Index* row_where) {
  const int64_t ow = s.out_w;
  const int32_t minus_infinity = order_key(-std::numeric_limits<float>::infinity());
  // Only kernel columns q in [pw - (OW-1)*sw, W + pw) read the plane for some output
  // column: the scan skips the rest, so a kernel of 2^31 columns costs what it reads.
  const int64_t q_begin = std::max<int64_t>(0, s.pad_w - (ow - 1) * s.stride_w);
  const int64_t q_end = std::min(s.kernel_w, s.width + s.pad_w);
  for (int64_t i = 0; i < s.out_h; ++i, out += ow, indices += ow) {
    Index* where = row_where;
    if constexpr (std::is_same_v<Index, int64_t>) where = indices;
    const int64_t h0 = i * s.stride_h - s.pad_h;
    const int64_t h_begin = std::max<int64_t>(h0, 0);
    const int64_t h_end = std::min(h0 + s.kernel_h, s.height);
    // Start from -inf at the window's first position inside the plane: that position is
    // the answer when every value is -inf (padding never wins, every window overlaps).
    for (int64_t j = 0; j < ow; ++j) {
      key[j] = minus_infinity;
      out[j] = -std::numeric_limits<float>::infinity();
      where[j] = static_cast<Index>(h_begin * s.width +
                                    std::max<int64_t>(j * s.stride_w - s.pad_w, 0));
    }
    for (int64_t h = h_begin; h < h_end; ++h) {
      const float* row = x + h * s.width;
      for (int64_t q = q_begin; q < q_end; ++q) {
        const int64_t offset = q - s.pad_w;
        int64_t lo, hi;
        valid_range(offset, s.stride_w, s.width, ow, &lo, &hi);
        if (lo == hi) continue;
        // Addressed from the first column read, never before the row.
        const float* src = row + (lo * s.stride_w + offset);
        const int64_t base = h * s.width + lo * s.stride_w + offset;
        if (s.stride_w == 1)
          update<1>(src, base, hi - lo, 1, key + lo, out + lo, where + lo);
        else if (s.stride_w == 2)
          update<2>(src, base, hi - lo, 2, key + lo, out + lo, where + lo);
        else
          update<0>(src, base, hi - lo, s.stride_w, key + lo, out + lo, where + lo);
      }
    }
    if constexpr (!std::is_same_v<Index, int64_t>)
      for (int64_t j = 0; j < ow; ++j) indices[j] = where[j];
  }
}

// 2x2 windows at stride 2 without padding (MaxPool2d(2), the MNIST case): the four
// candidates of a window in order, in one loop over the output row. The reference for
// the AVX2 / AVX-512 versions (pool_avx2.cpp, pool_avx512.cpp).
void pool_plane_2x2(const float* x, int64_t out_h, int64_t ow, int64_t row_width, float* out,
                    int64_t* indices) {
  const int32_t width = static_cast<int32_t>(row_width);
  for (int64_t i = 0; i < out_h; ++i, out += ow, indices += ow) {
    const float* __restrict top = x + 2 * i * row_width;
    const float* __restrict bottom = top + row_width;
    const int64_t base = 2 * i * row_width;
    for (int64_t j = 0; j < ow; ++j) {
      const float a = top[2 * j], b = top[2 * j + 1], c = bottom[2 * j], d = bottom[2 * j + 1];
      int32_t best = order_key(a), where = 0;
      float value = a;
      int32_t k = order_key(b);
      bool take = k > best;
      best = take ? k : best;
      value = take ? b : value;
      where = take ? 1 : where;
      k = order_key(c);
      take = k > best;
      best = take ? k : best;
      value = take ? c : value;
      where = take ? width : where;
      k = order_key(d);
      take = k > best;
      value = take ? d : value;
      where = take ? width + 1 : where;
      out[j] = value;
      indices[j] = base + 2 * j + where;
    }
  }
}

}  // namespace

void max_pool2d_forward(const Pool2dShape& s, const float* x, float* out, int64_t* indices) {
  const int64_t in_plane = s.height * s.width, out_plane = s.out_h * s.out_w;
  const bool narrow = in_plane < (int64_t{1} << 31);
  const bool two_by_two = s.kernel_h == 2 && s.kernel_w == 2 && s.stride_h == 2 &&
                          s.stride_w == 2 && s.pad_h == 0 && s.pad_w == 0 &&
                          s.width < (int64_t{1} << 30);
  auto pool_2x2 = &pool_plane_2x2;
#if defined(CUNN_X86)
  if (active_isa() == Isa::avx512) pool_2x2 = &avx512::max_pool2x2_plane;
  else if (active_isa() == Isa::avx2) pool_2x2 = &avx2::max_pool2x2_plane;
#endif
  parallel_for(0, s.planes, plane_grain(in_plane), [&](int64_t first, int64_t last) {
    std::vector<int32_t> key(static_cast<size_t>(two_by_two ? 0 : s.out_w));
    std::vector<int32_t> where(static_cast<size_t>(two_by_two || !narrow ? 0 : s.out_w));
    for (int64_t plane = first; plane < last; ++plane) {
      const float* x_plane = x + plane * in_plane;
      float* out_plane_data = out + plane * out_plane;
      int64_t* index_plane = indices + plane * out_plane;
      if (two_by_two)
        pool_2x2(x_plane, s.out_h, s.out_w, s.width, out_plane_data, index_plane);
      else if (narrow)
        pool_plane(s, x_plane, out_plane_data, index_plane, key.data(), where.data());
      else
        pool_plane<int64_t>(s, x_plane, out_plane_data, index_plane, key.data(), nullptr);
    }
  });
}

int64_t max_pool2d_backward(const float* grad_output, const int64_t* indices, float* grad_input,
                            int64_t planes, int64_t in_plane, int64_t out_plane) {
  // The first bad position found so far (the binding reports it): the smallest over
  // chunks, so the same whatever the split.
  std::atomic<int64_t> first_bad{planes * out_plane};
  parallel_for(0, planes, plane_grain(in_plane + out_plane), [&](int64_t first, int64_t last) {
    for (int64_t plane = first; plane < last; ++plane) {
      float* grad_in = grad_input + plane * in_plane;
      const float* grad_out = grad_output + plane * out_plane;
      const int64_t* index = indices + plane * out_plane;
      std::fill(grad_in, grad_in + in_plane, 0.f);
      for (int64_t k = 0; k < out_plane; ++k) {
        // One unsigned comparison covers both ends; a bad index is skipped, never written.
        const int64_t where = index[k];
        if (static_cast<uint64_t>(where) < static_cast<uint64_t>(in_plane)) {
          grad_in[where] += grad_out[k];
          continue;
        }
        const int64_t position = plane * out_plane + k;
        int64_t seen = first_bad.load();
        while (position < seen && !first_bad.compare_exchange_weak(seen, position)) {
        }
        return;  // this chunk's first bad index is found; the result is discarded anyway
      }
    }
  });
  const int64_t result = first_bad.load();
  return result == planes * out_plane ? -1 : result;
}

}  // namespace cunn::kernels
