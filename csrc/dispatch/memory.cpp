#include "dispatch/memory.h"

#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace cunn {

bool tune_allocator() {
#if defined(__GLIBC__)
  static const bool tuned = [] {
    if (std::getenv("CUNN_MALLOC_DEFAULTS") || std::getenv("MALLOC_MMAP_THRESHOLD_") ||
        std::getenv("MALLOC_TRIM_THRESHOLD_")) {
      return false;
    }
    // 32 MiB is glibc's largest mmap threshold on 64-bit: blocks up to it come from
    // the heap; the trim threshold keeps up to 1 GiB of freed heap for reuse.
    const bool mmap_set = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1;
    const bool trim_set = mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
    return mmap_set && trim_set;
  }();
  return tuned;
#else
  return false;
#endif
}

}  // namespace cunn
