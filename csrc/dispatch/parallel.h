// Threading for the kernels: cunn's own thread pool (parallel.cpp), or serial in a build
// with CUNN_THREADS=OFF.
//
// parallel_for splits [begin, end) into at most get_num_threads() contiguous parts of at
// least `grain` items each, part p meant for thread p (the calling thread takes part 0),
// so small problems run on the calling thread and pay no hand-off cost. Each part is run
// as a few chunks; a thread that finishes early takes the chunks another has not started,
// so a thread the OS has descheduled delays no one. Nested calls run serially.
// Body may be called any number of times with any sub-ranges, on any thread: results must
// not depend on the split (reduce in fixed-size blocks, combine them in a fixed order),
// and nothing may be kept per call that assumes one call per thread.
// An exception thrown by body (std::bad_alloc, say) on any thread is rethrown here, on the
// calling thread, once every thread has left the call.
#pragma once

#include <algorithm>
#include <cstdint>

namespace cunn {

int get_num_threads();
void set_num_threads(int threads);
bool in_parallel_region();

namespace detail {

using ChunkFunction = void (*)(const void* body, int64_t lo, int64_t hi);

// Runs call(body, lo, hi) over [begin, end) on up to `threads` threads (parallel.cpp).
void run_parallel(int64_t begin, int64_t end, int64_t grain, int threads, ChunkFunction call,
                  const void* body);

}  // namespace detail

template <class Body>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const Body& body) {
  const int64_t count = end - begin;
  if (count <= 0) return;
  const int64_t max_parts = grain > 0 ? (count + grain - 1) / grain : count;
  const int threads = static_cast<int>(std::min<int64_t>(get_num_threads(), max_parts));
  if (threads > 1 && !in_parallel_region()) {
    detail::run_parallel(
        begin, end, grain, threads,
        [](const void* function, int64_t lo, int64_t hi) {
          (*static_cast<const Body*>(function))(lo, hi);
        },
        &body);
    return;
  }
  body(begin, end);
}

}  // namespace cunn
