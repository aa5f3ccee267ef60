#include "kernels/conv2d_partition.h"

#include <algorithm>
#include <vector>

namespace cunn::kernels::conv2d_detail {

int64_t balanced_parts(int64_t units, int64_t max_units) {
  const int64_t parts = (units + max_units - 1) / std::max<int64_t>(1, max_units);
  return std::max<int64_t>(1, std::min(units, (parts + 3) / 4 * 4));
}

int64_t group_count(int64_t units, int64_t max_groups, int64_t size) {
  return std::max<int64_t>(
      1, std::min({units, max_groups, tuning().conv_partial_budget / std::max<int64_t>(1, size)}));
}

float* scratch(size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

float* call_scratch(size_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

}  // namespace cunn::kernels::conv2d_detail
