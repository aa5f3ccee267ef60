// Dropout (math in dropout.h): one pointwise loop, which the compiler vectorises,
// threaded over fixed chunks. NaN * 0 stays NaN, as in the reference.
#include "kernels/dropout.h"

#include "dispatch/parallel.h"

namespace cunn::kernels {
namespace {

// As the other pointwise kernels (elementwise.cpp): threads pay off from ~64k elements.
constexpr int64_t kGrain = 32768;

}  // namespace

void dropout_apply(const float* x, const uint8_t* mask, float scale, float* out, int64_t n) {
  parallel_for(0, n, kGrain, [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i) out[i] = (x[i] * static_cast<float>(mask[i])) * scale;
  });
}

}  // namespace cunn::kernels
