// Broadcast binary arithmetic. Axes of size 1 are dropped and neighbouring
// axes merged wherever both inputs step through them as one (same-shape
// contiguous arrays become one flat row, a bias add becomes rows x columns
// with the bias stride 0 down the rows). The innermost axis then runs one of
// four loops the compiler vectorises (stride 1/1, 1/0, 0/1) or a strided one.
// Matches numpy float32 arithmetic bit for bit.
#include "kernels/elementwise.h"

#include <algorithm>
#include <vector>

#include "dispatch/parallel.h"

namespace cunn::kernels {
namespace {

// Where two threads start to beat one: measured on a 2-core AVX-512 box, an
// add of 32768 elements took 4.9 us on one thread and the same on two, 65536
// took 9.8 us vs 5.2 us (fork/join costs a few us, an add ~0.15 ns/element).
constexpr int64_t kGrain = 32768;

struct Add { float operator()(float x, float y) const { return x + y; } };
struct Sub { float operator()(float x, float y) const { return x - y; } };
struct Mul { float operator()(float x, float y) const { return x * y; } };
struct Div { float operator()(float x, float y) const { return x / y; } };

template <class Op>
void run_row(const float* a, int64_t a_stride, const float* b, int64_t b_stride, float* out,
             int64_t count, Op op) {
  if (a_stride == 1 && b_stride == 1) {
    for (int64_t i = 0; i < count; ++i) out[i] = op(a[i], b[i]);
  } else if (a_stride == 1 && b_stride == 0) {
    const float b_value = *b;
    for (int64_t i = 0; i < count; ++i) out[i] = op(a[i], b_value);
  } else if (a_stride == 0 && b_stride == 1) {
    const float a_value = *a;
    for (int64_t i = 0; i < count; ++i) out[i] = op(a_value, b[i]);
  } else {
    for (int64_t i = 0; i < count; ++i) out[i] = op(a[i * a_stride], b[i * b_stride]);
  }
}

template <class Op>
void run(const std::vector<int64_t>& shape, const float* a, const std::vector<int64_t>& a_strides,
         const float* b, const std::vector<int64_t>& b_strides, float* out, Op op) {
  const int64_t dims = static_cast<int64_t>(shape.size());
  int64_t total = 1;
  for (int64_t size : shape) total *= size;
  if (total == 0) return;
  if (dims == 0) {
    out[0] = op(a[0], b[0]);
    return;
  }
  const int64_t inner = shape[dims - 1];
  const int64_t a_inner = a_strides[dims - 1];
  const int64_t b_inner = b_strides[dims - 1];
  parallel_for(0, total, kGrain, [&](int64_t lo, int64_t hi) {
    int64_t position = lo;
    while (position < hi) {
      const int64_t column = position % inner;
      int64_t row = position / inner;
      int64_t a_offset = column * a_inner;
      int64_t b_offset = column * b_inner;
      for (int64_t d = dims - 2; d >= 0; --d) {
        const int64_t index = row % shape[d];
        row /= shape[d];
        a_offset += index * a_strides[d];
        b_offset += index * b_strides[d];
      }
      const int64_t count = std::min(inner - column, hi - position);
      run_row(a + a_offset, a_inner, b + b_offset, b_inner, out + position, count, op);
      position += count;
    }
  });
}

}  // namespace

void binary(BinaryOp op, int64_t ndim, const int64_t* shape, const float* a,
            const int64_t* a_strides, const float* b, const int64_t* b_strides, float* out) {
  // Coalesce, outermost first: axis d folds into the previous kept axis when
  // stepping the previous one equals stepping through all of d, for both inputs.
  std::vector<int64_t> sizes, a_steps, b_steps;
  for (int64_t d = 0; d < ndim; ++d) {
    if (shape[d] == 1) continue;
    if (shape[d] == 0) return;
    if (!sizes.empty() && a_steps.back() == a_strides[d] * shape[d] &&
        b_steps.back() == b_strides[d] * shape[d]) {
      sizes.back() *= shape[d];
      a_steps.back() = a_strides[d];
      b_steps.back() = b_strides[d];
    } else {
      sizes.push_back(shape[d]);
      a_steps.push_back(a_strides[d]);
      b_steps.push_back(b_strides[d]);
    }
  }
  switch (op) {
    case BinaryOp::add: run(sizes, a, a_steps, b, b_steps, out, Add{}); break;
    case BinaryOp::sub: run(sizes, a, a_steps, b, b_steps, out, Sub{}); break;
    case BinaryOp::mul: run(sizes, a, a_steps, b, b_steps, out, Mul{}); break;
    case BinaryOp::div: run(sizes, a, a_steps, b, b_steps, out, Div{}); break;
  }
}

}  // namespace cunn::kernels
