// Average pooling (math, layout and reference in avg_pool.h). Threads take whole planes.
// 2x2 windows at stride 2 without padding (LeNet's pooling) get a loop of their own, which
// the compiler vectorises; it adds in the same order as the general loop.
#include "kernels/avg_pool.h"

#include <algorithm>
#include <cstring>

#include "dispatch/parallel.h"

namespace cunn::kernels {
namespace {

// As the other memory-bound kernels (elementwise.cpp): threads pay off from ~64k elements.
constexpr int64_t kGrain = 32768;

int64_t plane_grain(int64_t elements_per_plane) {
  return std::max<int64_t>(1, kGrain / std::max<int64_t>(1, elements_per_plane));
}

struct Window {
  int64_t h_begin, h_end, w_begin, w_end;
  float divisor;
};

Window window_at(const Pool2dShape& s, bool count_include_pad, int64_t i, int64_t j) {
  const int64_t h0 = i * s.stride_h - s.pad_h, w0 = j * s.stride_w - s.pad_w;
  const int64_t h1 = std::min(h0 + s.kernel_h, s.height + s.pad_h);
  const int64_t w1 = std::min(w0 + s.kernel_w, s.width + s.pad_w);
  const int64_t padded_area = (h1 - h0) * (w1 - w0);
  Window w{std::max<int64_t>(h0, 0), std::min(h1, s.height), std::max<int64_t>(w0, 0),
           std::min(w1, s.width), 0.0f};
  const int64_t area = (w.h_end - w.h_begin) * (w.w_end - w.w_begin);
  w.divisor = static_cast<float>(count_include_pad ? padded_area : area);
  return w;
}

bool is_plain_2x2(const Pool2dShape& s) {
  return s.kernel_h == 2 && s.kernel_w == 2 && s.stride_h == 2 && s.stride_w == 2 &&
         s.pad_h == 0 && s.pad_w == 0;
}

int64_t window_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
int64_t window_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

}  // namespace

void avg_pool2d_forward(const Pool2dShape& s, bool count_include_pad, const float* x,
                        float* out) {
  const int64_t in_plane = s.height * s.width, out_plane = s.out_h * s.out_w;
  parallel_for(0, s.planes, plane_grain(in_plane), [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const float* plane = x + p * in_plane;
      float* o = out + p * out_plane;
      if (is_plain_2x2(s)) {
        for (int64_t i = 0; i < s.out_h; ++i) {
          const float* top = plane + 2 * i * s.width;
          const float* bottom = top + s.width;
          float* row = o + i * s.out_w;
          for (int64_t j = 0; j < s.out_w; ++j)
            row[j] = (((top[2 * j] + top[2 * j + 1]) + bottom[2 * j]) + bottom[2 * j + 1]) / 4.0f;
        }
        continue;
      }
      for (int64_t i = 0; i < s.out_h; ++i) {
        for (int64_t j = 0; j < s.out_w; ++j) {
          const Window w = window_at(s, count_include_pad, i, j);
          float sum = 0.0f;
          for (int64_t h = w.h_begin; h < w.h_end; ++h)
            for (int64_t q = w.w_begin; q < w.w_end; ++q) sum += plane[h * s.width + q];
          o[i * s.out_w + j] = sum / w.divisor;
        }
      }
    }
  });
}

void avg_pool2d_backward(const Pool2dShape& s, bool count_include_pad, const float* grad_output,
                         float* grad_input) {
  const int64_t in_plane = s.height * s.width, out_plane = s.out_h * s.out_w;
  parallel_for(0, s.planes, plane_grain(in_plane), [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const float* g = grad_output + p * out_plane;
      float* plane = grad_input + p * in_plane;
      if (is_plain_2x2(s)) {
        // Every position is written once: the windows tile the plane but for an odd last
        // row or column, which gets zeros.
        for (int64_t i = 0; i < s.out_h; ++i) {
          float* __restrict top = plane + 2 * i * s.width;
          float* __restrict bottom = top + s.width;
          const float* __restrict row = g + i * s.out_w;
          for (int64_t j = 0; j < s.out_w; ++j) {
            const float share = row[j] / 4.0f;
            top[2 * j] = share;
            top[2 * j + 1] = share;
          }
          for (int64_t j = 2 * s.out_w; j < s.width; ++j) top[j] = 0.0f;
          std::memcpy(bottom, top, sizeof(float) * s.width);
        }
        for (int64_t h = 2 * s.out_h; h < s.height; ++h)
          std::memset(plane + h * s.width, 0, sizeof(float) * s.width);
        continue;
      }
      std::memset(plane, 0, sizeof(float) * in_plane);
      for (int64_t i = 0; i < s.out_h; ++i) {
        for (int64_t j = 0; j < s.out_w; ++j) {
          const Window w = window_at(s, count_include_pad, i, j);
          const float share = g[i * s.out_w + j] / w.divisor;
          for (int64_t h = w.h_begin; h < w.h_end; ++h)
            for (int64_t q = w.w_begin; q < w.w_end; ++q) plane[h * s.width + q] += share;
        }
      }
    }
  });
}

void adaptive_avg_pool2d_forward(int64_t planes, int64_t height, int64_t width, int64_t out_h,
                                 int64_t out_w, const float* x, float* out) {
  const int64_t in_plane = height * width, out_plane = out_h * out_w;
  parallel_for(0, planes, plane_grain(in_plane), [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const float* plane = x + p * in_plane;
      float* o = out + p * out_plane;
      for (int64_t i = 0; i < out_h; ++i) {
        const int64_t h0 = window_start(i, height, out_h), h1 = window_end(i, height, out_h);
        for (int64_t j = 0; j < out_w; ++j) {
          const int64_t w0 = window_start(j, width, out_w), w1 = window_end(j, width, out_w);
          float sum = 0.0f;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t q = w0; q < w1; ++q) sum += plane[h * width + q];
          o[i * out_w + j] = sum / static_cast<float>((h1 - h0) * (w1 - w0));
        }
      }
    }
  });
}

void adaptive_avg_pool2d_backward(int64_t planes, int64_t height, int64_t width, int64_t out_h,
                                  int64_t out_w, const float* grad_output, float* grad_input) {
  const int64_t in_plane = height * width, out_plane = out_h * out_w;
  parallel_for(0, planes, plane_grain(in_plane), [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const float* g = grad_output + p * out_plane;
      float* plane = grad_input + p * in_plane;
      std::memset(plane, 0, sizeof(float) * in_plane);
      for (int64_t i = 0; i < out_h; ++i) {
        const int64_t h0 = window_start(i, height, out_h), h1 = window_end(i, height, out_h);
        for (int64_t j = 0; j < out_w; ++j) {
          const int64_t w0 = window_start(j, width, out_w), w1 = window_end(j, width, out_w);
          const float share = g[i * out_w + j] / static_cast<float>((h1 - h0) * (w1 - w0));
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t q = w0; q < w1; ++q) plane[h * width + q] += share;
        }
      }
    }
  });
}

}  // namespace cunn::kernels
