// The optimizer slices (optim_loops.h) of one instruction-set build: the file
// including this defines CUNN_OPTIM_ISA (the namespace, avx2 or avx512) and is
// compiled with that ISA's flags, so each build is the same source in its own
// vector width. optim.cpp declares them and picks one at run time.
#pragma once

#include "kernels/optim_loops.h"

namespace cunn::kernels::CUNN_OPTIM_ISA {

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
}  // namespace cunn::kernels::CUNN_OPTIM_ISA
