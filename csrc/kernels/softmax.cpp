// softmax / log_softmax forward and backward (math in softmax.h).
// Last axis (inner == 1): one contiguous row per slice, threaded over rows.
// Middle axis: a slice is n rows of `inner` columns; work items are
// (outer index, block of up to kColumnBlock columns) so that even outer == 1
// spreads over threads, and every column is reduced down its n rows with
// contiguous (vectorisable) loops. exp goes through exp_inplace (SIMD when the
// ISA allows). Each result element depends only on its own slice, so results
// do not change with the thread count.
#include "kernels/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "dispatch/parallel.h"
#include "kernels/activation.h"

namespace cunn::kernels {
namespace {

// A softmax costs a few ns per element (exp + passes); below ~4k elements per
// thread the fork/join overhead (a few microseconds) outweighs the split.
constexpr int64_t kGrainElements = 4096;
constexpr int64_t kColumnBlock = 256;

int64_t grain_items(int64_t elements_per_item) {
  return std::max<int64_t>(1, kGrainElements / std::max<int64_t>(1, elements_per_item));
}

float row_max(const float* x, int64_t n) {
  float best = x[0];
  for (int64_t k = 1; k < n; ++k) best = x[k] > best ? x[k] : best;
  return best;
}

double row_sum(const float* x, int64_t n) {
  double sum = 0.0;
  for (int64_t k = 0; k < n; ++k) sum += x[k];
  return sum;
}

// out = x - max, row by row; `exp_of` (n floats) receives exp(out).
void shifted_exp_row(const float* x, float* out, float* exp_of, int64_t n) {
  const float max = row_max(x, n);
  for (int64_t k = 0; k < n; ++k) out[k] = x[k] - max;
  std::copy(out, out + n, exp_of);
  exp_inplace(exp_of, n);
}

// Columns [0, width) of one slice (n rows, row stride `stride`):
// shifted[k][j] = x[k][j] - max_k x[.][j] (written to out), exp_of = exp of it
// (n x width, contiguous), sums[j] = sum_k exp_of[k][j].
void shifted_exp_columns(const float* x, float* out, float* exp_of, double* sums, int64_t n,
                         int64_t width, int64_t stride) {
  std::vector<float> max(x, x + width);
  for (int64_t k = 1; k < n; ++k) {
    const float* row = x + k * stride;
    for (int64_t j = 0; j < width; ++j) max[j] = row[j] > max[j] ? row[j] : max[j];
  }
  std::fill(sums, sums + width, 0.0);
  for (int64_t k = 0; k < n; ++k) {
    const float* row = x + k * stride;
    float* out_row = out + k * stride;
    float* exp_row = exp_of + k * width;
    for (int64_t j = 0; j < width; ++j) out_row[j] = exp_row[j] = row[j] - max[j];
    exp_inplace(exp_row, width);
    for (int64_t j = 0; j < width; ++j) sums[j] += exp_row[j];
  }
}

// Runs body(slice offset, column offset, width) over every (outer, column block).
template <class Body>
void for_column_blocks(int64_t outer, int64_t n, int64_t inner, const Body& body) {
  const int64_t blocks = (inner + kColumnBlock - 1) / kColumnBlock;
  parallel_for(0, outer * blocks, grain_items(n * std::min(inner, kColumnBlock)),
               [&](int64_t lo, int64_t hi) {
    for (int64_t item = lo; item < hi; ++item) {
      const int64_t o = item / blocks;
      const int64_t column = (item % blocks) * kColumnBlock;
      body(o * n * inner + column, std::min(kColumnBlock, inner - column));
    }
  });
}

template <bool kLog>
void forward(const float* x, float* out, int64_t outer, int64_t n, int64_t inner) {
  if (outer == 0 || n == 0 || inner == 0) return;
  if (inner == 1) {
    parallel_for(0, outer, grain_items(n), [&](int64_t lo, int64_t hi) {
      std::vector<float> exp_of(n);
      for (int64_t row = lo; row < hi; ++row) {
        const float* x_row = x + row * n;
        float* out_row = out + row * n;
        shifted_exp_row(x_row, out_row, exp_of.data(), n);
        const double sum = row_sum(exp_of.data(), n);
        if (kLog) {
          const float log_sum = static_cast<float>(std::log(sum));
          for (int64_t k = 0; k < n; ++k) out_row[k] -= log_sum;
        } else {
          const float scale = static_cast<float>(1.0 / sum);
          for (int64_t k = 0; k < n; ++k) out_row[k] = exp_of[k] * scale;
        }
      }
    });
    return;
  }
  for_column_blocks(outer, n, inner, [&](int64_t offset, int64_t width) {
    std::vector<float> exp_of(n * width);
    std::vector<double> sums(width);
    shifted_exp_columns(x + offset, out + offset, exp_of.data(), sums.data(), n, width, inner);
    std::vector<float> adjust(width);
    for (int64_t j = 0; j < width; ++j)
      adjust[j] = static_cast<float>(kLog ? std::log(sums[j]) : 1.0 / sums[j]);
    for (int64_t k = 0; k < n; ++k) {
      float* out_row = out + offset + k * inner;
      const float* exp_row = exp_of.data() + k * width;
      for (int64_t j = 0; j < width; ++j)
        out_row[j] = kLog ? out_row[j] - adjust[j] : exp_row[j] * adjust[j];
    }
  });
}

// softmax: grad_x = y * (g - sum(g * y)); log_softmax: grad_x = g - exp(y) * sum(g).
template <bool kLog>
void backward(const float* grad_output, const float* output, float* grad_input, int64_t outer,
              int64_t n, int64_t inner) {
  if (outer == 0 || n == 0 || inner == 0) return;
  if (inner == 1) {
    parallel_for(0, outer, grain_items(n), [&](int64_t lo, int64_t hi) {
      for (int64_t row = lo; row < hi; ++row) {
        const float* g = grad_output + row * n;
        const float* y = output + row * n;
        float* gx = grad_input + row * n;
        double total = 0.0;
        if (kLog) {
          for (int64_t k = 0; k < n; ++k) total += g[k];
          std::copy(y, y + n, gx);
          exp_inplace(gx, n);
          const float sum = static_cast<float>(total);
          for (int64_t k = 0; k < n; ++k) gx[k] = g[k] - gx[k] * sum;
        } else {
          for (int64_t k = 0; k < n; ++k) total += static_cast<double>(g[k]) * y[k];
          const float dot = static_cast<float>(total);
          for (int64_t k = 0; k < n; ++k) gx[k] = y[k] * (g[k] - dot);
        }
      }
    });
    return;
  }
  for_column_blocks(outer, n, inner, [&](int64_t offset, int64_t width) {
    std::vector<double> totals(width, 0.0);
    for (int64_t k = 0; k < n; ++k) {
      const float* g = grad_output + offset + k * inner;
      const float* y = output + offset + k * inner;
      for (int64_t j = 0; j < width; ++j)
        totals[j] += kLog ? static_cast<double>(g[j]) : static_cast<double>(g[j]) * y[j];
    }
    std::vector<float> sums(totals.begin(), totals.end());
    for (int64_t k = 0; k < n; ++k) {
      const float* g = grad_output + offset + k * inner;
      const float* y = output + offset + k * inner;
      float* gx = grad_input + offset + k * inner;
      if (kLog) {
        std::copy(y, y + width, gx);
        exp_inplace(gx, width);
        for (int64_t j = 0; j < width; ++j) gx[j] = g[j] - gx[j] * sums[j];
      } else {
        for (int64_t j = 0; j < width; ++j) gx[j] = y[j] * (g[j] - sums[j]);
      }
    }
  });
}

}  // namespace

void softmax_forward(const float* x, float* out, int64_t outer, int64_t n, int64_t inner) {
  forward<false>(x, out, outer, n, inner);
}

void log_softmax_forward(const float* x, float* out, int64_t outer, int64_t n, int64_t inner) {
  forward<true>(x, out, outer, n, inner);
}

void softmax_backward(const float* grad_output, const float* output, float* grad_input,
                      int64_t outer, int64_t n, int64_t inner) {
  backward<false>(grad_output, output, grad_input, outer, n, inner);
}

void log_softmax_backward(const float* grad_output, const float* output, float* grad_input,
                          int64_t outer, int64_t n, int64_t inner) {
  backward<true>(grad_output, output, grad_input, outer, n, inner);
}

}  // namespace cunn::kernels
