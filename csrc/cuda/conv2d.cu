// 2-D convolution on the device by im2col + cunn::cuda::gemm (shapes in conv2d.h; the twin,
// whose formulas these follow, is cunn/_backends/numpy_ref/conv2d.py):
//   out[n, o, i, j] = bias[o]
//                     + sum_{c, p, q} weight[o, c, p, q] * xpad[n, c, i*sh + p - ph, j*sw + q - pw]
// The batch is processed in tiles of `samples` images (or, for one image whose columns alone
// exceed the workspace, of `pixels` output positions), so the column workspace stays below
// kWorkspaceFloats whatever the batch. A tile's column matrix is (C*kh*kw, samples*pixels):
//   col[(c*kh + p)*kw + q, s*pixels + t] = xpad[s0 + s, c, i*sh + p - ph, j*sw + q - pw],
//   (i, j) the output position p0 + t.
// The input gradient gathers each input element's column entries in (p, q) order (no
// atomics, so it is deterministic), and the weight gradient is one GEMM per tile that
// accumulates into grad_weight tile after tile, in tile order.
#include "cuda/conv2d.h"

#include <algorithm>

#include "cuda/gemm.h"
#include "cuda/layer_common.cuh"

namespace cunn::cuda {
namespace {

using layers::blocks_for;
using layers::check_launch;
using layers::first_index;
using layers::grid_stride;
using layers::kThreads;

// 64 MiB of float32 columns per tile.
constexpr std::int64_t kWorkspaceFloats = std::int64_t{1} << 24;

struct Tiling {
  std::int64_t samples;  // images per tile
  std::int64_t pixels;   // output positions per tile (out_h * out_w unless samples == 1)
};

// Tiles whose workspace rows (C*kh*kw columns plus `extra_rows`) fit kWorkspaceFloats.
// A single output position needing more than the budget still gets a tile of 1.
Tiling plan(const Conv2dShape& s, std::int64_t rows) {
  const std::int64_t plane = s.out_h * s.out_w;
  const std::int64_t per_sample = rows * plane;
  if (per_sample <= kWorkspaceFloats)
    return {std::max<std::int64_t>(1, std::min(s.batch, kWorkspaceFloats / per_sample)), plane};
  return {1, std::max<std::int64_t>(1, std::min(plane, kWorkspaceFloats / rows))};
}

__host__ __device__ std::int64_t column_rows(const Conv2dShape& s) {
  return s.channels * s.kernel_h * s.kernel_w;
}

__global__ void im2col_kernel(float* col, const float* x, Conv2dShape s, std::int64_t first_sample,
                              std::int64_t samples, std::int64_t first_pixel, std::int64_t pixels) {
  const std::int64_t width = samples * pixels;
  const std::int64_t total = column_rows(s) * width;
  for (std::int64_t e = first_index(); e < total; e += grid_stride()) {
    const std::int64_t r = e / width, rest = e - r * width;
    const std::int64_t sample = rest / pixels;
    const std::int64_t pixel = first_pixel + (rest - sample * pixels);
    const std::int64_t i = pixel / s.out_w, j = pixel - i * s.out_w;
    const std::int64_t q = r % s.kernel_w, p = (r / s.kernel_w) % s.kernel_h;
    const std::int64_t c = r / (s.kernel_w * s.kernel_h);
    const std::int64_t row = i * s.stride_h - s.pad_h + p;
    const std::int64_t column = j * s.stride_w - s.pad_w + q;
    float value = 0.0f;
    if (row >= 0 && row < s.height && column >= 0 && column < s.width)
      value = x[(((first_sample + sample) * s.channels + c) * s.height + row) * s.width + column];
    col[e] = value;
  }
}

// grad_input of the tile's images from its column gradient: each input element sums the
// entries of the (p, q) offsets that read it, p then q ascending as the twin adds them.
// Only offsets with p = (h + ph) mod sh (likewise q) can land on an output row (column).
// With pixel tiles (accumulate), later tiles add to what the earlier ones wrote.
__global__ void col2im_kernel(float* grad_input, const float* col, Conv2dShape s,
                              std::int64_t first_sample, std::int64_t samples,
                              std::int64_t first_pixel, std::int64_t pixels, bool accumulate) {
  const std::int64_t width = samples * pixels;
  const std::int64_t plane = s.height * s.width;
  const std::int64_t total = samples * s.channels * plane;
  for (std::int64_t e = first_index(); e < total; e += grid_stride()) {
    const std::int64_t w = e % s.width, h = (e / s.width) % s.height;
    const std::int64_t c = (e / plane) % s.channels, sample = e / (plane * s.channels);
    const std::int64_t padded_h = h + s.pad_h, padded_w = w + s.pad_w;
    float sum = 0.0f;
    for (std::int64_t p = padded_h % s.stride_h; p < s.kernel_h && p <= padded_h; p += s.stride_h) {
      const std::int64_t i = (padded_h - p) / s.stride_h;
      if (i >= s.out_h) continue;
      for (std::int64_t q = padded_w % s.stride_w; q < s.kernel_w && q <= padded_w;
           q += s.stride_w) {
        const std::int64_t j = (padded_w - q) / s.stride_w;
        if (j >= s.out_w) continue;
        const std::int64_t t = i * s.out_w + j - first_pixel;
        if (t < 0 || t >= pixels) continue;
        const std::int64_t r = (c * s.kernel_h + p) * s.kernel_w + q;
        sum += col[r * width + sample * pixels + t];
      }
    }
    float* target = grad_input + first_sample * s.channels * plane + e;
    *target = accumulate ? *target + sum : sum;
  }
}

// The tile's grad_output as (O, samples*pixels), the layout of the column matrix.
__global__ void gather_grad_output_kernel(float* tile, const float* grad_output, Conv2dShape s,
                                          std::int64_t first_sample, std::int64_t samples,
                                          std::int64_t first_pixel, std::int64_t pixels) {
  const std::int64_t width = samples * pixels;
  const std::int64_t plane = s.out_h * s.out_w;
  const std::int64_t total = s.out_channels * width;
  for (std::int64_t e = first_index(); e < total; e += grid_stride()) {
    const std::int64_t o = e / width, rest = e - o * width;
    const std::int64_t sample = rest / pixels, t = rest - sample * pixels;
    tile[e] = grad_output[((first_sample + sample) * s.out_channels + o) * plane + first_pixel + t];
  }
}

// out[n, o, :, :] += bias[o], after the GEMMs (the twin adds the bias to the product).
__global__ void add_bias_kernel(float* out, const float* bias, std::int64_t channels,
                                std::int64_t plane, std::int64_t total) {
  for (std::int64_t e = first_index(); e < total; e += grid_stride())
    out[e] += bias[(e / plane) % channels];
}

void zero(float* data, std::int64_t count, const char* op) {
  const cudaError_t error =
      cudaMemsetAsync(data, 0, static_cast<std::size_t>(count) * sizeof(float));
  if (error != cudaSuccess)
    throw std::runtime_error(std::string(op) + ": cudaMemsetAsync failed: " +
                             cudaGetErrorString(error));
}

// Calls body(first_sample, samples, first_pixel, pixels) for every tile, in order.
template <class Body>
void for_each_tile(const Conv2dShape& s, const Tiling& tiling, const Body& body) {
  const std::int64_t plane = s.out_h * s.out_w;
  for (std::int64_t s0 = 0; s0 < s.batch; s0 += tiling.samples) {
    const std::int64_t samples = std::min(tiling.samples, s.batch - s0);
    for (std::int64_t p0 = 0; p0 < plane; p0 += tiling.pixels)
      body(s0, samples, p0, std::min(tiling.pixels, plane - p0));
  }
}

}  // namespace

void conv2d_forward(const Conv2dShape& s, float* out, const float* x, const float* weight,
                    const float* bias) {
  const std::int64_t plane = s.out_h * s.out_w;
  const std::int64_t total = s.batch * s.out_channels * plane;
  if (total == 0) return;
  const std::int64_t rows = column_rows(s);
  if (rows == 0) {
    zero(out, total, "conv2d_forward");
  } else {
    const Tiling tiling = plan(s, rows);
    layers::Workspace workspace(
        static_cast<std::size_t>(rows * tiling.samples * tiling.pixels) * sizeof(float));
    float* col = workspace.as<float>();
    for_each_tile(s, tiling, [&](std::int64_t s0, std::int64_t samples, std::int64_t p0,
                                 std::int64_t pixels) {
      im2col_kernel<<<blocks_for(rows * samples * pixels), kThreads>>>(col, x, s, s0, samples, p0,
                                                                        pixels);
      check_launch("conv2d_forward (im2col)");
      // Image s of the tile: out[s0 + s][:, p0:p0 + pixels] = weight (O, rows) @ its columns.
      gemm_strided_batched(false, false, s.out_channels, pixels, rows, 1.0f, weight, rows, 0, col,
                           samples * pixels, pixels, 0.0f, out + s0 * s.out_channels * plane + p0,
                           plane, s.out_channels * plane, samples);
      check_launch("conv2d_forward (gemm)");
    });
  }
  if (bias != nullptr) {
    add_bias_kernel<<<blocks_for(total), kThreads>>>(out, bias, s.out_channels, plane, total);
    check_launch("conv2d_forward (bias)");
  }
}

void conv2d_backward_input(const Conv2dShape& s, float* grad_input, const float* grad_output,
                           const float* weight) {
  const std::int64_t total = s.batch * s.channels * s.height * s.width;
  if (total == 0) return;
  const std::int64_t rows = column_rows(s);
  if (s.out_channels == 0) {
    zero(grad_input, total, "conv2d_backward_input");
    return;
  }
  const std::int64_t plane = s.out_h * s.out_w;
  const Tiling tiling = plan(s, rows);
  layers::Workspace workspace(
      static_cast<std::size_t>(rows * tiling.samples * tiling.pixels) * sizeof(float));
  float* col = workspace.as<float>();
  for_each_tile(s, tiling, [&](std::int64_t s0, std::int64_t samples, std::int64_t p0,
                               std::int64_t pixels) {
    // Columns of image s: weight^T (rows, O) @ grad_output[s0 + s][:, p0:p0 + pixels].
    gemm_strided_batched(true, false, rows, pixels, s.out_channels, 1.0f, weight, rows, 0,
                         grad_output + s0 * s.out_channels * plane + p0, plane,
                         s.out_channels * plane, 0.0f, col, samples * pixels, pixels, samples);
    check_launch("conv2d_backward_input (gemm)");
    col2im_kernel<<<blocks_for(samples * s.channels * s.height * s.width), kThreads>>>(
        grad_input, col, s, s0, samples, p0, pixels, p0 > 0);
    check_launch("conv2d_backward_input (col2im)");
  });
}

void conv2d_backward_weight(const Conv2dShape& s, float* grad_weight, const float* grad_output,
                            const float* x) {
  const std::int64_t rows = column_rows(s);
  const std::int64_t total = s.out_channels * rows;
  if (total == 0) return;
  if (s.batch == 0) {
    zero(grad_weight, total, "conv2d_backward_weight");
    return;
  }
  // The workspace holds the tile's columns and its grad_output (O rows) side by side.
  const Tiling tiling = plan(s, rows + s.out_channels);
  const std::int64_t tile_width = tiling.samples * tiling.pixels;
  layers::Workspace workspace(
      static_cast<std::size_t>((rows + s.out_channels) * tile_width) * sizeof(float));
  float* col = workspace.as<float>();
  float* grad_tile = col + rows * tile_width;
  bool first = true;
  for_each_tile(s, tiling, [&](std::int64_t s0, std::int64_t samples, std::int64_t p0,
                               std::int64_t pixels) {
    const std::int64_t width = samples * pixels;
    im2col_kernel<<<blocks_for(rows * width), kThreads>>>(col, x, s, s0, samples, p0, pixels);
    check_launch("conv2d_backward_weight (im2col)");
    gather_grad_output_kernel<<<blocks_for(s.out_channels * width), kThreads>>>(
        grad_tile, grad_output, s, s0, samples, p0, pixels);
    check_launch("conv2d_backward_weight (gather grad_output)");
    // grad_weight (O, rows) (+)= grad_tile (O, width) @ col^T (width, rows).
    gemm(false, true, s.out_channels, rows, width, 1.0f, grad_tile, width, col, width,
         first ? 0.0f : 1.0f, grad_weight, rows);
    check_launch("conv2d_backward_weight (gemm)");
    first = false;
  });
}

}  // namespace cunn::cuda
