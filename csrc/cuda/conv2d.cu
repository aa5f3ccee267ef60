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

// Tiles whose workspace, `rows` floats per output position (C*kh*kw, plus O where the tile's
// grad_output is stored too), fits kWorkspaceFloats. A single output position needing more
// than the budget still gets a tile of 1.
Tiling plan(const Conv2dShape& s, std::int64_t rows) {
  const std::int64_t plane = s.out_h * s.out_w;
  const std::int64_t per_sample = rows * plane;
  if (per_sample <= kWorkspaceFloats)
    return {std::max<std::int64_t>(1, std::min(s.batch, kWorkspaceFloats / per_sample)), plane};
  return {1, std::max<std::int64_t>(1, std::min(plane, kWorkspaceFloats / rows))};
}

std::int64_t column_rows(const Conv2dShape& s) { return s.channels * s.kernel_h * s.kernel_w; }

// The geometry in the integer type the index kernels compute with: int32 when every index of
// the call fits (kernels split flat indices with divisions, and 64-bit division costs several
// times more than 32-bit on a GPU), int64 otherwise.
template <class Index>
struct Geometry {
  Index batch, channels, height, width, out_channels, kernel_h, kernel_w;
  Index stride_h, stride_w, pad_h, pad_w, out_h, out_w;
};

template <class Index>
Geometry<Index> geometry_as(const Conv2dShape& s) {
  return {static_cast<Index>(s.batch),    static_cast<Index>(s.channels),
          static_cast<Index>(s.height),   static_cast<Index>(s.width),
          static_cast<Index>(s.out_channels), static_cast<Index>(s.kernel_h),
          static_cast<Index>(s.kernel_w), static_cast<Index>(s.stride_h),
          static_cast<Index>(s.stride_w), static_cast<Index>(s.pad_h),
          static_cast<Index>(s.pad_w),    static_cast<Index>(s.out_h),
          static_cast<Index>(s.out_w)};
}

// Whether every index the kernels form for tiles of `tiling` stays below 2^30: the buffers'
// element counts, the tile's columns, and the padded extents (row = i*sh - ph + p); the
// margin above 2^30 leaves room for the grid stride past the last index.
bool fits_int32(const Conv2dShape& s, const Tiling& tiling) {
  constexpr std::int64_t kLimit = std::int64_t{1} << 30;
  const std::int64_t tile = tiling.samples * tiling.pixels;
  const std::int64_t rows = column_rows(s);
  return s.batch * s.channels * s.height * s.width < kLimit &&
         s.batch * s.out_channels * s.out_h * s.out_w < kLimit &&
         (rows + s.out_channels) * tile < kLimit && s.out_channels * rows < kLimit &&
         s.height + 2 * s.pad_h + s.kernel_h + s.stride_h < kLimit &&
         s.width + 2 * s.pad_w + s.kernel_w + s.stride_w < kLimit;
}

template <class Index>
__device__ Index first_index_as() { return static_cast<Index>(first_index()); }
template <class Index>
__device__ Index grid_stride_as() { return static_cast<Index>(grid_stride()); }

