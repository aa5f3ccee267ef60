// Single-precision GEMM, C = alpha * op(A) * op(B) + beta * C, row-major
// (contract in gemm.h; must match numpy's alpha * (op(A) @ op(B)) + beta * C).
//
// BLIS-style blocking around a register-blocked micro-kernel (gemm_ukernel.h):
//   for each NC-wide column block of B and KC-deep slice of K:
//     pack the KC x NC block of B into NR-wide micro-panels
//     for each MC-high row block of A: pack it into MR-high micro-panels, then
//       for each MR panel (kept in L1) sweep every NR panel of the B block (L2).
// Transposes are absorbed by the packing, so all four trans combinations run
// the same micro-kernel. Small operands skip the packing (the rules are below, their
// thresholds and measurements in tuning.cpp): a transposed A or an untransposed B is
// already in the micro-panel layout and is read in place, and A.B^T can run as dot
// products straight from the operands (dot_nt in gemm_ukernel.h). Threads take contiguous ranges of whole micro-panels
// of the larger of M and N; each C element is accumulated in the same order
// whatever the thread count, so results do not depend on it.
// Packing buffers are per thread (thread_local), which keeps sgemm re-entrant.
#include "kernels/gemm.h"

#include <algorithm>
#include <new>

#include "dispatch/cpu.h"
#include "dispatch/parallel.h"
#include "kernels/gemm_ukernel.h"
#include "kernels/tuning.h"

namespace cunn::kernels {
namespace {

// When to skip packing (thresholds and their measurements: tuning.cpp). A.B^T as dot
// products for narrow outputs, a few rows, or long K with all of B in L2; beyond L2 and
// for short K the packed kernel is faster.
bool use_dot_products(const GemmKernel& kernel, const Tuning& tuning, int64_t m, int64_t n,
                      int64_t k) {
  if (!kernel.dot_nt) return false;
  return n <= tuning.dot_max_n || m <= tuning.dot_max_m ||
         (tuning.dot_min_k > 0 && k >= tuning.dot_min_k && n * k <= tuning.dot_max_b_floats &&
          (tuning.dot_long_k_max_m == 0 || m <= tuning.dot_long_k_max_m));
}

// A transposed A read in place: each K step is one line of A, so only for slices of K
// short enough that the panel stays in L1.
bool read_a_in_place(const Tuning& tuning, int64_t k) {
  return tuning.read_in_place && k <= tuning.read_a_max_k;
}

// An untransposed A read in place, row by row: for a narrow product its micro-panels, a
// transposing copy, would be read by too few column panels to repay the copy.
bool read_rows_in_place(const GemmKernel& kernel, const Tuning& tuning, int64_t n) {
  return n <= tuning.read_a_rows_max_n && kernel.micro_kernel_rows != nullptr;
}

// An untransposed B read in place: for short K and few rows of A, where the packed copy
// would be reused by few micro-panels.
bool read_b_in_place(const Tuning& tuning, int64_t m, int64_t k) {
  return tuning.read_in_place && k <= tuning.read_b_max_k && m <= tuning.read_b_max_m;
}

const GemmKernel& select_kernel(const Tuning& tuning, int64_t n) {
#if defined(CUNN_X86)
  switch (active_isa()) {
    case Isa::avx512: return gemm_kernel_avx512(n <= tuning.narrow_max_n);
    case Isa::avx2: return gemm_kernel_avx2();
    default: break;
  }
#endif
  (void)tuning, (void)n;
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
  bool direct_a, direct_b;  // read full panels of op(A) / op(B) in place (see gemm_block)
  bool rows_of_a;           // direct_a for an untransposed A: micro_kernel_rows reads it
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

// Computes C[row_begin:row_end, col_begin:col_end] on the calling thread. Full panels
// of an operand already in the micro-panel layout (direct_a / direct_b) are read in place;
// only its edge panel, which needs zero padding, is copied.
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
  const bool direct_a = problem.direct_a, direct_b = problem.direct_b;

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
        if (direct_b && count == nr) continue;
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
          if (direct_a && count == mr) continue;
          if (problem.trans_a)
            kernel.pack_rows(a + pc * lda + row, lda, count, kb, kernel.mr, a_packed + ir * kb);
          else
            kernel.pack_columns(a + row * lda + pc, lda, count, kb, kernel.mr, a_packed + ir * kb);
        }
        for (int64_t ir = 0; ir < mb; ir += mr) {
          float* c_rows = problem.c + (ic + ir) * ldc + jc;
          const int64_t rows = std::min(mr, mb - ir);
          const bool a_in_place = direct_a && rows == mr;
          const bool a_rows = a_in_place && problem.rows_of_a;
          const float* a_panel = !a_in_place ? a_packed + ir * kb
                                 : a_rows    ? a + (ic + ir) * lda + pc
                                             : a + pc * lda + ic + ir;
          const int64_t a_step = a_in_place ? lda : mr;
          const auto micro_kernel = a_rows ? kernel.micro_kernel_rows : kernel.micro_kernel;
          for (int64_t jr = 0; jr < nb; jr += nr) {
            const int64_t cols = std::min(nr, nb - jr);
            const bool b_in_place = direct_b && cols == nr;
            micro_kernel(kb, a_panel, a_step,
                         b_in_place ? b + pc * ldb + jc + jr : b_packed + jr * kb,
                         b_in_place ? ldb : nr, c_rows + jr, ldc, problem.alpha, beta, rows,
                         cols);
          }
        }
      }
    }
  }
}

