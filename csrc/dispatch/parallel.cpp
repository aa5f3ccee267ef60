// Thread count shared by every kernel. The default is what OpenMP would use
// (so OMP_NUM_THREADS is respected), else 1 in a serial build.
#include "dispatch/parallel.h"

#include <atomic>

namespace cunn {
namespace {

int default_threads() {
#ifdef CUNN_OPENMP
  return std::max(1, omp_get_max_threads());
#else
  return 1;
#endif
}

std::atomic<int>& thread_setting() {
  static std::atomic<int> threads{default_threads()};
  return threads;
}

}  // namespace

int get_num_threads() { return thread_setting().load(std::memory_order_relaxed); }

void set_num_threads(int threads) {
  thread_setting().store(std::max(1, threads), std::memory_order_relaxed);
}

bool in_parallel_region() {
#ifdef CUNN_OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

}  // namespace cunn
