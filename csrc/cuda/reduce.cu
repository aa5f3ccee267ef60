// sum and max over the middle axis of (outer, length, inner).
// Two shapes of work: with inner >= 32 one thread walks the length of one output (adjacent
// threads read adjacent columns, so loads coalesce); with a small inner one block takes one
// output and its threads split the length, then combine in a fixed tree. Either way the
// order of additions depends only on the sizes.
#include <cuda_runtime.h>

#include <stdexcept>

#include "cuda/launch.cuh"
#include "cuda/reduce.h"

namespace cunn::cuda {
namespace {

constexpr std::int64_t kColumnThreshold = 32;

// float sums accumulate in double: float32 rounding over a million-element walk would
// exceed the tolerance against NumPy's pairwise sum.
template <class T> struct Accumulator { using type = T; };
template <> struct Accumulator<float> { using type = double; };

template <class T>
__global__ void sum_columns_kernel(T* out, const T* x, std::int64_t outer, std::int64_t length,
                                   std::int64_t inner) {
  using Acc = typename Accumulator<T>::type;
  const std::int64_t outputs = outer * inner;
  for (std::int64_t index = global_thread_index(); index < outputs; index += grid_stride()) {
    const std::int64_t o = index / inner, i = index % inner;
    const T* column = x + o * length * inner + i;
    Acc total = 0;
    for (std::int64_t l = 0; l < length; ++l) total += column[l * inner];
    out[index] = static_cast<T>(total);
  }
}

template <class T>
__global__ void sum_rows_kernel(T* out, const T* x, std::int64_t outer, std::int64_t length,
                                std::int64_t inner) {
  using Acc = typename Accumulator<T>::type;
  __shared__ Acc shared[32];
  const std::int64_t outputs = outer * inner;
  for (std::int64_t index = blockIdx.x; index < outputs; index += gridDim.x) {
    const std::int64_t o = index / inner, i = index % inner;
    const T* row = x + o * length * inner + i;
    Acc partial = 0;
    for (std::int64_t l = threadIdx.x; l < length; l += blockDim.x) partial += row[l * inner];
    const Acc total = block_sum(partial, shared);
    if (threadIdx.x == 0) out[index] = static_cast<T>(total);
  }
}

template <class T>
void launch_sum(T* out, const T* x, std::int64_t outer, std::int64_t length, std::int64_t inner) {
  const std::int64_t outputs = outer * inner;
  if (inner >= kColumnThreshold || length < kColumnThreshold) {
    sum_columns_kernel<T><<<blocks_for(outputs), kThreads>>>(out, x, outer, length, inner);
    check_launch("sum");
  } else {
    const int threads = row_threads(length);
    const unsigned blocks = static_cast<unsigned>(outputs < kMaxBlocks ? outputs : kMaxBlocks);
    sum_rows_kernel<T><<<blocks, threads>>>(out, x, outer, length, inner);
    check_launch("sum");
  }
}

// The better of two candidates: a NaN beats a number, a larger value beats a smaller one, and
// between equals (or two NaNs) the smaller index wins. That order is total, so the result
// does not depend on how candidates are paired: it is the twin's argmax.
__device__ inline bool better(float value, std::int64_t index, float other_value,
                              std::int64_t other_index) {
  const bool nan = value != value, other_nan = other_value != other_value;
  if (nan != other_nan) return nan;
  if (!nan && value != other_value) return value > other_value;
  return index < other_index;
}

__global__ void max_columns_kernel(float* values, std::int64_t* indices, const float* x,
                                   std::int64_t outer, std::int64_t length, std::int64_t inner) {
  const std::int64_t outputs = outer * inner;
  for (std::int64_t index = global_thread_index(); index < outputs; index += grid_stride()) {
    const std::int64_t o = index / inner, i = index % inner;
    const float* column = x + o * length * inner + i;
    float best = column[0];
    std::int64_t best_index = 0;
    // Strictly greater only (first index on ties); once a NaN is held nothing replaces it.
    for (std::int64_t l = 1; l < length && best == best; ++l) {
      const float value = column[l * inner];
      if (value != value || value > best) {
        best = value;
        best_index = l;
      }
    }
    values[index] = best;
    if (indices != nullptr) indices[index] = best_index;
  }
}

__global__ void max_rows_kernel(float* values, std::int64_t* indices, const float* x,
                                std::int64_t outer, std::int64_t length, std::int64_t inner) {
  __shared__ float shared_values[32];
  __shared__ std::int64_t shared_indices[32];
  const std::int64_t outputs = outer * inner;
  for (std::int64_t index = blockIdx.x; index < outputs; index += gridDim.x) {
    const std::int64_t o = index / inner, i = index % inner;
    const float* row = x + o * length * inner + i;
    // Threads past the end start from element 0, a valid candidate that cannot change the
    // result (ties go to the smaller index, and 0 is the smallest).
    float best = row[0];
    std::int64_t best_index = 0;
    for (std::int64_t l = threadIdx.x; l < length; l += blockDim.x) {
      const float value = row[l * inner];
      if (better(value, l, best, best_index)) {
        best = value;
        best_index = l;
      }
    }
    for (int offset = 16; offset > 0; offset /= 2) {
      const float other = __shfl_down_sync(0xffffffffu, best, offset);
      const std::int64_t other_index = __shfl_down_sync(0xffffffffu, best_index, offset);
      if (better(other, other_index, best, best_index)) {
        best = other;
        best_index = other_index;
      }
    }
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
    __syncthreads();  // the previous output's results have been read
    if (lane == 0) {
      shared_values[warp] = best;
      shared_indices[warp] = best_index;
    }
    __syncthreads();
    if (warp == 0) {
      best = shared_values[lane < warps ? lane : 0];
      best_index = shared_indices[lane < warps ? lane : 0];
      for (int offset = 16; offset > 0; offset /= 2) {
        const float other = __shfl_down_sync(0xffffffffu, best, offset);
        const std::int64_t other_index = __shfl_down_sync(0xffffffffu, best_index, offset);
        if (better(other, other_index, best, best_index)) {
          best = other;
          best_index = other_index;
        }
      }
      if (lane == 0) {
        values[index] = best;
        if (indices != nullptr) indices[index] = best_index;
      }
    }
  }
}

}  // namespace

void sum(void* out, const void* x, std::int64_t outer, std::int64_t length, std::int64_t inner,
         DType dtype) {
  if (outer * inner == 0) return;
  if (dtype == DType::float32)
    launch_sum(static_cast<float*>(out), static_cast<const float*>(x), outer, length, inner);
  else if (dtype == DType::int64)
    launch_sum(static_cast<std::int64_t*>(out), static_cast<const std::int64_t*>(x), outer,
               length, inner);
  else
    throw std::invalid_argument("sum: dtype must be float32 or int64");
}

void max(float* values, std::int64_t* indices, const float* x, std::int64_t outer,
         std::int64_t length, std::int64_t inner) {
  const std::int64_t outputs = outer * inner;
  if (outputs == 0) return;
  if (length < 1) throw std::invalid_argument("max: cannot reduce an empty axis");
  if (inner >= kColumnThreshold || length < kColumnThreshold) {
    max_columns_kernel<<<blocks_for(outputs), kThreads>>>(values, indices, x, outer, length,
                                                          inner);
  } else {
    const unsigned blocks = static_cast<unsigned>(outputs < kMaxBlocks ? outputs : kMaxBlocks);
    max_rows_kernel<<<blocks, row_threads(length)>>>(values, indices, x, outer, length, inner);
  }
  check_launch("max");
}

}  // namespace cunn::cuda
