// The element loops of the optimizer steps, included by optim.cpp (portable
// build) and optim_avx2.cpp (the same loops compiled for 256-bit vectors: sqrt
// and divide throughput bound them, so wider vectors run Adam and RMSprop about
// twice as fast). Everything with code is in an anonymous namespace, so each
// including file gets its own copy compiled with its own flags and the linker
// can never hand an AVX2 copy to the portable path. The loops call only sqrtf
// (a libm function the compiler inlines as an instruction), never an inline
// function from a library header.
//
// Multiply-adds are not fused (fp-contract off), so every ISA rounds exactly
// the operations the NumPy reference rounds.
#pragma once

#include <math.h>

#include <cstdint>

#include "kernels/optim.h"

// After the includes, so that it reaches only the loops below.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

// Each loop below reads and writes element i of its arrays only, so iterations are
// independent even when two state arrays are one; with five arrays the compiler's
// run-time alias checks exceed its limit and it would leave the loop scalar (the
// amsgrad step ran 30x slower), so tell it so.
#if defined(__clang__)
#define CUNN_INDEPENDENT_ITERATIONS _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define CUNN_INDEPENDENT_ITERATIONS _Pragma("GCC ivdep")
#else
#define CUNN_INDEPENDENT_ITERATIONS
#endif

namespace cunn::kernels::detail {

// Per-call scalars, already rounded to float the way PyTorch rounds them.
struct SgdScalars {
  float neg_lr, momentum, one_minus_dampening, weight_decay;
  bool decay, use_momentum, first_step, nesterov;
};

struct AdamScalars {
  float decay_factor, weight_decay, one_minus_beta1, beta2, one_minus_beta2;
  float bias_correction2_sqrt, eps, neg_step_size;
  // 1 / bias_correction2_sqrt rounded, and whether both it and the divisor are normal
  // floats, the condition for dividing by it exactly (divide_by_constant below).
  float bias_correction2_reciprocal;
  bool reciprocal_exact;
  int decay;  // 0 none, 1 L2 (added to the gradient), 2 decoupled (AdamW)
  bool small_weight, amsgrad;
};

struct RmspropScalars {
  float neg_lr, alpha, one_minus_alpha, eps, weight_decay, momentum;
  bool decay, centered, use_momentum, small_weight;
};

struct AdadeltaScalars {
  float neg_lr, rho, one_minus_rho, eps, weight_decay;
  bool decay;
};

struct AdagradScalars {
  float neg_clr, weight_decay, eps;
  bool decay;
};

}  // namespace cunn::kernels::detail

