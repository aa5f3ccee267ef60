// Batch and layer normalisation (math, layout and reference in normalization.h).
//
// Threads take whole channels (batch norm reductions), whole rows (every pointwise pass,
// layer norm) or whole columns (layer norm's weight gradient), so each sum is taken in one
// order whatever the thread count. A sum over one channel adds its contiguous rows of L
// values in 16 float lanes and each row's total into a double; for L == 1 (BatchNorm1d)
// channels are contiguous and each channel sums its N values in double, vectorised across
// channels.
#include "kernels/normalization.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "dispatch/parallel.h"

namespace cunn::kernels {
namespace {

// As the other memory-bound kernels (elementwise.cpp): threads pay off from ~64k elements.
constexpr int64_t kGrain = 32768;
constexpr int kLanes = 16;

int64_t grain_for(int64_t elements_per_item) {
  return std::max<int64_t>(1, kGrain / std::max<int64_t>(1, elements_per_item));
}

// Σ term(i) over i in [0, n) in kLanes float lanes, lanes combined in a fixed order.
template <class Term>
double row_sum(int64_t n, const Term& term) {
  float lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) lane[k] += term(i + k);
  for (int k = 0; i + k < n; ++k) lane[k] += term(i + k);
  double total = 0.0;
  for (int k = 0; k < kLanes; ++k) total += lane[k];
  return total;
}

// The same for two sums in one pass.
template <class First, class Second>
void row_sums(int64_t n, const First& first_term, const Second& second_term, double* first,
              double* second) {
  float lane[kLanes] = {}, other[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      lane[k] += first_term(i + k);
      other[k] += second_term(i + k);
    }
  }
  for (int k = 0; i + k < n; ++k) {
    lane[k] += first_term(i + k);
    other[k] += second_term(i + k);
  }
  double total = 0.0, other_total = 0.0;
  for (int k = 0; k < kLanes; ++k) {
    total += lane[k];
    other_total += other[k];
  }
  *first = total;
  *second = other_total;
}

// first[c] = Σ first_term(c, o), second[c] = Σ second_term(c, o) over the flat offsets o of
// channel c, for every channel.
template <class First, class Second>
void reduce_channels(const ChannelShape& s, double* first, double* second,
                     const First& first_term, const Second& second_term) {
  const int64_t channels = s.channels, inner = s.inner, batch = s.batch;
  parallel_for(0, channels, grain_for(batch * inner), [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) first[c] = second[c] = 0.0;
    if (inner == 1) {
      for (int64_t n = 0; n < batch; ++n) {
        const int64_t row = n * channels;
        for (int64_t c = lo; c < hi; ++c) {
          first[c] += first_term(c, row + c);
          second[c] += second_term(c, row + c);
        }
      }
      return;
    }
    for (int64_t c = lo; c < hi; ++c) {
      for (int64_t n = 0; n < batch; ++n) {
        const int64_t base = (n * channels + c) * inner;
        double first_row, second_row;
        row_sums(inner, [&](int64_t l) { return first_term(c, base + l); },
                 [&](int64_t l) { return second_term(c, base + l); }, &first_row, &second_row);
        first[c] += first_row;
        second[c] += second_row;
      }
    }
  });
}

// body(c, offset) once per (n, c) row of L contiguous elements starting at offset, threads
// taking whole rows.
template <class Body>
void for_each_channel_row(const ChannelShape& s, const Body& body) {
  const int64_t channels = s.channels, inner = s.inner;
  parallel_for(0, s.batch * channels, grain_for(inner), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) body(r % channels, r * inner);
  });
}

float inverse_std(double variance, float eps) {
  return 1.0f / std::sqrt(static_cast<float>(variance) + eps);
}

}  // namespace

void batch_norm_statistics(const ChannelShape& s, const float* x, float* mean, float* var) {
  const int64_t channels = s.channels;
  const double count = static_cast<double>(s.batch * s.inner);
  std::vector<double> sum(channels), unused(channels), squares(channels);
  reduce_channels(s, sum.data(), unused.data(), [&](int64_t, int64_t o) { return x[o]; },
                  [](int64_t, int64_t) { return 0.0f; });
  std::vector<float> center(channels);
  for (int64_t c = 0; c < channels; ++c) {
    mean[c] = static_cast<float>(sum[c] / count);
    center[c] = mean[c];
  }
  const float* centers = center.data();
  reduce_channels(s, squares.data(), unused.data(), [&](int64_t c, int64_t o) {
    const float d = x[o] - centers[c];
    return d * d;
  }, [](int64_t, int64_t) { return 0.0f; });
  for (int64_t c = 0; c < channels; ++c) var[c] = static_cast<float>(squares[c] / count);
}

void batch_norm_forward(const ChannelShape& s, const float* x, const float* mean, const float* var,
                        const float* weight, const float* bias, float eps, float* out,
                        float* invstd) {
  std::vector<float> scale(s.channels), shift(s.channels);
  for (int64_t c = 0; c < s.channels; ++c) {
    invstd[c] = inverse_std(var[c], eps);
    scale[c] = invstd[c] * (weight ? weight[c] : 1.0f);
    shift[c] = (bias ? bias[c] : 0.0f) - mean[c] * scale[c];
  }
  const int64_t inner = s.inner;
  for_each_channel_row(s, [&](int64_t c, int64_t offset) {
    const float a = scale[c], b = shift[c];
    const float* __restrict in = x + offset;
    float* __restrict o = out + offset;
    for (int64_t l = 0; l < inner; ++l) o[l] = in[l] * a + b;
  });
}

