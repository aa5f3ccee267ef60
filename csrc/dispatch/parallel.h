// Threading for the kernels: OpenMP when the build found it, serial otherwise.
//
// parallel_for splits [begin, end) into at most get_num_threads() contiguous
// chunks of at least `grain` items each, so small problems run on the calling
// thread and pay no fork/join cost. Nested calls run serially.
// Reductions must not depend on this split (results would change with the
// thread count): reduce in fixed-size blocks and combine them in a fixed order.
#pragma once

#include <algorithm>
#include <cstdint>

#ifdef CUNN_OPENMP
#include <omp.h>
#endif

namespace cunn {

int get_num_threads();
void set_num_threads(int threads);
bool in_parallel_region();

template <class Body>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const Body& body) {
  const int64_t count = end - begin;
  if (count <= 0) return;
  const int64_t max_chunks = grain > 0 ? (count + grain - 1) / grain : count;
  const int threads = static_cast<int>(std::min<int64_t>(get_num_threads(), max_chunks));
#ifdef CUNN_OPENMP
  if (threads > 1 && !in_parallel_region()) {
#pragma omp parallel num_threads(threads)
    {
      const int64_t thread = omp_get_thread_num();
      const int64_t team = omp_get_num_threads();
      const int64_t chunk = (count + team - 1) / team;
      const int64_t lo = begin + thread * chunk;
      const int64_t hi = std::min(end, lo + chunk);
      if (lo < hi) body(lo, hi);
    }
    return;
  }
#endif
  (void)threads;
  body(begin, end);
}

}  // namespace cunn