template <class Index>
__global__ void im2col_kernel(float* col, const float* x, Geometry<Index> s, Index first_sample,
                              Index samples, Index first_pixel, Index pixels) {
  const Index width = samples * pixels;
  const Index total = s.channels * s.kernel_h * s.kernel_w * width;
  for (Index e = first_index_as<Index>(); e < total; e += grid_stride_as<Index>()) {
    const Index r = e / width, rest = e - r * width;
    const Index sample = rest / pixels;
    const Index pixel = first_pixel + (rest - sample * pixels);
    const Index i = pixel / s.out_w, j = pixel - i * s.out_w;
    const Index q = r % s.kernel_w, p = (r / s.kernel_w) % s.kernel_h;
    const Index c = r / (s.kernel_w * s.kernel_h);
    const Index row = i * s.stride_h - s.pad_h + p;
    const Index column = j * s.stride_w - s.pad_w + q;
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
template <class Index>
__global__ void col2im_kernel(float* grad_input, const float* col, Geometry<Index> s,
                              Index first_sample, Index samples, Index first_pixel, Index pixels,
                              bool accumulate) {
  const Index width = samples * pixels;
  const Index plane = s.height * s.width;
  const Index total = samples * s.channels * plane;
  for (Index e = first_index_as<Index>(); e < total; e += grid_stride_as<Index>()) {
    const Index w = e % s.width, h = (e / s.width) % s.height;
    const Index c = (e / plane) % s.channels, sample = e / (plane * s.channels);
    const Index padded_h = h + s.pad_h, padded_w = w + s.pad_w;
    float sum = 0.0f;
    for (Index p = padded_h % s.stride_h; p < s.kernel_h && p <= padded_h; p += s.stride_h) {
      const Index i = (padded_h - p) / s.stride_h;
      if (i >= s.out_h) continue;
      for (Index q = padded_w % s.stride_w; q < s.kernel_w && q <= padded_w; q += s.stride_w) {
        const Index j = (padded_w - q) / s.stride_w;
        if (j >= s.out_w) continue;
        const Index t = i * s.out_w + j - first_pixel;
        if (t < 0 || t >= pixels) continue;
        const Index r = (c * s.kernel_h + p) * s.kernel_w + q;
        sum += col[r * width + sample * pixels + t];
      }
    }
    float* target = grad_input + first_sample * s.channels * plane + e;
    *target = accumulate ? *target + sum : sum;
  }
}

// The tile's grad_output as (O, samples*pixels), the layout of the column matrix.
template <class Index>
__global__ void gather_grad_output_kernel(float* tile, const float* grad_output,
                                          Geometry<Index> s, Index first_sample, Index samples,
                                          Index first_pixel, Index pixels) {
  const Index width = samples * pixels;
  const Index plane = s.out_h * s.out_w;
  const Index total = s.out_channels * width;
  for (Index e = first_index_as<Index>(); e < total; e += grid_stride_as<Index>()) {
    const Index o = e / width, rest = e - o * width;
    const Index sample = rest / pixels, t = rest - sample * pixels;
    tile[e] = grad_output[((first_sample + sample) * s.out_channels + o) * plane + first_pixel + t];
  }
}

// out[n, o, :, :] += bias[o], after the GEMMs (the twin adds the bias to the product).
template <class Index>
__global__ void add_bias_kernel(float* out, const float* bias, Index channels, Index plane,
                                Index total) {
  for (Index e = first_index_as<Index>(); e < total; e += grid_stride_as<Index>())
    out[e] += bias[(e / plane) % channels];
}

// One tile's position in the batch: images [first_sample, + samples), output positions
// [first_pixel, + pixels).
struct Tile {
  std::int64_t first_sample, samples, first_pixel, pixels;
};

void im2col(bool narrow, float* col, const float* x, const Conv2dShape& s, const Tile& t,
            const char* kernel) {
  const std::int64_t count = column_rows(s) * t.samples * t.pixels;
  if (narrow)
    im2col_kernel<std::int32_t><<<blocks_for(count), kThreads>>>(
        col, x, geometry_as<std::int32_t>(s), static_cast<std::int32_t>(t.first_sample),
        static_cast<std::int32_t>(t.samples), static_cast<std::int32_t>(t.first_pixel),
        static_cast<std::int32_t>(t.pixels));
  else
    im2col_kernel<std::int64_t><<<blocks_for(count), kThreads>>>(
        col, x, geometry_as<std::int64_t>(s), t.first_sample, t.samples, t.first_pixel,
        t.pixels);
  check_launch(kernel);
}

void col2im(bool narrow, float* grad_input, const float* col, const Conv2dShape& s,
            const Tile& t) {
  const std::int64_t count = t.samples * s.channels * s.height * s.width;
  const bool accumulate = t.first_pixel > 0;
  if (narrow)
    col2im_kernel<std::int32_t><<<blocks_for(count), kThreads>>>(
        grad_input, col, geometry_as<std::int32_t>(s), static_cast<std::int32_t>(t.first_sample),
        static_cast<std::int32_t>(t.samples), static_cast<std::int32_t>(t.first_pixel),
        static_cast<std::int32_t>(t.pixels), accumulate);
  else
    col2im_kernel<std::int64_t><<<blocks_for(count), kThreads>>>(
        grad_input, col, geometry_as<std::int64_t>(s), t.first_sample, t.samples, t.first_pixel,
        t.pixels, accumulate);
  check_launch("conv2d_backward_input (col2im)");
}

void gather_grad_output(bool narrow, float* tile, const float* grad_output, const Conv2dShape& s,
                        const Tile& t) {
  const std::int64_t count = s.out_channels * t.samples * t.pixels;
  if (narrow)
    gather_grad_output_kernel<std::int32_t><<<blocks_for(count), kThreads>>>(
        tile, grad_output, geometry_as<std::int32_t>(s),
        static_cast<std::int32_t>(t.first_sample), static_cast<std::int32_t>(t.samples),
        static_cast<std::int32_t>(t.first_pixel), static_cast<std::int32_t>(t.pixels));
  else
    gather_grad_output_kernel<std::int64_t><<<blocks_for(count), kThreads>>>(
        tile, grad_output, geometry_as<std::int64_t>(s), t.first_sample, t.samples,
        t.first_pixel, t.pixels);
  check_launch("conv2d_backward_weight (gather grad_output)");
}

void add_bias(float* out, const float* bias, const Conv2dShape& s) {
  const std::int64_t plane = s.out_h * s.out_w;
  const std::int64_t total = s.batch * s.out_channels * plane;
  constexpr std::int64_t kLimit = std::int64_t{1} << 30;
  if (total < kLimit)
    add_bias_kernel<std::int32_t><<<blocks_for(total), kThreads>>>(
        out, bias, static_cast<std::int32_t>(s.out_channels), static_cast<std::int32_t>(plane),
        static_cast<std::int32_t>(total));
  else
    add_bias_kernel<std::int64_t><<<blocks_for(total), kThreads>>>(out, bias, s.out_channels,
                                                                   plane, total);
  check_launch("conv2d_forward (bias)");
}


void zero(float* data, std::int64_t count, const char* op) {
  const cudaError_t error =
      cudaMemsetAsync(data, 0, static_cast<std::size_t>(count) * sizeof(float));
  if (error != cudaSuccess)
    throw std::runtime_error(std::string(op) + ": cudaMemsetAsync failed: " +
                             cudaGetErrorString(error));
}

// Calls body(tile) for every tile, in order.
template <class Body>
void for_each_tile(const Conv2dShape& s, const Tiling& tiling, const Body& body) {
  const std::int64_t plane = s.out_h * s.out_w;
  for (std::int64_t s0 = 0; s0 < s.batch; s0 += tiling.samples) {
    const std::int64_t samples = std::min(tiling.samples, s.batch - s0);
    for (std::int64_t p0 = 0; p0 < plane; p0 += tiling.pixels)
      body(Tile{s0, samples, p0, std::min(tiling.pixels, plane - p0)});
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
    const bool narrow = fits_int32(s, tiling);
    layers::Workspace workspace(
        static_cast<std::size_t>(rows * tiling.samples * tiling.pixels) * sizeof(float));
    float* col = workspace.as<float>();
    for_each_tile(s, tiling, [&](const Tile& t) {
      im2col(narrow, col, x, s, t, "conv2d_forward (im2col)");
      // Image i of the tile: out[first_sample + i][:, first_pixel:][:, :pixels] =
      // weight (O, rows) @ its columns (rows, pixels).
      gemm_strided_batched(false, false, s.out_channels, t.pixels, rows, 1.0f, weight, rows, 0,
                           col, t.samples * t.pixels, t.pixels, 0.0f,
                           out + t.first_sample * s.out_channels * plane + t.first_pixel, plane,
                           s.out_channels * plane, t.samples);
      check_launch("conv2d_forward (gemm)");
    });
  }
  if (bias != nullptr) add_bias(out, bias, s);
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
  const bool narrow = fits_int32(s, tiling);
  layers::Workspace workspace(
      static_cast<std::size_t>(rows * tiling.samples * tiling.pixels) * sizeof(float));
  float* col = workspace.as<float>();
  for_each_tile(s, tiling, [&](const Tile& t) {
    // Columns of image i: weight^T (rows, O) @ grad_output[first_sample + i][:, the pixels].
    gemm_strided_batched(true, false, rows, t.pixels, s.out_channels, 1.0f, weight, rows, 0,
                         grad_output + t.first_sample * s.out_channels * plane + t.first_pixel,
                         plane, s.out_channels * plane, 0.0f, col, t.samples * t.pixels,
                         t.pixels, t.samples);
    check_launch("conv2d_backward_input (gemm)");
    col2im(narrow, grad_input, col, s, t);
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
  const bool narrow = fits_int32(s, tiling);
  const std::int64_t tile_width = tiling.samples * tiling.pixels;
  layers::Workspace workspace(
      static_cast<std::size_t>((rows + s.out_channels) * tile_width) * sizeof(float));
  float* col = workspace.as<float>();
  float* grad_tile = col + rows * tile_width;
  bool first = true;
  for_each_tile(s, tiling, [&](const Tile& t) {
    const std::int64_t width = t.samples * t.pixels;
    im2col(narrow, col, x, s, t, "conv2d_backward_weight (im2col)");
    gather_grad_output(narrow, grad_tile, grad_output, s, t);
    // grad_weight (O, rows) (+)= grad_tile (O, width) @ col^T (width, rows).
    gemm(false, true, s.out_channels, rows, width, 1.0f, grad_tile, width, col, width,
         first ? 0.0f : 1.0f, grad_weight, rows);
    check_launch("conv2d_backward_weight (gemm)");
    first = false;
  });
}

}  // namespace cunn::cuda