void batch_norm_backward(const ChannelShape& s, const float* grad_output, const float* x,
                         const float* mean, const float* invstd, const float* weight,
                         bool batch_statistics, float* grad_x, float* grad_weight,
                         float* grad_bias) {
  const int64_t channels = s.channels;
  std::vector<double> grad_sum(channels), projection(channels);
  reduce_channels(s, grad_sum.data(), projection.data(),
                  [&](int64_t, int64_t o) { return grad_output[o]; },
                  [&](int64_t c, int64_t o) { return grad_output[o] * (x[o] - mean[c]); });
  const double count = static_cast<double>(s.batch * s.inner);
  // grad_x = g * a[c] + x * b[c] + d[c] (batch statistics) or g * a[c] (fixed ones).
  std::vector<float> a(channels), b(channels), d(channels);
  for (int64_t c = 0; c < channels; ++c) {
    const float w = weight ? weight[c] : 1.0f;
    grad_bias[c] = static_cast<float>(grad_sum[c]);
    grad_weight[c] = static_cast<float>(projection[c] * invstd[c]);
    a[c] = invstd[c] * w;
    if (batch_statistics) {
      const float mean_grad = static_cast<float>(grad_sum[c] / count);
      const float proj_scale =
          static_cast<float>(projection[c] / count) * invstd[c] * invstd[c];
      // (g - mean_grad - (x - mean) * proj_scale) * a, expanded per element below.
      b[c] = proj_scale;
      d[c] = mean_grad;
    }
  }
  const int64_t inner = s.inner;
  if (!batch_statistics) {
    for_each_channel_row(s, [&](int64_t c, int64_t offset) {
      const float scale = a[c];
      const float* __restrict g = grad_output + offset;
      float* __restrict out = grad_x + offset;
      for (int64_t l = 0; l < inner; ++l) out[l] = g[l] * scale;
    });
    return;
  }
  for_each_channel_row(s, [&](int64_t c, int64_t offset) {
    const float scale = a[c], projection_scale = b[c], mean_grad = d[c], center = mean[c];
    const float* __restrict g = grad_output + offset;
    const float* __restrict in = x + offset;
    float* __restrict out = grad_x + offset;
    for (int64_t l = 0; l < inner; ++l)
      out[l] = (g[l] - mean_grad - (in[l] - center) * projection_scale) * scale;
  });
}

void layer_norm_forward(int64_t rows, int64_t size, const float* x, const float* weight,
                        const float* bias, float eps, float* out, float* mean, float* invstd) {
  const double count = static_cast<double>(size);
  parallel_for(0, rows, grain_for(size), [&](int64_t lo, int64_t hi) {
    for (int64_t m = lo; m < hi; ++m) {
      const float* row = x + m * size;
      float* y = out + m * size;
      const float center = static_cast<float>(
          row_sum(size, [&](int64_t i) { return row[i]; }) / count);
      const double squares = row_sum(size, [&](int64_t i) {
        const float d = row[i] - center;
        return d * d;
      });
      const float scale = inverse_std(squares / count, eps);
      mean[m] = center;
      invstd[m] = scale;
      for (int64_t i = 0; i < size; ++i) y[i] = (row[i] - center) * scale;
      if (weight)
        for (int64_t i = 0; i < size; ++i) y[i] *= weight[i];
      if (bias)
        for (int64_t i = 0; i < size; ++i) y[i] += bias[i];
    }
  });
}

void layer_norm_backward(int64_t rows, int64_t size, const float* grad_output, const float* x,
                         const float* mean, const float* invstd, const float* weight,
                         float* grad_x, float* grad_weight, float* grad_bias) {
  const float inverse_count = 1.0f / static_cast<float>(size);
  parallel_for(0, rows, grain_for(size), [&](int64_t lo, int64_t hi) {
    for (int64_t m = lo; m < hi; ++m) {
      const float* g = grad_output + m * size;
      const float* row = x + m * size;
      float* out = grad_x + m * size;
      const float center = mean[m], scale = invstd[m];
      auto h = [&](int64_t i) { return weight ? g[i] * weight[i] : g[i]; };
      const float h_mean = static_cast<float>(row_sum(size, h)) * inverse_count;
      const float projection = static_cast<float>(row_sum(size, [&](int64_t i) {
        return h(i) * ((row[i] - center) * scale);
      })) * inverse_count;
      for (int64_t i = 0; i < size; ++i)
        out[i] = scale * (h(i) - h_mean - (row[i] - center) * scale * projection);
    }
  });
  if (!grad_weight) return;
  // Columns: each thread sums its columns over every row in order.
  parallel_for(0, size, grain_for(rows), [&](int64_t lo, int64_t hi) {
    std::vector<double> weight_sum(hi - lo, 0.0), bias_sum(hi - lo, 0.0);
    for (int64_t m = 0; m < rows; ++m) {
      const float* g = grad_output + m * size;
      const float* row = x + m * size;
      const float center = mean[m], scale = invstd[m];
      for (int64_t i = lo; i < hi; ++i) {
        weight_sum[i - lo] += g[i] * ((row[i] - center) * scale);
        bias_sum[i - lo] += g[i];
      }
    }
    for (int64_t i = lo; i < hi; ++i) {
      grad_weight[i] = static_cast<float>(weight_sum[i - lo]);
      grad_bias[i] = static_cast<float>(bias_sum[i - lo]);
    }
  });
}

}  // namespace cunn::kernels
