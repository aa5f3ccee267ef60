// Batch and layer normalisation on the device (math and layouts in normalization.h, twin
// cunn/_backends/numpy_ref/normalization.py). Each float operation goes through a
// round-to-nearest intrinsic (never fused), rounded where the twin rounds it.
//
// Sums are deterministic: a block adds its elements in per-thread double accumulators, then
// warp shuffles and the warp totals in warp order (block_sum); a reduction larger than one
// block is cut into chunks whose count depends only on the sizes, and the chunk totals are
// added in chunk order by a second kernel. So results never depend on the GPU or timing.
#include "cuda/normalization.h"

#include <algorithm>

#include "cuda/layer_common.cuh"

namespace cunn::cuda {
namespace {

using layers::blocks_for;
using layers::check_launch;
using layers::first_index;
using layers::grid_stride;
using layers::kThreads;

using layers::rounded::add;
using layers::rounded::div;
using layers::rounded::mul;
using layers::rounded::root;
using layers::rounded::sub;

// The sum of `value` over the block (blockDim.x a multiple of 32, at most 1024), returned to
// every thread. `shared` holds 33 doubles; the last barrier lets the caller reuse it at once.
__device__ double block_sum(double value, double* shared) {
  const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
  const unsigned warps = blockDim.x >> 5;
  for (int offset = 16; offset > 0; offset >>= 1)
    value += __shfl_down_sync(0xffffffffu, value, offset);
  if (lane == 0) shared[warp] = value;
  __syncthreads();
  if (warp == 0) {
    value = lane < warps ? shared[lane] : 0.0;
    for (int offset = 16; offset > 0; offset >>= 1)
      value += __shfl_down_sync(0xffffffffu, value, offset);
    if (lane == 0) shared[32] = value;
  }
  __syncthreads();
  const double total = shared[32];
  __syncthreads();
  return total;
}

// ---- batch norm: per-channel sums in two stages --------------------------------------------

// Elements of one channel per chunk: at least kMinChunk, and at most kMaxChunks chunks.
constexpr std::int64_t kMinChunk = 4096;
constexpr std::int64_t kMaxChunks = 64;

struct ChannelPlan {
  std::int64_t n, c, inner, chunk, chunks;
};

// With inner == 1 (BatchNorm1d) a channel's values are strided by c, so one thread sums a
// chunk of one channel (neighbouring threads reading neighbouring channels) and chunks are
// shorter: kMinColumnChunk values.
constexpr std::int64_t kMinColumnChunk = 256;

ChannelPlan channel_plan(std::int64_t n, std::int64_t c, std::int64_t inner) {
  const std::int64_t count = n * inner;
  const std::int64_t minimum = inner == 1 ? kMinColumnChunk : kMinChunk;
  const std::int64_t chunk = std::max(minimum, (count + kMaxChunks - 1) / kMaxChunks);
  return {n, c, inner, chunk, std::max<std::int64_t>(1, (count + chunk - 1) / chunk)};
}

// Terms: first += x.
struct SumTerm {
  const float* x;
  __device__ void operator()(std::int64_t, std::int64_t o, double& first, double&) const {
    first += x[o];
  }
};

// Terms: first += (x - mean)^2, the square rounded to float as the twin's float32 product.
struct SquareTerm {
  const float* x;
  const float* mean;
  __device__ void operator()(std::int64_t channel, std::int64_t o, double& first,
                             double&) const {
    const float centered = sub(x[o], mean[channel]);
    first += mul(centered, centered);
  }
};

// Terms: first += g, second += g * (x - mean).
struct GradTerms {
  const float* grad_output;
  const float* x;
  const float* mean;
  __device__ void operator()(std::int64_t channel, std::int64_t o, double& first,
                             double& second) const {
    const float g = grad_output[o];
    first += g;
    second += mul(g, sub(x[o], mean[channel]));
  }
};

// Block b = (channel, chunk) writes its chunk's two sums to partials[2b], partials[2b + 1].
template <class Terms>
__global__ void channel_partials_kernel(double* partials, Terms terms, ChannelPlan p) {
  __shared__ double shared[33];
  const std::int64_t count = p.n * p.inner;
  for (std::int64_t b = blockIdx.x; b < p.c * p.chunks; b += gridDim.x) {
    const std::int64_t channel = b / p.chunks, chunk = b - channel * p.chunks;
    const std::int64_t begin = chunk * p.chunk;
    const std::int64_t end = min(count, begin + p.chunk);
    double first = 0.0, second = 0.0;
    for (std::int64_t e = begin + threadIdx.x; e < end; e += blockDim.x) {
      const std::int64_t sample = e / p.inner, l = e - sample * p.inner;
      terms(channel, (sample * p.c + channel) * p.inner + l, first, second);
    }
    first = block_sum(first, shared);
    second = block_sum(second, shared);
    if (threadIdx.x == 0) {
      partials[2 * b] = first;
      partials[2 * b + 1] = second;
    }
  }
}

// inner == 1: thread (chunk, channel) sums the chunk's samples of its channel in order and
// writes them where channel_partials_kernel would.
template <class Terms>
__global__ void column_partials_kernel(double* partials, Terms terms, ChannelPlan p) {
  for (std::int64_t e = first_index(); e < p.c * p.chunks; e += grid_stride()) {
    const std::int64_t chunk = e / p.c, channel = e - chunk * p.c;
    const std::int64_t end = min(p.n, (chunk + 1) * p.chunk);
    double first = 0.0, second = 0.0;
    for (std::int64_t sample = chunk * p.chunk; sample < end; ++sample)
      terms(channel, sample * p.c + channel, first, second);
    const std::int64_t b = channel * p.chunks + chunk;
    partials[2 * b] = first;
    partials[2 * b + 1] = second;
  }
}

// One thread per channel adds the chunk sums in chunk order and hands them to `finish`.
template <class Finish>
__global__ void channel_finish_kernel(const double* partials, ChannelPlan p, Finish finish) {
  for (std::int64_t channel = first_index(); channel < p.c; channel += grid_stride()) {
    double first = 0.0, second = 0.0;
    for (std::int64_t k = 0; k < p.chunks; ++k) {
      first += partials[2 * (channel * p.chunks + k)];
      second += partials[2 * (channel * p.chunks + k) + 1];
    }
    finish(channel, first, second);
  }
}

// mean or variance: the sum over the channel's n * inner elements, divided in double and
// rounded (0 / 0 = NaN for an empty batch, as the twin).
struct AverageFinish {
  float* result;
  double count;
  __device__ void operator()(std::int64_t channel, double first, double) const {
    result[channel] = static_cast<float>(first / count);
  }
};

// The weight and bias gradients, and per channel the coefficients of the grad_x pass:
// coefficients[3c] = invstd * weight, [3c + 1] = mean_grad, [3c + 2] = proj_scale.
struct BackwardFinish {
  float* grad_weight;
  float* grad_bias;
  float* coefficients;
  const float* invstd;
  const float* weight;
  double count;
  bool batch_statistics;
  __device__ void operator()(std::int64_t channel, double grad_sum, double projection) const {
    const float scale = invstd[channel];
    grad_bias[channel] = static_cast<float>(grad_sum);
    grad_weight[channel] = static_cast<float>(projection * static_cast<double>(scale));
    coefficients[3 * channel] = mul(scale, weight != nullptr ? weight[channel] : 1.0f);
    if (batch_statistics) {
      coefficients[3 * channel + 1] = static_cast<float>(grad_sum / count);
      coefficients[3 * channel + 2] =
          mul(mul(static_cast<float>(projection / count), scale), scale);
    }
  }
};

template <class Terms, class Finish>
void reduce_channels(const char* kernel, const ChannelPlan& plan, double* partials,
                     const Terms& terms, const Finish& finish) {
  if (plan.inner == 1)
    column_partials_kernel<<<blocks_for(plan.c * plan.chunks), kThreads>>>(partials, terms, plan);
  else
    channel_partials_kernel<<<blocks_for(plan.c * plan.chunks, 1), kThreads>>>(partials, terms,
                                                                               plan);
  check_launch(kernel);
  channel_finish_kernel<<<blocks_for(plan.c), kThreads>>>(partials, plan, finish);
  check_launch(kernel);
}

__global__ void invstd_kernel(float* invstd, const float* var, std::int64_t c, float eps) {
  for (std::int64_t channel = first_index(); channel < c; channel += grid_stride())
    invstd[channel] = div(1.0f, root(add(var[channel], eps)));
}

__global__ void batch_norm_forward_kernel(float* out, const float* x, const float* mean,
                                          const float* invstd, const float* weight,
                                          const float* bias, std::int64_t c, std::int64_t inner,
                                          std::int64_t total) {
  for (std::int64_t e = first_index(); e < total; e += grid_stride()) {
    const std::int64_t channel = (e / inner) % c;
    const float scale = mul(invstd[channel], weight != nullptr ? weight[channel] : 1.0f);
    const float shift = sub(bias != nullptr ? bias[channel] : 0.0f, mul(mean[channel], scale));
    out[e] = add(mul(x[e], scale), shift);
  }
}

__global__ void batch_norm_grad_x_kernel(float* grad_x, const float* grad_output, const float* x,
                                         const float* mean, const float* coefficients,
                                         std::int64_t c, std::int64_t inner, std::int64_t total,
                                         bool batch_statistics) {
  for (std::int64_t e = first_index(); e < total; e += grid_stride()) {
    const std::int64_t channel = (e / inner) % c;
    const float scale = coefficients[3 * channel];
    if (!batch_statistics) {
      grad_x[e] = mul(grad_output[e], scale);
      continue;
    }
    const float mean_grad = coefficients[3 * channel + 1];
    const float projection_scale = coefficients[3 * channel + 2];
    const float centered = sub(x[e], mean[channel]);
    grad_x[e] =
        mul(sub(sub(grad_output[e], mean_grad), mul(centered, projection_scale)), scale);
  }
}

// ---- layer norm: one block per row, columns summed in two stages ----------------------------

// Threads per row block: the row length rounded up to a warp multiple, at most 256.
int row_threads(std::int64_t cols) {
  const std::int64_t warps_needed = (cols + 31) / 32;
  return static_cast<int>(32 * std::min<std::int64_t>(8, std::max<std::int64_t>(1, warps_needed)));
}

unsigned int row_blocks(std::int64_t rows) {
  return static_cast<unsigned int>(
      std::max<std::int64_t>(1, std::min<std::int64_t>(rows, 65536)));
}

__global__ void layer_norm_forward_kernel(float* out, float* mean, float* invstd, const float* x,
                                          const float* weight, const float* bias,
                                          std::int64_t rows, std::int64_t cols, float eps) {
  __shared__ double shared[33];
  const double count = static_cast<double>(cols);
  for (std::int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* values = x + row * cols;
    double sum = 0.0;
    for (std::int64_t i = threadIdx.x; i < cols; i += blockDim.x) sum += values[i];
    const float center = static_cast<float>(block_sum(sum, shared) / count);
    double squares = 0.0;
    for (std::int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
      const float centered = sub(values[i], center);
      squares += mul(centered, centered);
    }
    const float var = static_cast<float>(block_sum(squares, shared) / count);
    const float scale = div(1.0f, root(add(var, eps)));
    if (threadIdx.x == 0) {
      mean[row] = center;
      invstd[row] = scale;
    }
    float* y = out + row * cols;
    for (std::int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
      float value = mul(sub(values[i], center), scale);
      if (weight != nullptr) value = mul(value, weight[i]);
      if (bias != nullptr) value = add(value, bias[i]);
      y[i] = value;
    }
  }
}

__global__ void layer_norm_grad_x_kernel(float* grad_x, const float* grad_output, const float* x,
                                         const float* mean, const float* invstd,
                                         const float* weight, std::int64_t rows,
                                         std::int64_t cols) {
  __shared__ double shared[33];
  const float inverse_count = div(1.0f, static_cast<float>(cols));
  for (std::int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* g = grad_output + row * cols;
    const float* values = x + row * cols;
    const float center = mean[row], scale = invstd[row];
    double h_sum = 0.0, projection_sum = 0.0;
    for (std::int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
      const float h = weight != nullptr ? mul(g[i], weight[i]) : g[i];
      h_sum += h;
      projection_sum += mul(h, mul(sub(values[i], center), scale));
    }
    const float h_mean = mul(static_cast<float>(block_sum(h_sum, shared)), inverse_count);
    const float projection =
        mul(static_cast<float>(block_sum(projection_sum, shared)), inverse_count);
    float* out = grad_x + row * cols;
    for (std::int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
      const float h = weight != nullptr ? mul(g[i], weight[i]) : g[i];
      const float normalized = mul(sub(values[i], center), scale);
      out[i] = mul(scale, sub(sub(h, h_mean), mul(normalized, projection)));
    }
  }
}

// Rows per chunk of the column sums: at least kMinRows, at most kMaxRowChunks chunks.
constexpr std::int64_t kMinRows = 32;
constexpr std::int64_t kMaxRowChunks = 128;

// Thread (chunk, column): partials[chunk * cols + column] = Σ g * xhat over the chunk's rows,
// partials[(chunks + chunk) * cols + column] = Σ g.
__global__ void layer_norm_column_partials_kernel(double* partials, const float* grad_output,
                                                  const float* x, const float* mean,
                                                  const float* invstd, std::int64_t rows,
                                                  std::int64_t cols, std::int64_t chunk_rows,
                                                  std::int64_t chunks) {
  for (std::int64_t e = first_index(); e < chunks * cols; e += grid_stride()) {
    const std::int64_t chunk = e / cols, column = e - chunk * cols;
    const std::int64_t end = min(rows, (chunk + 1) * chunk_rows);
    double weight_sum = 0.0, bias_sum = 0.0;
    for (std::int64_t row = chunk * chunk_rows; row < end; ++row) {
      const std::int64_t o = row * cols + column;
      const float g = grad_output[o];
      weight_sum += mul(g, mul(sub(x[o], mean[row]), invstd[row]));
      bias_sum += g;
    }
    partials[e] = weight_sum;
    partials[chunks * cols + e] = bias_sum;
  }
}

__global__ void layer_norm_column_finish_kernel(float* grad_weight, float* grad_bias,
                                                const double* partials, std::int64_t cols,
                                                std::int64_t chunks) {
  for (std::int64_t column = first_index(); column < cols; column += grid_stride()) {
    double weight_sum = 0.0, bias_sum = 0.0;
    for (std::int64_t chunk = 0; chunk < chunks; ++chunk) {
      weight_sum += partials[chunk * cols + column];
      bias_sum += partials[(chunks + chunk) * cols + column];
    }
    grad_weight[column] = static_cast<float>(weight_sum);
    grad_bias[column] = static_cast<float>(bias_sum);
  }
}

}  // namespace

void batch_norm_statistics(float* mean, float* var, const float* x, std::int64_t n,
                           std::int64_t c, std::int64_t inner) {
  if (c == 0) return;
  const ChannelPlan plan = channel_plan(n, c, inner);
  layers::Workspace workspace(static_cast<std::size_t>(2 * c * plan.chunks) * sizeof(double));
  double* partials = workspace.as<double>();
  const double count = static_cast<double>(n * inner);
  reduce_channels("batch_norm_statistics (mean)", plan, partials, SumTerm{x},
                  AverageFinish{mean, count});
  reduce_channels("batch_norm_statistics (var)", plan, partials, SquareTerm{x, mean},
                  AverageFinish{var, count});
}

void batch_norm_forward(float* out, float* invstd, const float* x, const float* mean,
                        const float* var, const float* weight, const float* bias, std::int64_t n,
                        std::int64_t c, std::int64_t inner, float eps) {
  if (c == 0) return;
  invstd_kernel<<<blocks_for(c), kThreads>>>(invstd, var, c, eps);
  check_launch("batch_norm_forward (invstd)");
  const std::int64_t total = n * c * inner;
  if (total == 0) return;
  batch_norm_forward_kernel<<<blocks_for(total), kThreads>>>(out, x, mean, invstd, weight, bias,
                                                             c, inner, total);
  check_launch("batch_norm_forward");
}

void batch_norm_backward(float* grad_x, float* grad_weight, float* grad_bias,
                         const float* grad_output, const float* x, const float* mean,
                         const float* invstd, const float* weight, std::int64_t n,
                         std::int64_t c, std::int64_t inner, bool batch_statistics) {
  if (c == 0) return;
  const ChannelPlan plan = channel_plan(n, c, inner);
  // The chunk sums (2 doubles per chunk), then 3 floats of coefficients per channel.
  const std::size_t partial_bytes = static_cast<std::size_t>(2 * c * plan.chunks) * sizeof(double);
  layers::Workspace workspace(partial_bytes + static_cast<std::size_t>(3 * c) * sizeof(float));
  double* partials = workspace.as<double>();
  float* coefficients = reinterpret_cast<float*>(workspace.as<char>() + partial_bytes);
  const double count = static_cast<double>(n * inner);
  reduce_channels("batch_norm_backward (sums)", plan, partials, GradTerms{grad_output, x, mean},
                  BackwardFinish{grad_weight, grad_bias, coefficients, invstd, weight, count,
                                 batch_statistics});
  const std::int64_t total = n * c * inner;
  if (total == 0) return;
  batch_norm_grad_x_kernel<<<blocks_for(total), kThreads>>>(
      grad_x, grad_output, x, mean, coefficients, c, inner, total, batch_statistics);
  check_launch("batch_norm_backward (grad_x)");
}

void layer_norm_forward(float* out, float* mean, float* invstd, const float* x,
                        const float* weight, const float* bias, std::int64_t rows,
                        std::int64_t cols, float eps) {
  if (rows == 0) return;
  layer_norm_forward_kernel<<<row_blocks(rows), row_threads(cols)>>>(out, mean, invstd, x, weight,
                                                                     bias, rows, cols, eps);
  check_launch("layer_norm_forward");
}

void layer_norm_backward(float* grad_x, float* grad_weight, float* grad_bias,
                         const float* grad_output, const float* x, const float* mean,
                         const float* invstd, const float* weight, std::int64_t rows,
                         std::int64_t cols) {
  if (cols == 0) return;
  if (rows > 0) {
    layer_norm_grad_x_kernel<<<row_blocks(rows), row_threads(cols)>>>(
        grad_x, grad_output, x, mean, invstd, weight, rows, cols);
    check_launch("layer_norm_backward (grad_x)");
  }
  if (grad_weight == nullptr) return;
  const std::int64_t chunk_rows =
      std::max(kMinRows, (rows + kMaxRowChunks - 1) / kMaxRowChunks);
  const std::int64_t chunks = std::max<std::int64_t>(1, (rows + chunk_rows - 1) / chunk_rows);
  layers::Workspace workspace(static_cast<std::size_t>(2 * chunks * cols) * sizeof(double));
  double* partials = workspace.as<double>();
  layer_norm_column_partials_kernel<<<blocks_for(chunks * cols), kThreads>>>(
      partials, grad_output, x, mean, invstd, rows, cols, chunk_rows, chunks);
  check_launch("layer_norm_backward (column sums)");
  layer_norm_column_finish_kernel<<<blocks_for(cols), kThreads>>>(grad_weight, grad_bias,
                                                                  partials, cols, chunks);
  check_launch("layer_norm_backward (column totals)");
}

}  // namespace cunn::cuda
