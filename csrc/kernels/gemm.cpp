// Single-precision GEMM, C = alpha * op(A) * op(B) + beta * C, row-major
// (contract in gemm.h; must match numpy's alpha * (op(A) @ op(B)) + beta * C).
//
// BLIS-style blocking around a register-blocked micro-kernel (gemm_ukernel.h):
//   for each NC-wide column block of B and KC-deep slice of K:
//     pack the KC x NC block of B into NR-wide micro-panels
//     for each MC-high row block of A: pack it into MR-high micro-panels, then
//       for each MR panel (kept in L1) sweep every NR panel of the B block (L2).
// Transposes are absorbed by the packing, so all four trans combinations run
// the same micro-kernel. The exception is A.B^T with at most 16 columns (the
// MNIST output layer) on AVX2 / AVX-512: dot products straight from the operands (see
// dot_nt in gemm_ukernel.h). Threads take contiguous ranges of whole micro-panels
// of the larger of M and N; each C element is accumulated in the same order
// whatever the thread count, so results do not depend on it.
// Packing buffers are per thread (thread_local), which keeps sgemm re-entrant.
#include "kernels/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <new>

#include "dispatch/cpu.h"
#include "dispatch/parallel.h"
#include "kernels/gemm_ukernel.h"

namespace cunn::kernels {
namespace {

// Below this many flops (2*M*N*K) one thread does the whole product: the
// fork/join and the duplicated packing cost more than they save. Measured on the
// 2-core Zen 4 VM (20th-percentile times, 1 vs 2 threads, threshold disabled):
// 0.13-0.26 MFLOP (32x32x64, 64x64x32, 128x64x16) ran 0.7-0.8x as fast on two
// threads, 0.33 MFLOP (128x10x128) 0.93x, 0.52 MFLOP (64x64x64) 1.13x,
// 1.05 MFLOP (64x128x64) 1.3x, 3.2 MFLOP (64x784x32) 2.1x.
constexpr double kParallelMinFlops = 0.5e6;

const GemmKernel& select_kernel(int64_t n) {
#if defined(CUNN_X86)
  switch (active_isa()) {
    case Isa::avx512: return gemm_kernel_avx512(n <= 16);
    case Isa::avx2: return gemm_kernel_avx2();
    default: break;
  }
#endif
  (void)n;
  return gemm_kernel_reference();
}

// A growable 64-byte aligned scratch area owned by one thread.
class PackingBuffer {
 public:
  PackingBuffer() = default;
  PackingBuffer(const PackingBuffer&) = delete;
  PackingBuffer& operator=(const PackingBuffer&) = delete;
  ~PackingBuffer() { std::free(data_); }

