// Single-precision GEMM (gemm.h): C = alpha * op(A) * op(B) + beta * C, row-major.
//
// Each block computes a BM x BN tile of C. It walks k in steps of BK: the block's threads
// copy the BM x BK slice of op(A) and the BK x BN slice of op(B) into shared memory (zeros
// outside the matrices, so edges and a k that is not a multiple of BK need no other case),
// then each thread accumulates a TM x TN micro-tile of C in registers from them.
// The thread owning micro-tile (ty, tx) holds rows ty + r * (BM / TM) and columns
// tx + c * (BN / TN): adjacent threads read adjacent shared-memory words (no bank
// conflicts) and write adjacent columns of C (coalesced).
//
// Element (i, p) of op(A) is a[i * lda + p], or a[p * lda + i] when trans_a (A stored
// k x m); element (p, j) of op(B) is b[p * ldb + j], or b[j * ldb + p] when trans_b.
// Reference: numpy_ref/gemm.py (beta == 0 writes C without reading it).
#include <cuda_runtime.h>

#include "cuda/gemm.h"
#include "cuda/launch.cuh"

namespace cunn::cuda {
namespace {

struct Operands {
  bool trans_a, trans_b;
  std::int64_t m, n, k;
  float alpha, beta;
  const float* a;
  std::int64_t lda, stride_a;
  const float* b;
  std::int64_t ldb, stride_b;
  float* c;
  std::int64_t ldc, stride_c;
};

template <int BM, int BN, int BK, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    gemm_kernel(Operands op, std::int64_t column_offset, std::int64_t batch_offset) {
  constexpr int kThreadsX = BN / TN, kThreadsY = BM / TM;
  constexpr int kBlockThreads = kThreadsX * kThreadsY;
  static_assert((BM * BK) % kBlockThreads == 0 && (BK * BN) % kBlockThreads == 0,
                "each thread loads the same number of tile elements");
  // +4 pads rows apart in the bank map when a load writes down a column.
  __shared__ float a_tile[BK][BM + 4];
  __shared__ float b_tile[BK][BN + 4];

  const std::int64_t batch = batch_offset + blockIdx.z;
  const float* a = op.a + batch * op.stride_a;
  const float* b = op.b + batch * op.stride_b;
  float* c = op.c + batch * op.stride_c;
  const std::int64_t row0 = static_cast<std::int64_t>(blockIdx.x) * BM;
  const std::int64_t col0 = column_offset + static_cast<std::int64_t>(blockIdx.y) * BN;
  const int tid = threadIdx.x;
  const int tx = tid % kThreadsX, ty = tid / kThreadsX;

  float acc[TM][TN];
#pragma unroll
  for (int r = 0; r < TM; ++r)
#pragma unroll
    for (int s = 0; s < TN; ++s) acc[r][s] = 0.0f;

  for (std::int64_t p0 = 0; p0 < op.k; p0 += BK) {
    // Copy the tiles. The element order follows the memory order of the stored matrix
    // (along p for A, along i for A^T; along j for B, along p for B^T) so that adjacent
    // threads load adjacent addresses.
#pragma unroll
    for (int e = tid; e < BM * BK; e += kBlockThreads) {
      int i, p;
      if (op.trans_a) { p = e / BM; i = e % BM; }
      else { i = e / BK; p = e % BK; }
      const std::int64_t row = row0 + i, depth = p0 + p;
      float value = 0.0f;
      if (row < op.m && depth < op.k)
        value = op.trans_a ? a[depth * op.lda + row] : a[row * op.lda + depth];
      a_tile[p][i] = value;
    }
#pragma unroll
    for (int e = tid; e < BK * BN; e += kBlockThreads) {
      int p, j;
      if (op.trans_b) { j = e / BK; p = e % BK; }
      else { p = e / BN; j = e % BN; }
      const std::int64_t col = col0 + j, depth = p0 + p;
      float value = 0.0f;
      if (col < op.n && depth < op.k)
        value = op.trans_b ? b[col * op.ldb + depth] : b[depth * op.ldb + col];
      b_tile[p][j] = value;
    }
    __syncthreads();
#pragma unroll
    for (int p = 0; p < BK; ++p) {
      float a_fragment[TM], b_fragment[TN];
#pragma unroll
      for (int r = 0; r < TM; ++r) a_fragment[r] = a_tile[p][ty + r * kThreadsY];
#pragma unroll
      for (int s = 0; s < TN; ++s) b_fragment[s] = b_tile[p][tx + s * kThreadsX];
#pragma unroll
      for (int r = 0; r < TM; ++r)
#pragma unroll
        for (int s = 0; s < TN; ++s) acc[r][s] = fmaf(a_fragment[r], b_fragment[s], acc[r][s]);
    }
    __syncthreads();  // the tiles are overwritten by the next step
  }

#pragma unroll
  for (int r = 0; r < TM; ++r) {
    const std::int64_t row = row0 + ty + r * kThreadsY;
    if (row >= op.m) continue;
#pragma unroll
    for (int s = 0; s < TN; ++s) {
      const std::int64_t col = col0 + tx + s * kThreadsX;
      if (col >= op.n) continue;
      float* target = c + row * op.ldc + col;
      const float value = op.alpha * acc[r][s];
      *target = op.beta == 0.0f ? value : value + op.beta * *target;
    }
  }
}

// Grid limits: x (row tiles) reaches 2^31 - 1; y (column tiles) and z (batch) only 65535,
// so very wide or very many products are launched in chunks.
constexpr std::int64_t kMaxGridYZ = 65535;

template <int BM, int BN, int BK, int TM, int TN>
void launch(const Operands& op, std::int64_t batch) {
  constexpr int kBlockThreads = (BM / TM) * (BN / TN);
  const std::int64_t row_tiles = (op.m + BM - 1) / BM;
  const std::int64_t column_tiles = (op.n + BN - 1) / BN;
  for (std::int64_t b0 = 0; b0 < batch; b0 += kMaxGridYZ) {
    const std::int64_t batches = batch - b0 < kMaxGridYZ ? batch - b0 : kMaxGridYZ;
    for (std::int64_t t0 = 0; t0 < column_tiles; t0 += kMaxGridYZ) {
      const std::int64_t tiles =
          column_tiles - t0 < kMaxGridYZ ? column_tiles - t0 : kMaxGridYZ;
      const dim3 grid(static_cast<unsigned>(row_tiles), static_cast<unsigned>(tiles),
                      static_cast<unsigned>(batches));
      gemm_kernel<BM, BN, BK, TM, TN><<<grid, kBlockThreads>>>(op, t0 * BN, b0);
      check_launch("gemm");
    }
  }
}

void run(const Operands& op, std::int64_t batch) {
  if (op.m == 0 || op.n == 0 || batch == 0) return;
  // 128 x 128 tiles with 8 x 8 per thread do the most work per shared-memory load, but only
  // pay when there are enough tiles to occupy the device (64 blocks, about half the SMs of a
  // large GPU); smaller products take 64 x 64 tiles with 4 x 4 per thread, and the smallest
  // (a batch of 64 through a linear layer) 32 x 32 tiles with 2 x 2. All run 256 threads.
  const auto tiles = [&](std::int64_t size) {
    return ((op.m + size - 1) / size) * ((op.n + size - 1) / size) * batch;
  };
  if (tiles(128) >= 64)
    launch<128, 128, 8, 8, 8>(op, batch);
  else if (tiles(64) >= 64)
    launch<64, 64, 16, 4, 4>(op, batch);
  else
    launch<32, 32, 16, 2, 2>(op, batch);
}

}  // namespace

void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
          float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
          float beta, float* c, std::int64_t ldc) {
  run(Operands{trans_a, trans_b, m, n, k, alpha, beta, a, lda, 0, b, ldb, 0, c, ldc, 0}, 1);
}

void gemm_strided_batched(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n,
                          std::int64_t k, float alpha, const float* a, std::int64_t lda,
                          std::int64_t stride_a, const float* b, std::int64_t ldb,
                          std::int64_t stride_b, float beta, float* c, std::int64_t ldc,
                          std::int64_t stride_c, std::int64_t batch) {
  run(Operands{trans_a, trans_b, m, n, k, alpha, beta, a, lda, stride_a, b, ldb, stride_b, c,
               ldc, stride_c},
      batch);
}

}  // namespace cunn::cuda