namespace cunn::kernels {
namespace {

using detail::AdadeltaScalars;
using detail::AdagradScalars;
using detail::AdamScalars;
using detail::RmspropScalars;
using detail::SgdScalars;

// torch.lerp: start + weight * (end - start) for |weight| < 0.5, otherwise
// end - (end - start) * (1 - weight), which is more accurate near weight 1.
template <bool kSmallWeight>
float lerp_loop_value(float start, float end, float weight) {
  const float difference = end - start;
  return kSmallWeight ? start + weight * difference : end - difference * (1.0f - weight);
}

template <bool kDecay, bool kMomentum, bool kFirstStep, bool kNesterov>
void sgd_loop(const SgdTensor& t, int64_t begin, int64_t end, const SgdScalars& s) {
  float* param = t.param;
  const float* grad = t.grad;
  float* buffer = t.momentum_buffer;
  for (int64_t i = begin; i < end; ++i) {
    float d = grad[i];
    if (kDecay) d = d + s.weight_decay * param[i];
    if (kMomentum) {
      const float b = kFirstStep ? d : buffer[i] * s.momentum + s.one_minus_dampening * d;
      buffer[i] = b;
      d = kNesterov ? d + s.momentum * b : b;
    }
    param[i] = param[i] + s.neg_lr * d;
  }
}

template <bool kDecay, bool kMomentum, bool kFirstStep>
void sgd_pick_nesterov(const SgdTensor& t, int64_t begin, int64_t end, const SgdScalars& s) {
  if (s.nesterov)
    sgd_loop<kDecay, kMomentum, kFirstStep, true>(t, begin, end, s);
  else
    sgd_loop<kDecay, kMomentum, kFirstStep, false>(t, begin, end, s);
}

template <bool kDecay>
void sgd_pick_momentum(const SgdTensor& t, int64_t begin, int64_t end, const SgdScalars& s) {
  if (!s.use_momentum)
    sgd_loop<kDecay, false, false, false>(t, begin, end, s);
  else if (s.first_step)
    sgd_pick_nesterov<kDecay, true, true>(t, begin, end, s);
  else
    sgd_pick_nesterov<kDecay, true, false>(t, begin, end, s);
}

void sgd_slice_loops(const SgdTensor& t, int64_t begin, int64_t end, const SgdScalars& s) {
  if (s.decay)
    sgd_pick_momentum<true>(t, begin, end, s);
  else
    sgd_pick_momentum<false>(t, begin, end, s);
}

// torch.maximum: a NaN in either operand gives NaN. Two selects and no early
// return, so the loop stays branch-free and vectorised (a data-dependent branch
// here made the amsgrad step 30x slower).
float nan_maximum(float a, float b) {
  const float larger = b > a ? b : a;  // a when a is NaN
  return b != b ? b : larger;
}

// The AVX-512 build only: there Adam's step in the MNIST MLP's training ran 74 -> 60 us
// (one thread, CPU time); in the AVX2 build the corrections, eight lanes at a time,
// crowd the FMA ports and it ran 74 -> 86 us, so AVX2 (and, unmeasured, other ISAs)
// divides.
#if defined(__AVX512F__)
#define CUNN_FUSED_MULTIPLY_ADD 1
#else
#define CUNN_FUSED_MULTIPLY_ADD 0
#endif

// x / divisor, correctly rounded, for a normal divisor with a normal rounded reciprocal
// and x not subnormal (Adam's x is a square root: 0, at least 3.7e-23, inf or NaN).
// The product x * reciprocal corrected twice by its exact residual (fused multiply-add)
// is the correctly rounded quotient (Markstein: after the first correction the estimate
// is faithful, and one more correction of a faithful estimate rounds correctly; one
// correction alone already matched the division on 5e9 sampled pairs). Adam's loop is
// bound by the divider (its sqrtf and per-element division); these multiply-adds run
// beside it, so the step is faster and every bit the same. inf * reciprocal is inf and
// NaN stays NaN, where the residual of inf would be NaN.
inline float divide_by_constant(float x, float divisor, float reciprocal) {
  float quotient = x * reciprocal;
  quotient = fmaf(fmaf(-quotient, divisor, x), reciprocal, quotient);
  quotient = fmaf(fmaf(-quotient, divisor, x), reciprocal, quotient);
  return x < INFINITY ? quotient : x * reciprocal;
}

template <int kDecay, bool kSmallWeight, bool kAmsgrad, bool kReciprocal>
void adam_loop(const AdamTensor& t, int64_t begin, int64_t end, const AdamScalars& s) {
  float* param = t.param;
  const float* grad = t.grad;
  float* exp_avg = t.exp_avg;
  float* exp_avg_sq = t.exp_avg_sq;
  float* max_exp_avg_sq = t.max_exp_avg_sq;
  CUNN_INDEPENDENT_ITERATIONS
  for (int64_t i = begin; i < end; ++i) {
    float p = param[i];
    float g = grad[i];
    if (kDecay == 2) p = p * s.decay_factor;
    if (kDecay == 1) g = g + s.weight_decay * p;
    const float m = lerp_loop_value<kSmallWeight>(exp_avg[i], g, s.one_minus_beta1);
    const float v = exp_avg_sq[i] * s.beta2 + s.one_minus_beta2 * g * g;
    float second_moment = v;
    if (kAmsgrad) {
      second_moment = nan_maximum(max_exp_avg_sq[i], v);
      max_exp_avg_sq[i] = second_moment;
    }
    const float root = sqrtf(second_moment);
    const float denom =
        (kReciprocal ? divide_by_constant(root, s.bias_correction2_sqrt,
                                          s.bias_correction2_reciprocal)
                     : root / s.bias_correction2_sqrt) +
        s.eps;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    param[i] = p + s.neg_step_size * m / denom;
  }
}

template <int kDecay, bool kSmallWeight, bool kAmsgrad>
void adam_pick_reciprocal(const AdamTensor& t, int64_t begin, int64_t end, const AdamScalars& s) {
  // Without fused multiply-add the correction would be a library call: divide.
  if (CUNN_FUSED_MULTIPLY_ADD && s.reciprocal_exact)
    adam_loop<kDecay, kSmallWeight, kAmsgrad, CUNN_FUSED_MULTIPLY_ADD != 0>(t, begin, end, s);
  else
    adam_loop<kDecay, kSmallWeight, kAmsgrad, false>(t, begin, end, s);
}

template <int kDecay, bool kSmallWeight>
void adam_pick_amsgrad(const AdamTensor& t, int64_t begin, int64_t end, const AdamScalars& s) {
  if (s.amsgrad)
    adam_pick_reciprocal<kDecay, kSmallWeight, true>(t, begin, end, s);
  else
    adam_pick_reciprocal<kDecay, kSmallWeight, false>(t, begin, end, s);
}

template <int kDecay>
void adam_pick_weight(const AdamTensor& t, int64_t begin, int64_t end, const AdamScalars& s) {
  if (s.small_weight)
    adam_pick_amsgrad<kDecay, true>(t, begin, end, s);
  else
    adam_pick_amsgrad<kDecay, false>(t, begin, end, s);
}

void adam_slice_loops(const AdamTensor& t, int64_t begin, int64_t end, const AdamScalars& s) {
  if (s.decay == 2)
    adam_pick_weight<2>(t, begin, end, s);
  else if (s.decay == 1)
    adam_pick_weight<1>(t, begin, end, s);
  else
    adam_pick_weight<0>(t, begin, end, s);
}

template <bool kDecay, bool kCentered, bool kMomentum, bool kSmallWeight>
void rmsprop_loop(const RmspropTensor& t, int64_t begin, int64_t end, const RmspropScalars& s) {
  float* param = t.param;
  const float* grad = t.grad;
  float* square_avg = t.square_avg;
  float* buffer = t.momentum_buffer;
  float* grad_avg = t.grad_avg;
  CUNN_INDEPENDENT_ITERATIONS
  for (int64_t i = begin; i < end; ++i) {
    float g = grad[i];
    if (kDecay) g = g + s.weight_decay * param[i];
    const float sq = square_avg[i] * s.alpha + s.one_minus_alpha * g * g;
    square_avg[i] = sq;
    float avg;
    if (kCentered) {
      const float mean = lerp_loop_value<kSmallWeight>(grad_avg[i], g, s.one_minus_alpha);
      grad_avg[i] = mean;
      avg = sqrtf(sq - mean * mean) + s.eps;
    } else {
      avg = sqrtf(sq) + s.eps;
    }
    if (kMomentum) {
      const float b = buffer[i] * s.momentum + g / avg;
      buffer[i] = b;
      param[i] = param[i] + s.neg_lr * b;
    } else {
      param[i] = param[i] + s.neg_lr * g / avg;
    }
  }
}

template <bool kDecay, bool kCentered>
void rmsprop_pick_rest(const RmspropTensor& t, int64_t begin, int64_t end,
                       const RmspropScalars& s) {
  if (s.use_momentum) {
    if (s.small_weight)
      rmsprop_loop<kDecay, kCentered, true, true>(t, begin, end, s);
    else
      rmsprop_loop<kDecay, kCentered, true, false>(t, begin, end, s);
  } else {
    if (s.small_weight)
      rmsprop_loop<kDecay, kCentered, false, true>(t, begin, end, s);
    else
      rmsprop_loop<kDecay, kCentered, false, false>(t, begin, end, s);
  }
}

void rmsprop_slice_loops(const RmspropTensor& t, int64_t begin, int64_t end,
                         const RmspropScalars& s) {
  if (s.decay)
    s.centered ? rmsprop_pick_rest<true, true>(t, begin, end, s)
               : rmsprop_pick_rest<true, false>(t, begin, end, s);
  else
    s.centered ? rmsprop_pick_rest<false, true>(t, begin, end, s)
               : rmsprop_pick_rest<false, false>(t, begin, end, s);
}

template <bool kDecay>
void adadelta_loop(const AdadeltaTensor& t, int64_t begin, int64_t end,
                   const AdadeltaScalars& s) {
  float* param = t.param;
  const float* grad = t.grad;
  float* square_avg = t.square_avg;
  float* acc_delta = t.acc_delta;
  for (int64_t i = begin; i < end; ++i) {
    float g = grad[i];
    if (kDecay) g = g + s.weight_decay * param[i];
    const float sq = square_avg[i] * s.rho + s.one_minus_rho * g * g;
    const float std_dev = sqrtf(sq + s.eps);
    const float delta = sqrtf(acc_delta[i] + s.eps) / std_dev * g;
    square_avg[i] = sq;
    acc_delta[i] = acc_delta[i] * s.rho + s.one_minus_rho * delta * delta;
    param[i] = param[i] + s.neg_lr * delta;
  }
}

void adadelta_slice_loops(const AdadeltaTensor& t, int64_t begin, int64_t end,
                          const AdadeltaScalars& s) {
  if (s.decay)
    adadelta_loop<true>(t, begin, end, s);
  else
    adadelta_loop<false>(t, begin, end, s);
}

template <bool kDecay>
void adagrad_loop(const AdagradTensor& t, int64_t begin, int64_t end, const AdagradScalars& s) {
  float* param = t.param;
  const float* grad = t.grad;
  float* sum = t.sum;
  for (int64_t i = begin; i < end; ++i) {
    float g = grad[i];
    if (kDecay) g = g + s.weight_decay * param[i];
    const float total = sum[i] + g * g;
    sum[i] = total;
    param[i] = param[i] + s.neg_clr * g / (sqrtf(total) + s.eps);
  }
}

void adagrad_slice_loops(const AdagradTensor& t, int64_t begin, int64_t end,
                         const AdagradScalars& s) {
  if (s.decay)
    adagrad_loop<true>(t, begin, end, s);
  else
    adagrad_loop<false>(t, begin, end, s);
}

}  // namespace
}  // namespace cunn::kernels
