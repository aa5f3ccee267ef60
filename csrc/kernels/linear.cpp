// Linear forward (GEMM with the bias folded in as beta * C), its backward (the
// three gradients in one call, so a layer's backward crosses into C++ once) and the bias
// gradient (a sum over every axis but the channel axis). Contract in linear.h.
// bias_grad accumulates in double (over short float partial sums): sums over
// N*H*W terms (tens of thousands for a conv layer) would otherwise lose digits
// against NumPy's pairwise sum.
#include "kernels/linear.h"

#include <algorithm>
#include <vector>

#include "dispatch/parallel.h"
#include "kernels/gemm.h"

namespace cunn::kernels {

void linear_forward(const float* x, const float* weight, const float* bias, float* out,
                    int64_t batch, int64_t in_features, int64_t out_features, bool relu) {
  if (batch <= 0 || out_features <= 0) return;
  // Every row starts as the bias and the GEMM adds onto it (beta 1): one pass over out.
  sgemm(false, true, batch, out_features, in_features, 1.f, x, in_features, weight, in_features,
        bias ? 1.f : 0.f, out, out_features, relu, bias);
}

void linear_backward(const float* grad_output, const float* x, const float* weight,
                     float* grad_x, float* grad_weight, float* grad_bias, int64_t batch,
                     int64_t in_features, int64_t out_features) {
  if (grad_weight)
    sgemm(true, false, out_features, in_features, batch, 1.f, grad_output, out_features, x,
          in_features, 0.f, grad_weight, in_features);
  if (grad_bias) bias_grad(grad_output, grad_bias, batch, out_features, 1);
  if (grad_x)
    sgemm(false, false, batch, in_features, out_features, 1.f, grad_output, out_features,
          weight, in_features, 0.f, grad_x, in_features);
}

namespace {

// Elements per thread below which splitting the reduction is not worth a fork.
constexpr int64_t kBiasGradGrain = 32768;
constexpr int kLanes = 8;
// Terms summed in float before they are added into the double totals: short enough
// that float rounding stays far below the final rounding to float32, long enough to
// amortise the conversions (float adds run twice as wide as double adds).
constexpr int64_t kFloatBlock = 16;

// Adds values[0:count] into kLanes interleaved double partial sums (combined later in
// lane order), via float partial sums over kFloatBlock * kLanes elements at a time.
void add_into_lanes(const float* values, int64_t count, double lanes[kLanes]) {
  int64_t i = 0;
  while (count - i >= kLanes) {
    const int64_t block_end = std::min(count - (count - i) % kLanes, i + kFloatBlock * kLanes);
    float partial[kLanes] = {};
    for (; i < block_end; i += kLanes)
      for (int lane = 0; lane < kLanes; ++lane) partial[lane] += values[i + lane];
    for (int lane = 0; lane < kLanes; ++lane) lanes[lane] += partial[lane];
  }
  for (int lane = 0; i < count; ++i, ++lane) lanes[lane] += values[i];
}

}  // namespace

void bias_grad(const float* grad_output, float* out, int64_t outer, int64_t channels,
               int64_t inner) {
  if (channels <= 0) return;
  const int64_t per_channel = outer * inner;
  const int64_t grain = std::max<int64_t>(1, kBiasGradGrain / std::max<int64_t>(1, per_channel));
  if (inner == 1) {
    // (outer, channels): add kFloatBlock rows at a time into a float row, vectorised
    // along channels, then that row into the double totals.
    parallel_for(0, channels, grain, [&](int64_t first, int64_t last) {
      const int64_t width = last - first;
      std::vector<double> sums(static_cast<size_t>(width), 0.0);
      std::vector<float> partial(static_cast<size_t>(width));
      for (int64_t block = 0; block < outer; block += kFloatBlock) {
        const int64_t block_end = std::min(outer, block + kFloatBlock);
        std::fill(partial.begin(), partial.end(), 0.f);
        for (int64_t o = block; o < block_end; ++o) {
          const float* row = grad_output + o * channels + first;
          for (int64_t c = 0; c < width; ++c) partial[c] += row[c];
        }
        for (int64_t c = 0; c < width; ++c) sums[c] += partial[c];
      }
      for (int64_t c = 0; c < width; ++c) out[first + c] = static_cast<float>(sums[c]);
    });
    return;
  }
  parallel_for(0, channels, grain, [&](int64_t first, int64_t last) {
    for (int64_t c = first; c < last; ++c) {
      double lanes[kLanes] = {};
      for (int64_t o = 0; o < outer; ++o)
        add_into_lanes(grad_output + (o * channels + c) * inner, inner, lanes);
      double total = 0.0;
      for (int lane = 0; lane < kLanes; ++lane) total += lanes[lane];
      out[c] = static_cast<float>(total);
    }
  });
}

}  // namespace cunn::kernels