  float* reserve(size_t floats) {
    if (floats > capacity_) {
      std::free(data_);
      const size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!data_) {
        capacity_ = 0;
        throw std::bad_alloc();
      }
      capacity_ = floats;
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

struct Problem {
  bool trans_a, trans_b;
  int64_t k;
  float alpha;
  const float* a;
  int64_t lda;
  const float* b;
  int64_t ldb;
  float beta;
  float* c;
  int64_t ldc;
};

// Computes C[row_begin:row_end, col_begin:col_end] on the calling thread.
void gemm_block(const GemmKernel& kernel, const Problem& problem, int64_t row_begin,
                int64_t row_end, int64_t col_begin, int64_t col_end) {
  thread_local PackingBuffer a_buffer;
  thread_local PackingBuffer b_buffer;
  const int64_t mr = kernel.mr, nr = kernel.nr;
  float* a_packed = a_buffer.reserve(static_cast<size_t>(kernel.mc * kernel.kc));
  float* b_packed = b_buffer.reserve(static_cast<size_t>(kernel.kc * kernel.nc));
  const float* a = problem.a;
  const float* b = problem.b;
  const int64_t lda = problem.lda, ldb = problem.ldb, ldc = problem.ldc;

  // K is cut into equal slices of at most kc (784 = 392 + 392, not 512 + 272): each
  // slice is one more pass over C, so a thin last slice would cost a pass for little work.
  const int64_t k_slices = (problem.k + kernel.kc - 1) / kernel.kc;
  const int64_t kc = (problem.k + k_slices - 1) / k_slices;
  for (int64_t jc = col_begin; jc < col_end; jc += kernel.nc) {
    const int64_t nb = std::min(kernel.nc, col_end - jc);
    for (int64_t pc = 0; pc < problem.k; pc += kc) {
      const int64_t kb = std::min(kc, problem.k - pc);
      // Later K slices add onto what the first one wrote.
      const float beta = pc == 0 ? problem.beta : 1.f;
      for (int64_t jr = 0; jr < nb; jr += nr) {
        const int64_t count = std::min(nr, nb - jr);
        const int64_t col = jc + jr;
        if (problem.trans_b)
          kernel.pack_columns(b + col * ldb + pc, ldb, count, kb, kernel.nr, b_packed + jr * kb);
        else
          kernel.pack_rows(b + pc * ldb + col, ldb, count, kb, kernel.nr, b_packed + jr * kb);
      }
      for (int64_t ic = row_begin; ic < row_end; ic += kernel.mc) {
        const int64_t mb = std::min(kernel.mc, row_end - ic);
        for (int64_t ir = 0; ir < mb; ir += mr) {
          const int64_t count = std::min(mr, mb - ir);
          const int64_t row = ic + ir;
          if (problem.trans_a)
            kernel.pack_rows(a + pc * lda + row, lda, count, kb, kernel.mr, a_packed + ir * kb);
          else
            kernel.pack_columns(a + row * lda + pc, lda, count, kb, kernel.mr, a_packed + ir * kb);
        }
        for (int64_t ir = 0; ir < mb; ir += mr) {
          float* c_rows = problem.c + (ic + ir) * ldc + jc;
          const int64_t rows = std::min(mr, mb - ir);
          for (int64_t jr = 0; jr < nb; jr += nr)
            kernel.micro_kernel(kb, a_packed + ir * kb, b_packed + jr * kb, c_rows + jr, ldc,
                                problem.alpha, beta, rows, std::min(nr, nb - jr));
        }
      }
    }
  }
}

// K == 0: the product is empty, so C = beta * C (beta == 0 clears C, NaNs included).
void scale_c(int64_t m, int64_t n, float beta, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    if (beta == 0.f)
      std::fill(row, row + n, 0.f);
    else
      for (int64_t j = 0; j < n; ++j) row[j] *= beta;
  }
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  const GemmKernel& kernel = select_kernel(n);
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) *
                       static_cast<double>(k);
  const int64_t max_threads =
      flops < kParallelMinFlops || in_parallel_region() ? 1 : get_num_threads();

  // Splits `panels` units of `unit` rows or columns (clamped to `limit`) over the
  // threads, one contiguous range each, and calls body(begin, end) for every range.
  auto split = [max_threads](int64_t panels, int64_t unit, int64_t limit, const auto& body) {
    const int64_t threads = std::min(max_threads, panels);
    if (threads <= 1) {
      body(int64_t{0}, limit);
      return;
    }
    parallel_for(0, threads, 1, [&](int64_t first, int64_t last) {
      for (int64_t part = first; part < last; ++part)
        body(panels * part / threads * unit, std::min(limit, panels * (part + 1) / threads * unit));
    });
  };

  if (!trans_a && trans_b && n <= 16 && kernel.dot_nt) {
    split((m + 3) / 4, 4, m, [&](int64_t begin, int64_t end) {
      kernel.dot_nt(begin, end, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    });
    return;
  }

  const Problem problem{trans_a, trans_b, k, alpha, a, lda, b, ldb, beta, c, ldc};
  const int64_t row_panels = (m + kernel.mr - 1) / kernel.mr;
  const int64_t col_panels = (n + kernel.nr - 1) / kernel.nr;
  // Each thread packs all of the operand it does not split, so split the
  // dimension whose other operand is the cheaper one to duplicate.
  if (m <= n ? col_panels >= 2 : row_panels < 2) {
    split(col_panels, kernel.nr, n, [&](int64_t begin, int64_t end) {
      gemm_block(kernel, problem, 0, m, begin, end);
    });
  } else {
    split(row_panels, kernel.mr, m, [&](int64_t begin, int64_t end) {
      gemm_block(kernel, problem, begin, end, 0, n);
    });
  }
}

}  // namespace cunn::kernels
