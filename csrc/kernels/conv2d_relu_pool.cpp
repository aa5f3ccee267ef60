// Conv2d -> ReLU -> MaxPool2d(2) in one forward and one backward call (contract and codes in
// conv2d_relu_pool.h; must give the bits of conv2d.cpp, activation.cpp and pool.cpp run one
// after the other). The convolution itself is conv2d.cpp's: whole images are convolved
// independently of how the batch is cut (im2col + sgemm per image; Winograd tiles each
// computed by one micro-kernel column), so convolving a few images at a time gives the
// values of the whole batch at once, and the pooling is a fixed per-window rule, so the
// results do not depend on the thread count either.
#include "kernels/conv2d_relu_pool.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "dispatch/cpu.h"
#include "dispatch/parallel.h"
#include "kernels/conv2d_partition.h"
#include "kernels/conv2d_small_channels.h"
#include "kernels/conv2d_winograd.h"
#include "kernels/float_order.h"
#include "kernels/linear.h"
#include "kernels/tuning.h"

namespace cunn::kernels {
namespace {

using conv2d_detail::for_units;

// Floats of convolution output one chunk of images may fill: a quarter of the column
// budget (256 KiB), so the buffer is still in L2 when the pooling reads it.
int64_t chunk_floats() { return tuning().conv_column_budget / 4; }

// Per-thread buffers that grow and are kept (conv2d_partition.h says why), apart from
// conv2d's own scratch, which the convolution called inside uses at the same time.
float* conv_buffer(size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

float* gradient_buffer(size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

double conv_flops(const Conv2dShape& s) {
  return 2.0 * static_cast<double>(s.batch) * static_cast<double>(s.out_channels) *
         static_cast<double>(s.out_h * s.out_w) *
         static_cast<double>(s.channels * s.kernel_h * s.kernel_w);
}

// The Winograd path's 2x2 output tiles are exactly the pooling windows when the output's
// sides are even.
bool winograd_pools(const Conv2dShape& s) {
  return conv2d_detail::winograd_applies(s) && s.out_h % 2 == 0 && s.out_w % 2 == 0;
}

// On float32 bit patterns: relu_forward's `x < 0 ? 0 : x` (a NaN stays NaN, -0 stays -0),
// order_key (float_order.h), and `x > 0`.
inline int32_t relu_bits(int32_t bits) {
  const int32_t magnitude = bits & 0x7fffffff;
  const int32_t negative =
      -static_cast<int32_t>((bits < 0) & (magnitude != 0) & (magnitude <= 0x7f800000));
  return bits & ~negative;
}

inline int32_t bits_of(float x) {
  int32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

inline float float_of(int32_t bits) {
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

inline int32_t key_of_bits(int32_t bits) { return order_key(float_of(bits)); }

inline bool positive_bits(int32_t bits) { return bits > 0 && bits <= 0x7f800000; }

void relu_pool_windows_portable(const float* __restrict top, const float* __restrict bottom,
                                int64_t count, float* __restrict pooled,
                                uint8_t* __restrict codes) {
  // The candidates in the window's row-major order, as pool.cpp's 2x2 loop scans them, each
  // through relu_forward's `c < 0 ? 0 : c`. All on the bit patterns, so that the loop
  // vectorises: float comparisons become branches that mispredict on half the windows.
  for (int64_t j = 0; j < count; ++j) {
    const int32_t a = bits_of(top[2 * j]), b = bits_of(top[2 * j + 1]);
    const int32_t c = bits_of(bottom[2 * j]), d = bits_of(bottom[2 * j + 1]);
    const int32_t ra = relu_bits(a), rb = relu_bits(b), rc = relu_bits(c), rd = relu_bits(d);
    int32_t best = key_of_bits(ra), value = ra, source = a, where = 0;
    int32_t key = key_of_bits(rb);
    bool take = key > best;
    best = take ? key : best;
    value = take ? rb : value;
    source = take ? b : source;
    where = take ? 1 : where;
    key = key_of_bits(rc);
    take = key > best;
    best = take ? key : best;
    value = take ? rc : value;
    source = take ? c : source;
    where = take ? 2 : where;
    key = key_of_bits(rd);
    take = key > best;
    value = take ? rd : value;
    source = take ? d : source;
    where = take ? 3 : where;
    pooled[j] = float_of(value);
    // relu_backward passes the gradient where the convolution's value is > 0.
    codes[j] = static_cast<uint8_t>(positive_bits(source) ? where : kNoGradient);
  }
}

// unpool_windows: rows 2i and 2i + 1 of a convolution output gradient from one row of
// windows: 0 + g at each code's position (what max_pool2d_backward writes into zeros), +0
// elsewhere. The portable version zeroes both rows and writes each gradient, as
// max_pool2d_backward does (four selects a window ran 20% slower without vector ISA flags).
void unpool_windows_portable(const float* __restrict grad, const uint8_t* __restrict codes,
                             int64_t count, float* __restrict top, float* __restrict bottom) {
  std::fill(top, top + 2 * count, 0.f);
  std::fill(bottom, bottom + 2 * count, 0.f);
  for (int64_t j = 0; j < count; ++j) {
    const int code = codes[j];
    if (code >= kNoGradient) continue;
    (code < 2 ? top : bottom)[2 * j + code % 2] = 0.f + grad[j];
  }
}

void unpool_windows(const float* grad, const uint8_t* codes, int64_t count, float* top,
                    float* bottom) {
#if defined(CUNN_X86)
  if (active_isa() == Isa::avx512) return avx512::unpool_windows(grad, codes, count, top, bottom);
  if (active_isa() == Isa::avx2) return avx2::unpool_windows(grad, codes, count, top, bottom);
#endif
  unpool_windows_portable(grad, codes, count, top, bottom);
}

// One plane of the convolution's output gradient, as max_pool2d_backward (0 + g at the
// maximum, +0 elsewhere) followed by relu_backward (g where the convolution's value is > 0)
// give it.
void unpool_plane(const Conv2dShape& s, const float* grad, const uint8_t* code, float* out) {
  const int64_t pooled_h = s.out_h / 2, pooled_w = s.out_w / 2;
  for (int64_t i = 0; i < pooled_h; ++i) {
    float* top = out + 2 * i * s.out_w;
    unpool_windows(grad + i * pooled_w, code + i * pooled_w, pooled_w, top, top + s.out_w);
    // An odd width's last column is in no window.
    if (s.out_w % 2) top[s.out_w - 1] = top[2 * s.out_w - 1] = 0.f;
  }
  // An odd height's last row is in no window.
  if (s.out_h % 2) std::fill(out + (s.out_h - 1) * s.out_w, out + s.out_h * s.out_w, 0.f);
}

// The few-channel path (conv2d_small_channels.h): each pair of output rows is pooled as soon
// as it is computed, from 2 rows per output channel that stay in L1. The rows are
// conv2d_forward's, computed by the same code; they are out_w rounded up to 16 floats apart,
// so that whole strips are stored and loaded, with 32 floats to spare after the last one
// for the pooling's loads.
void small_channels_relu_pool_forward(const Conv2dShape& s, const float* x, const float* weight,
                                      const float* bias, float* pooled, uint8_t* codes) {
  const SmallChannelsLayout layout = small_channels_layout(s);
  const int64_t image = s.channels * s.height * s.width;
  const int64_t pooled_h = s.out_h / 2, pooled_w = s.out_w / 2;
  const int64_t row_stride = (s.out_w + 15) / 16 * 16, pair = 2 * row_stride;
  float* packed = conv2d_detail::call_scratch(static_cast<size_t>(small_channels_packed_size(s)));
  small_channels_pack_weights(s, weight, packed);
  for_units(s.batch, conv_flops(s), [&](int64_t first, int64_t last) {
    float* padded = small_channels_aligned(conv_buffer(static_cast<size_t>(
        layout.image_stride + s.out_channels * pair + 32 + kSmallChannelsAlignment)));
    float* rows = padded + layout.image_stride;
    for (int64_t n = first; n < last; ++n) {
      small_channels_pad(s, layout, x + n * image, padded);
      for (int64_t i = 0; i < pooled_h; ++i) {
        small_channels_forward_rows(s, layout, padded, packed, bias, 2 * i, 2 * i + 2, rows,
                                    pair, row_stride);
        const int64_t offset = (n * s.out_channels * pooled_h + i) * pooled_w;
#if defined(CUNN_X86)
        // The path runs with AVX-512 only (conv2d_small_channels_applies).
        avx512::small_channels_relu_pool(rows, s.out_channels, row_stride, pooled_w,
                                         pooled + offset, codes + offset, pooled_h * pooled_w);
#endif
      }
    }
  });
}

// The few-channel path's weight and bias gradients without the input gradient: each block of
// output channels rebuilds its gradient planes one image at a time, into a buffer that stays
// in L1, and feeds them to the same per-image sums as conv2d_backward_weight and bias_grad
// (small_channels_bias_lanes), so the whole output gradient never goes through memory.
void small_channels_relu_pool_backward(const Conv2dShape& s, const float* grad_pooled,
                                       const uint8_t* codes, const float* x,
                                       float* grad_weight, float* grad_bias) {
  const SmallChannelsLayout layout = small_channels_layout(s);
  const int64_t image = s.channels * s.height * s.width;
  const int64_t plane = s.out_h * s.out_w, pooled_plane = (s.out_h / 2) * (s.out_w / 2);
  const float* padded = nullptr;
  if (grad_weight) {
    float* all = small_channels_aligned(conv2d_detail::call_scratch(
        static_cast<size_t>(s.batch * layout.image_stride + kSmallChannelsAlignment)));
    for_units(s.batch, conv_flops(s), [&](int64_t first, int64_t last) {
      for (int64_t n = first; n < last; ++n)
        small_channels_pad(s, layout, x + n * image, all + n * layout.image_stride);
    });
    padded = all;
  }
  constexpr int64_t kBlock = kSmallChannelsGradBlock;
  const int64_t blocks = (s.out_channels + kBlock - 1) / kBlock;
  const int64_t block_lanes = kBlock * s.channels * 9 * kSmallChannelsLanes;
  for_units(blocks, conv_flops(s), [&](int64_t first, int64_t last) {
    // 16 floats between the planes and the lanes: the gradient's strips are loaded whole.
    float* planes = gradient_buffer(static_cast<size_t>(kBlock * plane + 16 + block_lanes));
    float* lanes = planes + kBlock * plane + 16;
    for (int64_t block = first; block < last; ++block) {
      const int64_t o_begin = block * kBlock;
      const int64_t count = std::min(kBlock, s.out_channels - o_begin);
      std::fill(lanes, lanes + block_lanes, 0.f);
      double bias_lanes[kBlock][8] = {};
      for (int64_t n = 0; n < s.batch; ++n) {
        for (int64_t b = 0; b < count; ++b) {
          const int64_t index = n * s.out_channels + o_begin + b;
#if defined(CUNN_X86)
          // The path runs with AVX-512 only (conv2d_small_channels_applies).
          avx512::small_channels_unpool_plane(grad_pooled + index * pooled_plane,
                                              codes + index * pooled_plane, s.out_h, s.out_w,
                                              planes + b * plane);
          if (grad_bias)
            avx512::small_channels_bias_lanes(planes + b * plane, plane, bias_lanes[b]);
#endif
        }
        if (grad_weight)
          small_channels_weight_grad_image(s, layout, padded + n * layout.image_stride, planes,
                                           count, lanes, lanes);
      }
      if (grad_weight) small_channels_weight_grad_finish(s, o_begin, count, lanes, grad_weight);
      if (grad_bias)
        for (int64_t b = 0; b < count; ++b) {
          double total = 0.0;
          for (int lane = 0; lane < 8; ++lane) total += bias_lanes[b][lane];
          grad_bias[o_begin + b] = static_cast<float>(total);
        }
    }
  });
}

}  // namespace

void relu_pool_windows(const float* top, const float* bottom, int64_t count, float* pooled,
                       uint8_t* codes) {
#if defined(CUNN_X86)
  if (active_isa() == Isa::avx512)
    return avx512::relu_pool_windows(top, bottom, count, pooled, codes);
  if (active_isa() == Isa::avx2) return avx2::relu_pool_windows(top, bottom, count, pooled, codes);
#endif
  relu_pool_windows_portable(top, bottom, count, pooled, codes);
}

void conv2d_relu_pool_forward(const Conv2dShape& s, const float* x, const float* weight,
                              const float* bias, float* pooled, uint8_t* codes) {
  if (s.batch <= 0 || s.out_channels <= 0) return;
  if (winograd_pools(s)) {
    conv2d_detail::winograd_conv(
        conv2d_detail::make_winograd(s.batch, s.channels, s.out_channels, s.height, s.width,
                                     s.pad_h, s.pad_w),
        x, weight, false, bias, nullptr, pooled, codes);
    return;
  }
  if (conv2d_small_channels_applies(s)) {
    small_channels_relu_pool_forward(s, x, weight, bias, pooled, codes);
    return;
  }
  const int64_t plane = s.out_h * s.out_w, pooled_h = s.out_h / 2, pooled_w = s.out_w / 2;
  const int64_t per_image = s.out_channels * plane;
  const int64_t chunk = std::max<int64_t>(1, std::min(s.batch, chunk_floats() / per_image));
  const int64_t chunks = (s.batch + chunk - 1) / chunk;
  const int64_t image = s.channels * s.height * s.width;
  for_units(chunks, conv_flops(s), [&](int64_t first, int64_t last) {
    float* out = conv_buffer(static_cast<size_t>(chunk * per_image));
    for (int64_t index = first; index < last; ++index) {
      Conv2dShape part = s;
      const int64_t n0 = index * chunk;
      part.batch = std::min(chunk, s.batch - n0);
      // Inside a parallel region this runs on the calling thread (nested calls are serial).
      conv2d_forward(part, x + n0 * image, weight, bias, out);
      for (int64_t p = 0; p < part.batch * s.out_channels; ++p) {
        const float* conv_plane = out + p * plane;
        const int64_t offset = (n0 * s.out_channels + p) * pooled_h * pooled_w;
        for (int64_t i = 0; i < pooled_h; ++i)
          relu_pool_windows(conv_plane + 2 * i * s.out_w, conv_plane + (2 * i + 1) * s.out_w,
                            pooled_w, pooled + offset + i * pooled_w,
                            codes + offset + i * pooled_w);
      }
    }
  });
}

void conv2d_relu_pool_backward(const Conv2dShape& s, const float* grad_pooled,
                               const uint8_t* codes, const float* x, const float* weight,
                               float* grad_x, float* grad_weight, float* grad_bias) {
  if (!grad_x && conv2d_small_channels_applies(s)) {
    if (s.out_channels > 0)
      small_channels_relu_pool_backward(s, grad_pooled, codes, x, grad_weight, grad_bias);
    return;
  }
  const int64_t plane = s.out_h * s.out_w, pooled_h = s.out_h / 2, pooled_w = s.out_w / 2;
  const int64_t planes = s.batch * s.out_channels;
  // The convolution's output gradient, as max_pool2d_backward (0 + g at the maximum, +0
  // elsewhere) followed by relu_backward (g where the convolution's value is > 0) give it.
  float* grad_conv = gradient_buffer(static_cast<size_t>(planes * plane));
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(1, plane));
  parallel_for(0, planes, grain, [&](int64_t first, int64_t last) {
    for (int64_t p = first; p < last; ++p)
      unpool_plane(s, grad_pooled + p * pooled_h * pooled_w, codes + p * pooled_h * pooled_w,
                   grad_conv + p * plane);
  });
  if (grad_bias) {
    if (s.out_channels > 0) bias_grad(grad_conv, grad_bias, s.batch, s.out_channels, plane);
  }
  if (grad_weight) conv2d_backward_weight(s, grad_conv, x, grad_weight);
  if (grad_x) conv2d_backward_input(s, grad_conv, weight, grad_x);
}

}  // namespace cunn::kernels
