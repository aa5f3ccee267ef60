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
#include "kernels/float_order.h"

namespace cunn::kernels {
namespace {

// A softmax costs a few ns per element (exp + passes); below ~4k elements per
// thread the fork/join overhead (a few microseconds) outweighs the split.
constexpr int64_t kGrainElements = 4096;
constexpr int64_t kColumnBlock = 256;

int64_t grain_items(int64_t elements_per_item) {
  return std::max<int64_t>(1, kGrainElements / std::max<int64_t>(1, elements_per_item));
}

// Long rows are summed with kLanes independent double accumulators combined
// in a fixed order: no single dependency chain, vectorisable, and the same
// result whatever the threading.
constexpr int64_t kLanes = 16;

// The maximum via integer order keys, so the loop vectorises (float_order.h).
// A NaN anywhere makes it NaN, which then turns the whole slice into NaN.
float row_max(const float* x, int64_t n) {
  int32_t best = std::numeric_limits<int32_t>::min();
  for (int64_t k = 0; k < n; ++k) {
    const int32_t key = order_key(x[k]);
    best = key > best ? key : best;
  }
  return from_order_key(best);
}

// sum of x[k] * (y ? y[k] : 1), accumulated in double.
double row_sum(const float* x, const float* y, int64_t n) {
  auto term = [&](int64_t k) {
    return static_cast<double>(x[k]) * (y ? static_cast<double>(y[k]) : 1.0);
  };
  double rest = 0.0;
  if (n < 2 * kLanes) {
    for (int64_t k = 0; k < n; ++k) rest += term(k);
    return rest;
  }
  double lanes[kLanes];
  for (int64_t j = 0; j < kLanes; ++j) lanes[j] = term(j);
  int64_t k = kLanes;
  for (; k + kLanes <= n; k += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) lanes[j] += term(k + j);
  for (; k < n; ++k) rest += term(k);
  for (int64_t width = kLanes / 2; width > 0; width /= 2)
    for (int64_t j = 0; j < width; ++j) lanes[j] += lanes[j + width];
  return lanes[0] + rest;
}

// Rows are handled in tiles of about kTileElements so that exp runs once over
// many short rows (MNIST's 10 classes) instead of once per row, and the
// scratch copy stays in L1.
constexpr int64_t kTileElements = 2048;

// Runs body(first row, row count) over tiles of rows [lo, hi) of length n.
template <class Body>
void for_row_tiles(int64_t lo, int64_t hi, int64_t n, const Body& body) {
  const int64_t tile_rows = std::max<int64_t>(1, kTileElements / n);
  for (int64_t row = lo; row < hi; row += tile_rows) body(row, std::min(tile_rows, hi - row));
}

// Per-chunk scratch of the middle-axis path, allocated once per thread chunk.
struct ColumnScratch {
  std::vector<float> exp_of;  // n x width
  std::vector<float> column;  // width: the column maxima, then log-sums / reciprocals
  std::vector<int32_t> keys;  // width: order keys of the column maxima
  std::vector<double> sums;   // width
  ColumnScratch(int64_t n, int64_t width)
      : exp_of(n * width), column(width), keys(width), sums(width) {}
};

// Columns [0, width) of one slice (n rows, row stride `stride`):
// out[k][j] = x[k][j] - max_k x[.][j], scratch.exp_of = exp of that
// (n x width, contiguous, one exp call), scratch.sums[j] = its column sums.
void shifted_exp_columns(const float* x, float* out, ColumnScratch& scratch, int64_t n,
                         int64_t width, int64_t stride) {
  int32_t* keys = scratch.keys.data();
  for (int64_t j = 0; j < width; ++j) keys[j] = order_key(x[j]);
  for (int64_t k = 1; k < n; ++k) {
    const float* row = x + k * stride;
    for (int64_t j = 0; j < width; ++j) {
      const int32_t key = order_key(row[j]);
      keys[j] = key > keys[j] ? key : keys[j];
    }
  }
  float* max = scratch.column.data();
  for (int64_t j = 0; j < width; ++j) max[j] = from_order_key(keys[j]);
  float* exp_of = scratch.exp_of.data();
  for (int64_t k = 0; k < n; ++k) {
    const float* row = x + k * stride;
    float* out_row = out + k * stride;
    float* exp_row = exp_of + k * width;
    for (int64_t j = 0; j < width; ++j) out_row[j] = exp_row[j] = row[j] - max[j];
  }
  exp_inplace(exp_of, n * width);
  double* sums = scratch.sums.data();
  std::fill(sums, sums + width, 0.0);
  for (int64_t k = 0; k < n; ++k) {
    const float* exp_row = exp_of + k * width;
    for (int64_t j = 0; j < width; ++j) sums[j] += exp_row[j];
  }
}

// Runs body(slice offset + column offset, width, scratch) over every
// (outer index, column block).
template <class Body>
void for_column_blocks(int64_t outer, int64_t n, int64_t inner, const Body& body) {
  const int64_t blocks = (inner + kColumnBlock - 1) / kColumnBlock;
  const int64_t block_width = std::min(inner, kColumnBlock);
  parallel_for(0, outer * blocks, grain_items(n * block_width), [&](int64_t lo, int64_t hi) {
    ColumnScratch scratch(n, block_width);
    for (int64_t item = lo; item < hi; ++item) {
      const int64_t o = item / blocks;
      const int64_t column = (item % blocks) * kColumnBlock;
      body(o * n * inner + column, std::min(kColumnBlock, inner - column), scratch);
    }
  });
}

template <bool kLog>
void forward(const float* x, float* out, int64_t outer, int64_t n, int64_t inner) {
  if (outer == 0 || n == 0 || inner == 0) return;
  if (inner == 1) {
    parallel_for(0, outer, grain_items(n), [&](int64_t lo, int64_t hi) {
      std::vector<float> exp_of(std::min(hi - lo, std::max<int64_t>(1, kTileElements / n)) * n);
      for_row_tiles(lo, hi, n, [&](int64_t first, int64_t rows) {
        const float* x_tile = x + first * n;
        float* out_tile = out + first * n;
        for (int64_t r = 0; r < rows; ++r) {
          const float max = row_max(x_tile + r * n, n);
          for (int64_t k = 0; k < n; ++k) out_tile[r * n + k] = x_tile[r * n + k] - max;
        }
        std::copy(out_tile, out_tile + rows * n, exp_of.begin());
        exp_inplace(exp_of.data(), rows * n);
        for (int64_t r = 0; r < rows; ++r) {
          const float* exp_row = exp_of.data() + r * n;
          float* out_row = out_tile + r * n;
          const double sum = row_sum(exp_row, nullptr, n);
          if (kLog) {
            const float log_sum = std::log(static_cast<float>(sum));
            for (int64_t k = 0; k < n; ++k) out_row[k] -= log_sum;
          } else {
            const float scale = static_cast<float>(1.0 / sum);
            for (int64_t k = 0; k < n; ++k) out_row[k] = exp_row[k] * scale;
          }
        }
      });
    });
    return;
  }
  for_column_blocks(outer, n, inner, [&](int64_t offset, int64_t width, ColumnScratch& scratch) {
    shifted_exp_columns(x + offset, out + offset, scratch, n, width, inner);
    float* adjust = scratch.column.data();
    for (int64_t j = 0; j < width; ++j)
      adjust[j] = kLog ? std::log(static_cast<float>(scratch.sums[j]))
                       : static_cast<float>(1.0 / scratch.sums[j]);
    for (int64_t k = 0; k < n; ++k) {
      float* out_row = out + offset + k * inner;
      const float* exp_row = scratch.exp_of.data() + k * width;
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
      for_row_tiles(lo, hi, n, [&](int64_t first, int64_t rows) {
        const float* g_tile = grad_output + first * n;
        const float* y_tile = output + first * n;
        float* gx_tile = grad_input + first * n;
        if (kLog) {
          std::copy(y_tile, y_tile + rows * n, gx_tile);
          exp_inplace(gx_tile, rows * n);
        }
        for (int64_t r = 0; r < rows; ++r) {
          const float* g = g_tile + r * n;
          const float* y = y_tile + r * n;
          float* gx = gx_tile + r * n;
          if (kLog) {
            const float sum = static_cast<float>(row_sum(g, nullptr, n));
            for (int64_t k = 0; k < n; ++k) gx[k] = g[k] - gx[k] * sum;
          } else {
            const float dot = static_cast<float>(row_sum(g, y, n));
            for (int64_t k = 0; k < n; ++k) gx[k] = y[k] * (g[k] - dot);
          }
        }
      });
    });
    return;
  }
  for_column_blocks(outer, n, inner, [&](int64_t offset, int64_t width, ColumnScratch& scratch) {
    double* totals = scratch.sums.data();
    std::fill(totals, totals + width, 0.0);
    for (int64_t k = 0; k < n; ++k) {
      const float* g = grad_output + offset + k * inner;
      const float* y = output + offset + k * inner;
      for (int64_t j = 0; j < width; ++j)
        totals[j] += kLog ? static_cast<double>(g[j]) : static_cast<double>(g[j]) * y[j];
    }
    float* sums = scratch.column.data();
    for (int64_t j = 0; j < width; ++j) sums[j] = static_cast<float>(totals[j]);
    float* exp_of = scratch.exp_of.data();
    if (kLog) {
      for (int64_t k = 0; k < n; ++k) {
        const float* y = output + offset + k * inner;
        std::copy(y, y + width, exp_of + k * width);
      }
      exp_inplace(exp_of, n * width);
    }
    for (int64_t k = 0; k < n; ++k) {
      const float* g = grad_output + offset + k * inner;
      const float* y = output + offset + k * inner;
      const float* exp_row = exp_of + k * width;
      float* gx = grad_input + offset + k * inner;
      for (int64_t j = 0; j < width; ++j)
        gx[j] = kLog ? g[j] - exp_row[j] * sums[j] : y[j] * (g[j] - sums[j]);
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
