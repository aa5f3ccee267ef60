// Fused gather + ToTensor + Normalize for uint8 image datasets:
//   out[b, j] = ((float)images[indices[b], j] / 255.0f - mean) / std
// in float32, exactly those IEEE operations in that order (no reciprocal, no
// FMA: none is possible here), so the result is bit-identical to the NumPy
// transforms (cunn/data/transforms.py: ToTensor then Normalize) and to the
// twin in cunn/_backends/numpy_ref/image_batch.py.
// Layout: images (count, row) uint8 row-major, out (batch, row) float32
// row-major; every index must already lie in [0, count) (the binding checks).
// AVX-512 / AVX2 versions chosen by active_isa(), the portable loop below them.
#pragma once

#include <cstdint>

namespace cunn::kernels {

void normalize_images(const uint8_t* images, int64_t row, const int64_t* indices, int64_t batch,
                      float mean, float std, float* out);

// One row of `n` bytes; the per-ISA versions live in image_batch_avx2.cpp /
// image_batch_avx512.cpp.
namespace avx2 {
void normalize_row(const uint8_t* x, float* out, int64_t n, float mean, float std);
}  // namespace avx2
namespace avx512 {
void normalize_row(const uint8_t* x, float* out, int64_t n, float mean, float std);
}  // namespace avx512

}  // namespace cunn::kernels
