// How conv2d cuts its work over threads and where its scratch memory lives (used by
// conv2d.cpp and conv2d_winograd.cpp). Every count depends on the shape only, never on
// the thread count, so results do not change with it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dispatch/parallel.h"
#include "kernels/tuning.h"

namespace cunn::kernels::conv2d_detail {

// Work is cut into `parts` contiguous ranges of units, part p being
// [part_begin(units, parts, p), part_begin(units, parts, p + 1)): sizes differ by at most
// one, so threads taking whole parts get equal shares.
inline int64_t part_begin(int64_t units, int64_t parts, int64_t part) {
  return units * part / parts;
}

// Parts of at most `max_units` units each; their number is rounded up to a multiple of 4
// where there are units enough, so that 2 or 4 threads get the same number of parts.
int64_t balanced_parts(int64_t units, int64_t max_units);

// How many groups (of images or tile blocks) a weight gradient sums into partials of
// `size` floats each: at most `max_groups`, and within the tuning's partial budget.
int64_t group_count(int64_t units, int64_t max_groups, int64_t size);

// Runs body(first, last) over [0, count) units (images or groups): split over the
// threads when there are several units and enough work, else on the calling thread.
template <class Body>
void for_units(int64_t count, double total_flops, const Body& body) {
  if (count >= 2 && total_flops >= tuning().conv_parallel_min_flops)
    parallel_for(0, count, 1, body);
  else
    body(int64_t{0}, count);
}

// Per-thread buffers that grow and are kept, so that no call pays page faults for fresh
// memory (a large new[] is a fresh mmap each time; on the 2-core VM first-touching 1 MiB
// cost ~0.2 ms). scratch() is each thread's working area inside a parallel region;
// call_scratch() holds what the calling thread shares with the others during one call
// (packed weights, partial sums). Per thread, so the kernels stay re-entrant.
float* scratch(size_t floats);
float* call_scratch(size_t floats);

}  // namespace cunn::kernels::conv2d_detail
