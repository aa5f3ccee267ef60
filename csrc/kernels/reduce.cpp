// sum over any set of axes and max along one (see reduce.h for the math and
// the accumulation order). sum merges neighbouring axes that are all summed or
// all kept, then removes the summed runs one at a time, innermost first, each
// as an (outer, n, inner) reduction; intermediate results stay in double.
#include "kernels/reduce.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "dispatch/parallel.h"

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

// max/argmax update: a larger value wins, a NaN beats any number, ties keep
// the earlier index.
inline bool beats(float candidate, float best) {
  return candidate > best || (candidate != candidate && best == best);
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

void max(const float* x, float* values, int64_t* indices, int64_t outer, int64_t n,
         int64_t inner) {
  if (outer == 0 || inner == 0) return;
  if (inner == 1) {
    parallel_for(0, outer, grain_items(n), [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) {
        const float* row = x + o * n;
        float best = row[0];
        int64_t index = 0;
        for (int64_t k = 1; k < n; ++k) {
          if (beats(row[k], best)) {
            best = row[k];
            index = k;
          }
        }
        values[o] = best;
        indices[o] = index;
      }
    });
    return;
  }
  const int64_t blocks = (inner + kColumnBlock - 1) / kColumnBlock;
  parallel_for(0, outer * blocks, grain_items(n * std::min(inner, kColumnBlock)),
               [&](int64_t lo, int64_t hi) {
    for (int64_t item = lo; item < hi; ++item) {
      const int64_t o = item / blocks;
      const int64_t column = (item % blocks) * kColumnBlock;
      const int64_t width = std::min(kColumnBlock, inner - column);
      const float* base = x + o * n * inner + column;
      float* best = values + o * inner + column;
      int64_t* index = indices + o * inner + column;
      for (int64_t j = 0; j < width; ++j) {
        best[j] = base[j];
        index[j] = 0;
      }
      for (int64_t k = 1; k < n; ++k) {
        const float* row = base + k * inner;
        for (int64_t j = 0; j < width; ++j) {
          if (beats(row[j], best[j])) {
            best[j] = row[j];
            index[j] = k;
          }
        }
      }
    }
  });
}

}  // namespace cunn::kernels
