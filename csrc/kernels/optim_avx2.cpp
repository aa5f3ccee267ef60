// The optimizer element loops (optim_loops.h) compiled for AVX2: the same
// source and the same rounded operations as the portable build, in 256-bit
// vectors. Called from optim.cpp only when active_isa() allows AVX2.
#include "kernels/optim_loops.h"

namespace cunn::kernels::avx2 {

void sgd_slice(const SgdTensor& t, int64_t begin, int64_t end, const detail::SgdScalars& s) {
  sgd_slice_loops(t, begin, end, s);
}

void adam_slice(const AdamTensor& t, int64_t begin, int64_t end, const detail::AdamScalars& s) {
  adam_slice_loops(t, begin, end, s);
}

void rmsprop_slice(const RmspropTensor& t, int64_t begin, int64_t end,
                   const detail::RmspropScalars& s) {
  rmsprop_slice_loops(t, begin, end, s);
}

void adadelta_slice(const AdadeltaTensor& t, int64_t begin, int64_t end,
                    const detail::AdadeltaScalars& s) {
  adadelta_slice_loops(t, begin, end, s);
}

void adagrad_slice(const AdagradTensor& t, int64_t begin, int64_t end,
                   const detail::AdagradScalars& s) {
  adagrad_slice_loops(t, begin, end, s);
}

}  // namespace cunn::kernels::avx2
