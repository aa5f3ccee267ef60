// Dropout on the device (layout and generator in dropout.h). The products follow the twin
// (values * mask * scale, left to right), so a NaN or inf in x still gives NaN where dropped,
// as in NumPy.
#include "cuda/dropout.h"

#include "cuda/layer_common.cuh"

namespace cunn::cuda {
namespace {

using layers::blocks_for;
using layers::check_launch;
using layers::first_index;
using layers::grid_stride;
using layers::kThreads;

// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011):
// ten rounds of two 32x32->64 multiplications, the key bumped by the Weyl constants
// between rounds.
struct Words {
  std::uint32_t v[4];
};

__device__ Words philox(std::uint32_t c0, std::uint32_t c1, std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t kMultiplier0 = 0xD2511F53u, kMultiplier1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  std::uint32_t x0 = c0, x1 = c1, x2 = 0, x3 = 0;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    const std::uint32_t high0 = __umulhi(kMultiplier0, x0), low0 = kMultiplier0 * x0;
    const std::uint32_t high1 = __umulhi(kMultiplier1, x2), low1 = kMultiplier1 * x2;
    const std::uint32_t y0 = high1 ^ x1 ^ k0, y2 = high0 ^ x3 ^ k1;
    x0 = y0;
    x1 = low1;
    x2 = y2;
    x3 = low0;
  }
  return {{x0, x1, x2, x3}};
}

// Thread g draws group k / 4 = first_group + g once and keeps its four words for the
// elements of that group that lie in [offset, offset + count).
__global__ void dropout_mask_kernel(std::uint8_t* mask, std::int64_t count, float p,
                                    std::uint64_t seed, std::uint64_t offset) {
  const std::uint64_t first_group = offset / 4;
  const std::uint64_t end = offset + static_cast<std::uint64_t>(count);
  const std::int64_t groups = static_cast<std::int64_t>((end + 3) / 4 - first_group);
  const std::uint32_t k0 = static_cast<std::uint32_t>(seed);
  const std::uint32_t k1 = static_cast<std::uint32_t>(seed >> 32);
  for (std::int64_t g = first_index(); g < groups; g += grid_stride()) {
    const std::uint64_t group = first_group + static_cast<std::uint64_t>(g);
    const Words words = philox(static_cast<std::uint32_t>(group),
                               static_cast<std::uint32_t>(group >> 32), k0, k1);
    for (int lane = 0; lane < 4; ++lane) {
      const std::uint64_t k = group * 4 + lane;
      if (k < offset || k >= end) continue;
      const float uniform = static_cast<float>(words.v[lane] >> 8) * (1.0f / 16777216.0f);
      mask[k - offset] = uniform >= p ? 1 : 0;
    }
  }
}

// One mask value per element (plane_size 1, no 64-bit division then) or per plane.
__global__ void apply_mask_kernel(float* out, const float* x, const std::uint8_t* mask,
                                  std::int64_t count, std::int64_t plane_size, float scale) {
  for (std::int64_t e = first_index(); e < count; e += grid_stride()) {
    const std::uint8_t keep = mask[plane_size == 1 ? e : e / plane_size];
    out[e] = __fmul_rn(__fmul_rn(x[e], static_cast<float>(keep)), scale);
  }
}

void apply_mask(const char* kernel, float* out, const float* x, const std::uint8_t* mask,
                std::int64_t count, std::int64_t plane_size, float scale) {
  if (count == 0) return;
  apply_mask_kernel<<<blocks_for(count), kThreads>>>(out, x, mask, count, plane_size, scale);
  check_launch(kernel);
}

}  // namespace

void dropout_mask(std::uint8_t* mask, std::int64_t count, float p, std::uint64_t seed,
                  std::uint64_t offset) {
  if (count == 0) return;
  const std::int64_t groups =
      static_cast<std::int64_t>((offset + static_cast<std::uint64_t>(count) + 3) / 4 - offset / 4);
  dropout_mask_kernel<<<blocks_for(groups), kThreads>>>(mask, count, p, seed, offset);
  check_launch("dropout_mask");
}

void dropout_forward(float* out, const float* x, const std::uint8_t* mask, std::int64_t count,
                     float scale) {
  apply_mask("dropout_forward", out, x, mask, count, 1, scale);
}

void dropout_backward(float* grad_input, const float* grad_output, const std::uint8_t* mask,
                      std::int64_t count, float scale) {
  apply_mask("dropout_backward", grad_input, grad_output, mask, count, 1, scale);
}

void dropout2d_forward(float* out, const float* x, const std::uint8_t* mask, std::int64_t planes,
                       std::int64_t plane_size, float scale) {
  apply_mask("dropout2d_forward", out, x, mask, planes * plane_size, plane_size, scale);
}

void dropout2d_backward(float* grad_input, const float* grad_output, const std::uint8_t* mask,
                        std::int64_t planes, std::int64_t plane_size, float scale) {
  apply_mask("dropout2d_backward", grad_input, grad_output, mask, planes * plane_size, plane_size,
             scale);
}

}  // namespace cunn::cuda
