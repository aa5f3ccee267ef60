// SGD, Adam/AdamW, RMSprop, Adadelta and Adagrad steps; the math and the reference to match are in
// optim.h, the element loops in optim_loops.h. This file rounds the scalars,
// splits the work over threads and picks the loops: the AVX-512 or AVX2 build of
// them (optim_avx512.cpp, optim_avx2.cpp) when the CPU has it, the portable build
// otherwise. All round the same operations, so the choice never changes a result.
#include "kernels/optim.h"

#include <algorithm>
#include <cmath>

#include "dispatch/cpu.h"
#include "dispatch/parallel.h"
#include "kernels/optim_loops.h"

namespace cunn::kernels {

#ifdef CUNN_X86
// optim_isa.h defines these in optim_avx2.cpp and optim_avx512.cpp.
#define CUNN_DECLARE_OPTIM_SLICES                                                           \
  void sgd_slice(const SgdTensor& t, int64_t begin, int64_t end,                            \
                 const detail::SgdScalars& s);                                              \
  void adam_slice(const AdamTensor& t, int64_t begin, int64_t end,                          \
                  const detail::AdamScalars& s);                                            \
  void rmsprop_slice(const RmspropTensor& t, int64_t begin, int64_t end,                    \
                     const detail::RmspropScalars& s);                                      \
  void adadelta_slice(const AdadeltaTensor& t, int64_t begin, int64_t end,                  \
                      const detail::AdadeltaScalars& s);                                    \
  void adagrad_slice(const AdagradTensor& t, int64_t begin, int64_t end,                    \
                     const detail::AdagradScalars& s);
namespace avx2 {
CUNN_DECLARE_OPTIM_SLICES
}  // namespace avx2
namespace avx512 {
CUNN_DECLARE_OPTIM_SLICES
}  // namespace avx512
#undef CUNN_DECLARE_OPTIM_SLICES

// The widest build of an optimizer's loops the CPU runs; the builds round the same
// operations, so the choice never changes a result.
#define CUNN_PICK_SLICE(name)                                          \
  (active_isa() == Isa::avx512 ? &avx512::name##_slice                 \
   : active_isa() == Isa::avx2 ? &avx2::name##_slice : &name##_slice_loops)
#else
#define CUNN_PICK_SLICE(name) (&name##_slice_loops)
#endif

namespace {

// Elements per thread chunk: an update touches 3-6 floats per element, so a
// chunk this size costs tens of microseconds, well above the fork/join cost.
constexpr int64_t kGrain = 1 << 15;

// Tensors below kSmallTensor elements, while they total at most kSmallTotal, are
// updated whole by the calling thread.
constexpr int64_t kSmallTensor = 1 << 12;
constexpr int64_t kSmallTotal = 1 << 13;

// Calls slice(tensor, begin, end, scalars) for every piece of every tensor. The large
// tensors are threaded over their total element count (rather than tensor by tensor);
// the small ones (biases, a 10-class output layer) go to the calling thread, which ran
// the serial kernels that wrote their gradients and read them: updated on another core,
// each of their cache lines would have to move there first. For the MNIST MLP's 1,418
// such elements the step ran about 1-2% faster.
template <class Tensor, class Scalars>
void for_each_slice(const std::vector<Tensor>& tensors, const Scalars& scalars,
                    void (*slice)(const Tensor&, int64_t, int64_t, const Scalars&)) {
  int64_t small_total = 0;
  for (const Tensor& tensor : tensors)
    if (tensor.numel < kSmallTensor) small_total += tensor.numel;
  // More than that is too much for one thread: share it out with the rest.
  const bool keep_small = small_total <= kSmallTotal;
  std::vector<const Tensor*> large, small;
  for (const Tensor& tensor : tensors)
    (keep_small && tensor.numel < kSmallTensor ? small : large).push_back(&tensor);
  std::vector<int64_t> offsets(large.size() + 1, 0);
  for (size_t i = 0; i < large.size(); ++i) offsets[i + 1] = offsets[i] + large[i]->numel;
  auto update_small = [&] {
    for (const Tensor* tensor : small) slice(*tensor, 0, tensor->numel, scalars);
  };
  if (offsets.back() == 0) {
    update_small();
    return;
  }
  parallel_for(0, offsets.back(), kGrain, [&](int64_t lo, int64_t hi) {
    if (lo == 0) update_small();  // the first range is the calling thread's
    size_t index = static_cast<size_t>(
        std::upper_bound(offsets.begin(), offsets.end(), lo) - offsets.begin() - 1);
    while (lo < hi) {
      const int64_t stop = std::min(hi, offsets[index + 1]);
      if (stop > lo) slice(*large[index], lo - offsets[index], stop - offsets[index], scalars);
      lo = stop;
      ++index;
    }
  });
}

}  // namespace

void sgd_step(const std::vector<SgdTensor>& tensors, double lr, double momentum,
              double dampening, double weight_decay, bool nesterov, bool first_step) {
  detail::SgdScalars s;
  s.neg_lr = static_cast<float>(-lr);
  s.momentum = static_cast<float>(momentum);
  s.one_minus_dampening = static_cast<float>(1.0 - dampening);
  s.weight_decay = static_cast<float>(weight_decay);
  s.decay = weight_decay != 0.0;
  s.use_momentum = momentum != 0.0;
  s.first_step = first_step;
  s.nesterov = nesterov;
  for_each_slice(tensors, s, CUNN_PICK_SLICE(sgd));
}

void adam_step(const std::vector<AdamTensor>& tensors, double lr, double beta1, double beta2,
               double eps, double weight_decay, int64_t step, bool decoupled_weight_decay) {
  // PyTorch computes these in Python (double) from the step count.
  const double step_d = static_cast<double>(step);
  const double bias_correction1 = 1.0 - std::pow(beta1, step_d);
  const double bias_correction2 = 1.0 - std::pow(beta2, step_d);
  detail::AdamScalars s;
  s.neg_step_size = static_cast<float>(-(lr / bias_correction1));
  s.bias_correction2_sqrt = static_cast<float>(std::pow(bias_correction2, 0.5));
  s.bias_correction2_reciprocal = 1.0f / s.bias_correction2_sqrt;
  s.reciprocal_exact = std::isnormal(s.bias_correction2_sqrt) &&
                       std::isnormal(s.bias_correction2_reciprocal);
  s.decay_factor = static_cast<float>(1.0 - lr * weight_decay);
  s.weight_decay = static_cast<float>(weight_decay);
  s.one_minus_beta1 = static_cast<float>(1.0 - beta1);
  s.beta2 = static_cast<float>(beta2);
  s.one_minus_beta2 = static_cast<float>(1.0 - beta2);
  s.eps = static_cast<float>(eps);
  s.decay = weight_decay == 0.0 ? 0 : (decoupled_weight_decay ? 2 : 1);
  s.small_weight = std::abs(s.one_minus_beta1) < 0.5f;
  s.amsgrad = !tensors.empty() && tensors.front().max_exp_avg_sq != nullptr;
  for_each_slice(tensors, s, CUNN_PICK_SLICE(adam));
}

void rmsprop_step(const std::vector<RmspropTensor>& tensors, double lr, double alpha, double eps,
                  double weight_decay, double momentum, bool centered) {
  detail::RmspropScalars s;
  s.neg_lr = static_cast<float>(-lr);
  s.alpha = static_cast<float>(alpha);
  s.one_minus_alpha = static_cast<float>(1.0 - alpha);
  s.eps = static_cast<float>(eps);
  s.weight_decay = static_cast<float>(weight_decay);
  s.momentum = static_cast<float>(momentum);
  s.decay = weight_decay != 0.0;
  s.centered = centered;
  s.use_momentum = momentum > 0.0;
  s.small_weight = std::abs(s.one_minus_alpha) < 0.5f;
  for_each_slice(tensors, s, CUNN_PICK_SLICE(rmsprop));
}

void adadelta_step(const std::vector<AdadeltaTensor>& tensors, double lr, double rho,
                   double eps, double weight_decay) {
  detail::AdadeltaScalars s;
  s.neg_lr = static_cast<float>(-lr);
  s.rho = static_cast<float>(rho);
  s.one_minus_rho = static_cast<float>(1.0 - rho);
  s.eps = static_cast<float>(eps);
  s.weight_decay = static_cast<float>(weight_decay);
  s.decay = weight_decay != 0.0;
  for_each_slice(tensors, s, CUNN_PICK_SLICE(adadelta));
}

void adagrad_step(const std::vector<AdagradTensor>& tensors, double lr, double lr_decay,
                  double weight_decay, double eps, int64_t step) {
  detail::AdagradScalars s;
  // PyTorch computes the decayed lr in Python (double) from the step count.
  const double clr = lr / (1.0 + static_cast<double>(step - 1) * lr_decay);
  s.neg_clr = static_cast<float>(-clr);
  s.weight_decay = static_cast<float>(weight_decay);
  s.eps = static_cast<float>(eps);
  s.decay = weight_decay != 0.0;
  for_each_slice(tensors, s, CUNN_PICK_SLICE(adagrad));
}

}  // namespace cunn::kernels