// C[rows, cols] = relu(C[rows, cols]); `c < 0 ? 0 : c` keeps NaN, as relu_forward does.
void relu_block(float* c, int64_t ldc, int64_t row_begin, int64_t row_end, int64_t col_begin,
                int64_t col_end) {
  for (int64_t i = row_begin; i < row_end; ++i) {
    float* row = c + i * ldc;
    for (int64_t j = col_begin; j < col_end; ++j) row[j] = row[j] < 0.0f ? 0.0f : row[j];
  }
}

// C[rows, cols] = bias[cols] in every row.
void seed_block(float* c, int64_t ldc, const float* bias, int64_t row_begin, int64_t row_end,
                int64_t col_begin, int64_t col_end) {
  for (int64_t i = row_begin; i < row_end; ++i)
    std::copy(bias + col_begin, bias + col_end, c + i * ldc + col_begin);
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
           int64_t ldc, bool relu, const float* bias) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (bias) seed_block(c, ldc, bias, 0, m, 0, n);
    scale_c(m, n, beta, c, ldc);
    if (relu) relu_block(c, ldc, 0, m, 0, n);
    return;
  }
  const Tuning& tuning = kernels::tuning();
  const GemmKernel& kernel = select_kernel(tuning, n);
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) *
                       static_cast<double>(k);
  const int64_t max_threads =
      flops < tuning.gemm_parallel_min_flops || in_parallel_region() ? 1 : get_num_threads();

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

  // Where the threads split C also decides which lines of the operands each core
  // caches. B of A.B^T and the result of A^T.B are usually weights and their gradients,
  // which the optimizer step then updates in contiguous halves, one per thread: splitting
  // them the same way keeps those lines on one core. Split the other way, every line
  // moved between the cores, and the Adam step after the MNIST MLP's GEMMs ran 3x
  // slower (27 -> 92 us).
  if (!trans_a && trans_b && use_dot_products(kernel, tuning, m, n, k)) {
    constexpr int64_t unit = 16;  // columns: a cache line of C
    if (n >= 2 * unit) {
      split((n + unit - 1) / unit, unit, n, [&](int64_t begin, int64_t end) {
        if (bias) seed_block(c, ldc, bias, 0, m, begin, end);
        kernel.dot_nt(0, m, end - begin, k, alpha, a, lda, b + begin * ldb, ldb, beta,
                      c + begin, ldc);
        if (relu) relu_block(c, ldc, 0, m, begin, end);
      });
    } else {
      split((m + 3) / 4, 4, m, [&](int64_t begin, int64_t end) {
        if (bias) seed_block(c, ldc, bias, begin, end, 0, n);
        kernel.dot_nt(begin, end, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        if (relu) relu_block(c, ldc, begin, end, 0, n);
      });
    }
    return;
  }

  const bool rows_of_a = !trans_a && read_rows_in_place(kernel, tuning, n);
  const Problem problem{trans_a,
                        trans_b,
                        rows_of_a || (trans_a && read_a_in_place(tuning, k)),
                        !trans_b && read_b_in_place(tuning, m, k),
                        rows_of_a,
                        k,
                        alpha,
                        a,
                        lda,
                        b,
                        ldb,
                        beta,
                        c,
                        ldc};
  const int64_t row_panels = (m + kernel.mr - 1) / kernel.mr;
  const int64_t col_panels = (n + kernel.nr - 1) / kernel.nr;
  // Each thread packs all of the operand it does not split, so split the
  // dimension whose other operand is the cheaper one to duplicate. With both read in
  // place nothing is duplicated: split the rows, so that each thread writes one
  // contiguous part of C (the weight gradient A^T.B, see above).
  const bool split_columns = problem.direct_a && problem.direct_b
                                 ? row_panels < 2
                                 : (m <= n ? col_panels >= 2 : row_panels < 2);
  if (split_columns) {
    split(col_panels, kernel.nr, n, [&](int64_t begin, int64_t end) {
      if (bias) seed_block(c, ldc, bias, 0, m, begin, end);
      gemm_block(kernel, problem, 0, m, begin, end);
      if (relu) relu_block(c, ldc, 0, m, begin, end);
    });
  } else {
    split(row_panels, kernel.mr, m, [&](int64_t begin, int64_t end) {
      if (bias) seed_block(c, ldc, bias, begin, end, 0, n);
      gemm_block(kernel, problem, begin, end, 0, n);
      if (relu) relu_block(c, ldc, begin, end, 0, n);
    });
  }
}

}  // namespace cunn::kernels
