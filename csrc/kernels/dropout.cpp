// Dropout (math in dropout.h): one pointwise loop, which the compiler vectorises,
// threaded over fixed chunks. NaN * 0 stays NaN, as in the reference.
#include "kernels/dropout.h"

#include <algorithm>

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

void dropout_channels_apply(const float* x, const uint8_t* mask, float scale, float* out,
                            int64_t planes, int64_t inner) {
  const int64_t grain = std::max<int64_t>(1, kGrain / std::max<int64_t>(1, inner));
  parallel_for(0, planes, grain, [&](int64_t first, int64_t last) {
    for (int64_t p = first; p < last; ++p) {
      const float keep = static_cast<float>(mask[p]);
      const float* in = x + p * inner;
      float* o = out + p * inner;
      for (int64_t l = 0; l < inner; ++l) o[l] = (in[l] * keep) * scale;
    }
  });
}

}  // namespace cunn::kernels
