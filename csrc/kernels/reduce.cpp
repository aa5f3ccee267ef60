// sum over any set of axes and max along one (see reduce.h for the math and
// the accumulation order). sum merges neighbouring axes that are all summed or
// all kept, then removes the summed runs one at a time, innermost first, each
// as an (outer, n, inner) reduction; intermediate results stay in double.
#include "kernels/reduce.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "dispatch/parallel.h"
#include "kernels/float_order.h"

namespace cunn::kernels {
namespace {

// A sum streams at a fraction of a ns per element: threads pay off from tens
// of thousands of elements.
constexpr int64_t kGrainElements = 32768;
constexpr int64_t kSumBlock = 16384;
constexpr int64_t kLanes = 16;
constexpr int64_t kColumnBlock = 512;

int64_t grain_items(int64_t elements_per_item) {
  return std::max<int64_t>(1, kGrainElements / std::max<int64_t>(1, elements_per_item));
}

template <class In>
double contiguous_sum(const In* x, int64_t n) {
  double rest = 0.0;
  if (n < 2 * kLanes) {
    for (int64_t k = 0; k < n; ++k) rest += static_cast<double>(x[k]);
    return rest;
  }
  double lanes[kLanes];
  for (int64_t j = 0; j < kLanes; ++j) lanes[j] = static_cast<double>(x[j]);
  int64_t k = kLanes;
  for (; k + kLanes <= n; k += kLanes)
    for (int64_t j = 0; j < kLanes; ++j) lanes[j] += static_cast<double>(x[k + j]);
  for (; k < n; ++k) rest += static_cast<double>(x[k]);
  for (int64_t width = kLanes / 2; width > 0; width /= 2)
    for (int64_t j = 0; j < width; ++j) lanes[j] += lanes[j + width];
  return lanes[0] + rest;
}

// out[o][i] = sum_k x[o][k][i] for x viewed as (outer, n, inner).
template <class In, class Out>
void sum_middle(const In* x, Out* out, int64_t outer, int64_t n, int64_t inner) {
  if (inner == 1) {
    if (n <= kSumBlock) {
      parallel_for(0, outer, grain_items(n), [&](int64_t lo, int64_t hi) {
        for (int64_t o = lo; o < hi; ++o) out[o] = static_cast<Out>(contiguous_sum(x + o * n, n));
      });
      return;
    }
    const int64_t blocks = (n + kSumBlock - 1) / kSumBlock;
    std::vector<double> partial(outer * blocks);
    parallel_for(0, outer * blocks, grain_items(kSumBlock), [&](int64_t lo, int64_t hi) {
      for (int64_t item = lo; item < hi; ++item) {
        const int64_t o = item / blocks;
        const int64_t start = (item % blocks) * kSumBlock;
        partial[item] = contiguous_sum(x + o * n + start, std::min(kSumBlock, n - start));
      }
    });
    for (int64_t o = 0; o < outer; ++o) {
      double total = 0.0;
      for (int64_t b = 0; b < blocks; ++b) total += partial[o * blocks + b];
      out[o] = static_cast<Out>(total);
    }
    return;
  }
  const int64_t blocks = (inner + kColumnBlock - 1) / kColumnBlock;
  parallel_for(0, outer * blocks, grain_items(n * std::min(inner, kColumnBlock)),
               [&](int64_t lo, int64_t hi) {
    std::vector<double> totals(std::min(inner, kColumnBlock));
    for (int64_t item = lo; item < hi; ++item) {
      const int64_t o = item / blocks;
      const int64_t column = (item % blocks) * kColumnBlock;
      const int64_t width = std::min(kColumnBlock, inner - column);
      const In* base = x + o * n * inner + column;
      for (int64_t j = 0; j < width; ++j) totals[j] = static_cast<double>(base[j]);
      for (int64_t k = 1; k < n; ++k) {
        const In* row = base + k * inner;
        for (int64_t j = 0; j < width; ++j) totals[j] += static_cast<double>(row[j]);
      }
      Out* out_row = out + o * inner + column;
      for (int64_t j = 0; j < width; ++j) out_row[j] = static_cast<Out>(totals[j]);
    }
  });
}

struct Run {
  int64_t size;
  bool reduced;
};

// max compares integer order keys (float_order.h), which vectorise.
int32_t contiguous_max_key(const float* x, int64_t n) {
  int32_t best = std::numeric_limits<int32_t>::min();
  for (int64_t k = 0; k < n; ++k) {
    const int32_t key = order_key(x[k]);
    best = key > best ? key : best;
  }
  return best;
}

// The first position of `key` in x (which holds it). Whole blocks are tested
// with a vectorisable OR before the block that holds it is scanned.
int64_t first_key(const float* x, int64_t n, int32_t key) {
  // 64: long enough that the compiler vectorises the test instead of unrolling it.
  constexpr int64_t kSearchBlock = 64;
  int64_t start = 0;
  for (; start + kSearchBlock <= n; start += kSearchBlock) {
    int32_t hit = 0;
    for (int64_t j = 0; j < kSearchBlock; ++j)
      hit |= static_cast<int32_t>(order_key(x[start + j]) == key);
    if (hit) break;
  }
  while (order_key(x[start]) != key) ++start;
  return start;
}

}  // namespace

void sum(const float* x, int64_t ndim, const int64_t* shape, const bool* reduced, float* out) {
  std::vector<Run> runs;
  int64_t total = 1, kept = 1;
  for (int64_t d = 0; d < ndim; ++d) {
    total *= shape[d];
    if (!reduced[d]) kept *= shape[d];
    if (shape[d] == 1) continue;
    if (!runs.empty() && runs.back().reduced == reduced[d]) runs.back().size *= shape[d];
    else runs.push_back({shape[d], reduced[d]});
  }
  if (total == 0) {
    std::fill(out, out + kept, 0.0f);
    return;
  }
  const int64_t reduced_runs =
      std::count_if(runs.begin(), runs.end(), [](const Run& run) { return run.reduced; });
  if (reduced_runs == 0) {
    std::memcpy(out, x, sizeof(float) * total);
    return;
  }
  // Remove summed runs innermost first; only the last pass writes float32.
  std::vector<double> current, next;
  for (int64_t pass = 0; pass < reduced_runs; ++pass) {
    size_t r = runs.size();
    while (!runs[--r].reduced) {}
    int64_t outer = 1, inner = 1;
    for (size_t i = 0; i < r; ++i) outer *= runs[i].size;
    for (size_t i = r + 1; i < runs.size(); ++i) inner *= runs[i].size;
    const int64_t n = runs[r].size;
    const bool last = pass + 1 == reduced_runs;
    if (pass == 0 && last) {
      sum_middle(x, out, outer, n, inner);
    } else if (pass == 0) {
      next.resize(outer * inner);
      sum_middle(x, next.data(), outer, n, inner);
    } else if (last) {
      sum_middle(current.data(), out, outer, n, inner);
    } else {
      next.resize(outer * inner);
      sum_middle(current.data(), next.data(), outer, n, inner);
    }
    std::swap(current, next);
    runs.erase(runs.begin() + r);
    // The kept runs on either side of the removed one are now neighbours.
    if (r > 0 && r < runs.size() && !runs[r - 1].reduced && !runs[r].reduced) {
      runs[r - 1].size *= runs[r].size;
      runs.erase(runs.begin() + r);
    }
  }
}

// Two passes: the largest key, then the first position holding it; the value
// returned is the element there (so a NaN keeps its payload).
void max(const float* x, float* values, int64_t* indices, int64_t outer, int64_t n,
         int64_t inner) {
  if (outer == 0 || inner == 0) return;
  if (inner == 1) {
    parallel_for(0, outer, grain_items(n), [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) {
        const float* row = x + o * n;
        const int64_t index = first_key(row, n, contiguous_max_key(row, n));
        values[o] = row[index];
        indices[o] = index;
      }
    });
    return;
  }
  const int64_t blocks = (inner + kColumnBlock - 1) / kColumnBlock;
  const int64_t block_width = std::min(inner, kColumnBlock);
  parallel_for(0, outer * blocks, grain_items(n * block_width), [&](int64_t lo, int64_t hi) {
    std::vector<int32_t> best(block_width);
    // int32 positions vectorise (int64 selects do not without AVX-512), and
    // walking up from the last row leaves the first row that holds the maximum.
    std::vector<int32_t> first(block_width);
    for (int64_t item = lo; item < hi; ++item) {
      const int64_t o = item / blocks;
      const int64_t column = (item % blocks) * kColumnBlock;
      const int64_t width = std::min(kColumnBlock, inner - column);
      const float* base = x + o * n * inner + column;
      for (int64_t j = 0; j < width; ++j) best[j] = order_key(base[j]);
      for (int64_t k = 1; k < n; ++k) {
        const float* row = base + k * inner;
        for (int64_t j = 0; j < width; ++j) {
          const int32_t key = order_key(row[j]);
          best[j] = key > best[j] ? key : best[j];
        }
      }
      int64_t* index = indices + o * inner + column;
      if (n <= std::numeric_limits<int32_t>::max()) {
        std::fill(first.begin(), first.end(), 0);
        for (int64_t k = n - 1; k > 0; --k) {
          const float* row = base + k * inner;
          const int32_t position = static_cast<int32_t>(k);
          for (int64_t j = 0; j < width; ++j)
            first[j] = order_key(row[j]) == best[j] ? position : first[j];
        }
        for (int64_t j = 0; j < width; ++j)
          first[j] = order_key(base[j]) == best[j] ? 0 : first[j];
        std::copy(first.begin(), first.begin() + width, index);
      } else {
        for (int64_t j = 0; j < width; ++j) {
          int64_t k = 0;
          while (order_key(base[k * inner + j]) != best[j]) ++k;
          index[j] = k;
        }
      }
      float* value = values + o * inner + column;
      for (int64_t j = 0; j < width; ++j) value[j] = base[index[j] * inner + j];
    }
  });
}

}  // namespace cunn::kernels
