// Dropout on the device; the twin of the forward/backward kernels is
// cunn/_backends/numpy_ref/dropout.py. Plain C++ so the binding needs no CUDA headers.
//
// The mask is drawn on the device by a counter-based generator, so that element i of a
// (seed, offset) stream is the same however the work is split:
//   uniform(seed, k) = (word >> 8) * 2^-24 in [0, 1), word = Philox-4x32-10 output word k % 4
//   for counter (k / 4 as two 32-bit words low first, 0, 0) and key (seed low, seed high
//   32 bits); mask[i] = uniform(seed, offset + i) >= p.
#pragma once

#include <cstdint>

namespace cunn::cuda {

// mask uint8 (count,): 1 keeps the element.
void dropout_mask(std::uint8_t* mask, std::int64_t count, float p, std::uint64_t seed,
                  std::uint64_t offset);
// out = x * mask * scale, elementwise (count elements).
void dropout_forward(float* out, const float* x, const std::uint8_t* mask, std::int64_t count,
                     float scale);
void dropout_backward(float* grad_input, const float* grad_output, const std::uint8_t* mask,
                      std::int64_t count, float scale);
// The same with one mask value per plane of `plane_size` elements (Dropout2d).
void dropout2d_forward(float* out, const float* x, const std::uint8_t* mask, std::int64_t planes,
                       std::int64_t plane_size, float scale);
void dropout2d_backward(float* grad_input, const float* grad_output, const std::uint8_t* mask,
                        std::int64_t planes, std::int64_t plane_size, float scale);

}  // namespace cunn::cuda
