// The geometry shared by the device pooling kernels (pool.h, avg_pool.h): `planes` = N * C
// input planes of H x W, pooled to OH x OW.
#pragma once

#include <cstdint>

namespace cunn::cuda {

struct PoolShape {
  std::int64_t planes, height, width, out_h, out_w;
  std::int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
};

}  // namespace cunn::cuda
