// The few-channel 3x3 convolution's padding, threading and dispatch (the sums and the layout
// are described in conv2d_small_channels.h). Threads take whole images in the forward and
// whole blocks of output channels in the weight gradient, so every output is summed on one
// thread in a fixed order.
#include "kernels/conv2d_small_channels.h"

#include <algorithm>
#include <vector>

#include "dispatch/cpu.h"
#include "kernels/conv2d_direct.h"
#include "kernels/conv2d_partition.h"
#include "kernels/tuning.h"

namespace cunn::kernels {
namespace {

constexpr int64_t kTaps = 9;

double conv_flops(const Conv2dShape& s) {
  return 2.0 * static_cast<double>(s.batch) * static_cast<double>(s.out_channels) *
         static_cast<double>(s.out_h * s.out_w) * static_cast<double>(s.channels * kTaps);
}

// Per-thread buffers that grow and are kept (conv2d_partition.h says why): the padded
// image and the weight gradient's lanes.
float* padded_buffer(size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

float* lanes_buffer(size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

}  // namespace

bool conv2d_small_channels_applies(const Conv2dShape& s) {
#if defined(CUNN_X86)
  return active_isa() == Isa::avx512 && s.channels >= 1 &&
         s.channels <= tuning().small_channels_max_channels && s.kernel_h == 3 &&
         s.kernel_w == 3 && s.stride_h == 1 && s.stride_w == 1 && !conv2d_direct_pays(s);
#else
  return false;
#endif
}

SmallChannelsLayout small_channels_layout(const Conv2dShape& s) {
  SmallChannelsLayout layout;
  layout.rows = s.out_h + 2;
  layout.row_stride = (s.out_w + 15) / 16 * 16 + 16;
  layout.channel_stride = layout.rows * layout.row_stride;
  layout.image_stride = s.channels * layout.channel_stride;
  return layout;
}

void small_channels_pad(const Conv2dShape& s, const SmallChannelsLayout& layout,
                        const float* x_n, float* padded) {
  // rows = H + 2 pad_h and row_stride >= W + 2 pad_w: every input value has its place.
  std::fill(padded, padded + layout.image_stride, 0.f);
  for (int64_t c = 0; c < s.channels; ++c)
    for (int64_t h = 0; h < s.height; ++h) {
      const float* source = x_n + (c * s.height + h) * s.width;
      std::copy(source, source + s.width,
                padded + c * layout.channel_stride + (h + s.pad_h) * layout.row_stride +
                    s.pad_w);
    }
}

int64_t small_channels_packed_size(const Conv2dShape& s) {
  return (s.out_channels + 15) / 16 * 16 * s.channels * kTaps;
}

void small_channels_pack_weights(const Conv2dShape& s, const float* weight, float* packed) {
  std::fill(packed, packed + small_channels_packed_size(s), 0.f);
  for (int64_t o = 0; o < s.out_channels; ++o)
    for (int64_t c = 0; c < s.channels; ++c)
      for (int64_t tap = 0; tap < kTaps; ++tap)
        packed[((o / 16 * s.channels + c) * kTaps + tap) * 16 + o % 16] =
            weight[(o * s.channels + c) * kTaps + tap];
}

void small_channels_forward_rows(const Conv2dShape& s, const SmallChannelsLayout& layout,
                                 const float* padded, const float* packed, const float* bias,
                                 int64_t row_begin, int64_t row_end, float* out,
                                 int64_t plane_stride, int64_t row_stride) {
#if defined(CUNN_X86)
  avx512::small_channels_forward_rows(s, layout, padded, packed, bias, row_begin, row_end, out,
                                      plane_stride, row_stride);
#endif
}

void small_channels_weight_grad_image(const Conv2dShape& s, const SmallChannelsLayout& layout,
                                      const float* padded, const float* grad_planes,
                                      int64_t count, const float* readable_end, float* lanes) {
#if defined(CUNN_X86)
  avx512::small_channels_weight_grad_image(s, layout, padded, grad_planes, count, readable_end,
                                           lanes);
#endif
}

void small_channels_weight_grad_finish(const Conv2dShape& s, int64_t o_begin, int64_t count,
                                       const float* lanes, float* grad_weight) {
  const int64_t outputs = count * s.channels * kTaps;
  float* first = grad_weight + o_begin * s.channels * kTaps;
  for (int64_t index = 0; index < outputs; ++index) {
    const float* lane = lanes + index * kSmallChannelsLanes;
    float total = 0.f;
    for (int64_t l = 0; l < kSmallChannelsLanes; ++l) total += lane[l];
    first[index] = total;
  }
}

void conv2d_small_channels_forward(const Conv2dShape& s, const float* x, const float* weight,
                                   const float* bias, float* out) {
  const SmallChannelsLayout layout = small_channels_layout(s);
  const int64_t image = s.channels * s.height * s.width;
  const int64_t plane = s.out_h * s.out_w;
  float* packed = conv2d_detail::call_scratch(static_cast<size_t>(small_channels_packed_size(s)));
  small_channels_pack_weights(s, weight, packed);
  conv2d_detail::for_units(s.batch, conv_flops(s), [&](int64_t first, int64_t last) {
    float* padded = small_channels_aligned(
        padded_buffer(static_cast<size_t>(layout.image_stride + kSmallChannelsAlignment)));
    for (int64_t n = first; n < last; ++n) {
      small_channels_pad(s, layout, x + n * image, padded);
      small_channels_forward_rows(s, layout, padded, packed, bias, 0, s.out_h,
                                  out + n * s.out_channels * plane, plane, s.out_w);
    }
  });
}

void conv2d_small_channels_backward_weight(const Conv2dShape& s, const float* grad_output,
                                           const float* x, float* grad_weight) {
  const SmallChannelsLayout layout = small_channels_layout(s);
  const int64_t image = s.channels * s.height * s.width;
  const int64_t plane = s.out_h * s.out_w;
  // Every block reads every image: pad them all once, shared by the threads.
  float* padded = small_channels_aligned(conv2d_detail::call_scratch(
      static_cast<size_t>(s.batch * layout.image_stride + kSmallChannelsAlignment)));
  conv2d_detail::for_units(s.batch, conv_flops(s), [&](int64_t first, int64_t last) {
    for (int64_t n = first; n < last; ++n)
      small_channels_pad(s, layout, x + n * image, padded + n * layout.image_stride);
  });
  const int64_t blocks = (s.out_channels + kSmallChannelsGradBlock - 1) / kSmallChannelsGradBlock;
  const int64_t block_lanes = kSmallChannelsGradBlock * s.channels * kTaps * kSmallChannelsLanes;
  const float* grad_end = grad_output + s.batch * s.out_channels * plane;
  conv2d_detail::for_units(blocks, conv_flops(s), [&](int64_t first, int64_t last) {
    float* lanes = lanes_buffer(static_cast<size_t>(block_lanes));
    for (int64_t block = first; block < last; ++block) {
      const int64_t o_begin = block * kSmallChannelsGradBlock;
      const int64_t count = std::min(kSmallChannelsGradBlock, s.out_channels - o_begin);
      std::fill(lanes, lanes + block_lanes, 0.f);
      for (int64_t n = 0; n < s.batch; ++n)
        small_channels_weight_grad_image(s, layout, padded + n * layout.image_stride,
                                         grad_output + (n * s.out_channels + o_begin) * plane,
                                         count, grad_end, lanes);
      small_channels_weight_grad_finish(s, o_begin, count, lanes, grad_weight);
    }
  });
}

}  // namespace cunn::kernels
