// AVX-512 Winograd F(2x2, 3x3) transforms for conv2d_winograd.cpp (the method, matrices and the
// V / M layouts are described there), one group of (at most) 16 consecutive tiles at a
// time, lane j of every vector being the group's tile j. For tile (n, a, b):
//   input:  V[xi] = (B^T d B)[xi], d the 4x4 patch of the zero-padded plane whose corner
//           is (2a - pad_h, 2b - pad_w);
//   output: out[2a + r][2b + s] = (A^T m A)[r][s] + bias, clipped to the plane,
//           m[xi] = M[xi];
// (the weight gradient's transforms, lanes along the channels, are in
// conv2d_winograd_weight_avx512.cpp).
// A group's tiles lie in a few runs along tile rows; each run is read in chunks whose
// columns fit one vector (7 tiles for the input's 16 columns, 8 for the output's), and a
// masked permutation moves each chunk's values to its tiles' lanes. So every value is
// stored once, in whole aligned vectors, where the transforms of single tile runs wrote
// 7 lanes at a time and took nearly 3x as long (the forward of MNIST's second layer,
// whose tile rows have 7 tiles). Each call loops over the channels itself (the input
// transform over all, the output transform over a row panel's), so a group's chunks and
// stores are worked out once. Masked loads and stores never touch memory outside the
// plane. Compiled with AVX-512 flags only here; internal linkage only.
#include <immintrin.h>

#include <cstdint>

#include "kernels/conv2d_relu_pool.h"
#include "kernels/relu_pool_lanes_avx512.h"
#include "kernels/conv2d_winograd.h"

namespace cunn::kernels::avx512 {
namespace {

__mmask16 lanes_between(int64_t lo, int64_t hi) {  // lanes [lo, hi) of 16, clamped
  lo = lo < 0 ? 0 : lo > 16 ? 16 : lo;
  hi = hi < lo ? lo : hi > 16 ? 16 : hi;
  const uint32_t below_hi = hi >= 16 ? 0xFFFFu : (1u << hi) - 1u;
  const uint32_t below_lo = (1u << lo) - 1u;
  return static_cast<__mmask16>(below_hi & ~below_lo);
}

using conv2d_detail::TileRun;
using conv2d_detail::Winograd;

// The address `offset` floats from `base`, formed as an integer: the offset may point
// outside the plane (a padded column or row), and such lanes are never read.
uintptr_t address(const float* base, int64_t offset) {
  return reinterpret_cast<uintptr_t>(base) + static_cast<uintptr_t>(offset * 4);
}

const float* at(uintptr_t row, uintptr_t offset) {
  return reinterpret_cast<const float*>(row + offset);
}

// A run's tiles in pieces of at most 7, whose 16 input columns fit one vector; the
// group's channel loop reads every chunk once per channel, so what they share is worked
// out once. from[s]: lane j of the group takes element 2 (j - lane) + s of a row.
struct alignas(64) Chunk {
  __m512i from[4];
  uintptr_t row[4];    // channel 0's address of each of the 4 patch rows
  __mmask16 valid[4];  // the columns inside the plane (none for a row outside it)
  __mmask16 lanes;     // the group's lanes the chunk fills
};

constexpr int kMaxChunks = 16;  // a group has 16 tiles, every chunk at least one

int make_chunks(const Winograd& g, const float* x, const TileRun* runs, int64_t run_count,
                Chunk* chunks) {
  const __m512i two_lanes = _mm512_slli_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1);
  int count = 0;
  for (int64_t index = 0; index < run_count; ++index) {
    const TileRun& run = runs[index];
    for (int64_t done = 0; done < run.count; done += 7) {
      const int64_t tiles = run.count - done < 7 ? run.count - done : 7;
      const int64_t lane = run.lane + done, column = 2 * (run.b + done) - g.pad_w;
      Chunk& chunk = chunks[count++];
      for (int s = 0; s < 4; ++s)
        chunk.from[s] =
            _mm512_add_epi32(two_lanes, _mm512_set1_epi32(s - 2 * static_cast<int>(lane)));
      chunk.lanes = lanes_between(lane, lane + tiles);
      for (int r = 0; r < 4; ++r) {
        const int64_t h = 2 * run.a - g.pad_h + r;
        chunk.row[r] =
            address(x, run.n * g.in_channels * g.height * g.width + h * g.width + column);
        chunk.valid[r] = h < 0 || h >= g.height ? 0 : lanes_between(-column, g.width - column);
      }
    }
  }
  return count;
}

}  // namespace

void winograd_input_group(const Winograd& g, const float* x, const TileRun* runs,
                          int64_t run_count, float* v, int64_t v_channel_stride,
                          int64_t v_xi_stride) {
  Chunk chunks[kMaxChunks];
  const int chunk_count = make_chunks(g, x, runs, run_count, chunks);
  const uintptr_t plane_bytes = static_cast<uintptr_t>(g.height * g.width * 4);
  for (int64_t c = 0; c < g.in_channels; ++c) {
    const uintptr_t offset = c * plane_bytes;
    // p[4k + s], lane j: element 2 (j - lane) + s of row k of B^T d (the 4 patch rows
    // combined), gathered from every chunk before the columns are combined.
    __m512 p[16];
    for (int q = 0; q < 16; ++q) p[q] = _mm512_setzero_ps();
    for (int index = 0; index < chunk_count; ++index) {
      const Chunk& chunk = chunks[index];
      __m512 d[4];
      for (int r = 0; r < 4; ++r) d[r] = _mm512_maskz_loadu_ps(chunk.valid[r], at(chunk.row[r], offset));
      const __m512 t[4] = {_mm512_sub_ps(d[0], d[2]), _mm512_add_ps(d[1], d[2]),
                           _mm512_sub_ps(d[2], d[1]), _mm512_sub_ps(d[1], d[3])};
      for (int k = 0; k < 4; ++k)
        for (int s = 0; s < 4; ++s)
          p[4 * k + s] = _mm512_mask_permutexvar_ps(p[4 * k + s], chunk.lanes, chunk.from[s], t[k]);
    }
    float* out = v + c * v_channel_stride;
    for (int k = 0; k < 4; ++k) {
      const __m512* q = p + 4 * k;
      _mm512_storeu_ps(out + (4 * k) * v_xi_stride, _mm512_sub_ps(q[0], q[2]));
      _mm512_storeu_ps(out + (4 * k + 1) * v_xi_stride, _mm512_add_ps(q[1], q[2]));
      _mm512_storeu_ps(out + (4 * k + 2) * v_xi_stride, _mm512_sub_ps(q[2], q[1]));
      _mm512_storeu_ps(out + (4 * k + 3) * v_xi_stride, _mm512_sub_ps(q[1], q[3]));
    }
  }
}

void winograd_output_group(const Winograd& g, const float* m, int64_t m_xi_stride,
                           int64_t m_channel_stride, const TileRun* runs, int64_t run_count,
                           int64_t first_o, int64_t channels, const float* bias, float* out,
                           float* pooled, uint8_t* codes) {
  // Where each run (pooled: its windows) or chunk of 8 tiles of a run (its 16 output
  // columns) goes, for channel 0: the same for every channel, worked out once.
  struct alignas(64) Store {
    __m512i from;     // lane l takes lane from[l] of the group's vector (pair of vectors)
    int64_t offset;   // of the first pooled value, or the first output column of row 2a
    __mmask16 lanes;  // the values stored
    bool second_row;  // row 2a + 1 exists
  };
  Store stores[16];  // a group has 16 tiles, every store at least one
  int store_count = 0;
  const __m512i lane_index = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  // Lane 2j + s of an output row is tile (lane + j)'s column s.
  const __m512i interleave = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22,
                                               7, 23);
  const int64_t pooled_h = g.out_h / 2, pooled_w = g.out_w / 2;
  for (int64_t index = 0; index < run_count; ++index) {
    const TileRun& run = runs[index];
    if (pooled) {
      stores[store_count++] = Store{
          _mm512_add_epi32(lane_index, _mm512_set1_epi32(static_cast<int>(run.lane))),
          (run.n * g.out_channels * pooled_h + run.a) * pooled_w + run.b,
          lanes_between(0, run.count), false};
      continue;
    }
    for (int64_t done = 0; done < run.count; done += 8) {
      const int64_t tiles = run.count - done < 8 ? run.count - done : 8;
      const int64_t column = 2 * (run.b + done);
      stores[store_count++] = Store{
          _mm512_add_epi32(interleave, _mm512_set1_epi32(static_cast<int>(run.lane + done))),
          (run.n * g.out_channels * g.out_h + 2 * run.a) * g.out_w + column,
          lanes_between(0, g.out_w - column < 2 * tiles ? g.out_w - column : 2 * tiles),
          2 * run.a + 1 < g.out_h};
    }
  }
  for (int64_t i = 0; i < channels; ++i) {
    const int64_t o = first_o + i;
    const float* m_channel = m + i * m_channel_stride;
    __m512 x[16];
    for (int xi = 0; xi < 16; ++xi) x[xi] = _mm512_loadu_ps(m_channel + xi * m_xi_stride);
    __m512 s0[4], s1[4];
    for (int k = 0; k < 4; ++k) {
      s0[k] = _mm512_add_ps(_mm512_add_ps(x[4 * k], x[4 * k + 1]), x[4 * k + 2]);
      s1[k] = _mm512_sub_ps(_mm512_sub_ps(x[4 * k + 1], x[4 * k + 2]), x[4 * k + 3]);
    }
    const __m512 bias16 = _mm512_set1_ps(bias ? bias[o] : 0.f);
    // y[r][s], lane j: the group's tile j at row r, column s.
    const __m512 y[2][2] = {
        {_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s0[0], s0[1]), s0[2]), bias16),
         _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s1[0], s1[1]), s1[2]), bias16)},
        {_mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s0[1], s0[2]), s0[3]), bias16),
         _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s1[1], s1[2]), s1[3]), bias16)}};
    if (pooled) {
      // The tiles are the pooling windows: each run's lanes moved to the front, then stored.
      const __m512 window[4] = {y[0][0], y[0][1], y[1][0], y[1][1]};
      __m512 value;
      __m512i code;
      relu_pool_lanes(window, &value, &code);
      const int64_t channel_offset = o * pooled_h * pooled_w;
      for (int index = 0; index < store_count; ++index) {
        const Store& store = stores[index];
        const int64_t at_window = store.offset + channel_offset;
        _mm512_mask_storeu_ps(pooled + at_window, store.lanes,
                              _mm512_permutexvar_ps(store.from, value));
        _mm_mask_storeu_epi8(codes + at_window, store.lanes,
                             _mm512_cvtepi32_epi8(_mm512_permutexvar_epi32(store.from, code)));
      }
      continue;
    }
    float* plane = out + o * g.out_h * g.out_w;
    for (int index = 0; index < store_count; ++index) {
      const Store& store = stores[index];
      _mm512_mask_storeu_ps(plane + store.offset, store.lanes,
                            _mm512_permutex2var_ps(y[0][0], store.from, y[0][1]));
      if (store.second_row)
        _mm512_mask_storeu_ps(plane + store.offset + g.out_w, store.lanes,
                              _mm512_permutex2var_ps(y[1][0], store.from, y[1][1]));
    }
  }
}

// relu_pool_windows (conv2d_relu_pool.cpp holds the portable version and the rules), 16
// windows at a time: even and odd columns of each row separated, then relu_pool_lanes.
void relu_pool_windows(const float* top, const float* bottom, int64_t count, float* pooled,
                       uint8_t* codes) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
                                         30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (int64_t done = 0; done < count; done += 16) {
    const int64_t n = count - done < 16 ? count - done : 16;
    const __mmask16 windows = lanes_between(0, n);
    const __mmask16 first_half = lanes_between(0, 2 * n), second_half = lanes_between(0, 2 * n - 16);
    const float* t = top + 2 * done;
    const float* b = bottom + 2 * done;
    const __m512 t0 = _mm512_maskz_loadu_ps(first_half, t);
    const __m512 t1 = _mm512_maskz_loadu_ps(second_half, t + 16);
    const __m512 b0 = _mm512_maskz_loadu_ps(first_half, b);
    const __m512 b1 = _mm512_maskz_loadu_ps(second_half, b + 16);
    const __m512 c[4] = {_mm512_permutex2var_ps(t0, even, t1), _mm512_permutex2var_ps(t0, odd, t1),
                         _mm512_permutex2var_ps(b0, even, b1), _mm512_permutex2var_ps(b0, odd, b1)};
    __m512 value;
    __m512i code;
    relu_pool_lanes(c, &value, &code);
    _mm512_mask_storeu_ps(pooled + done, windows, value);
    _mm_mask_storeu_epi8(codes + done, windows, _mm512_cvtepi32_epi8(code));
  }
}

// unpool_windows (conv2d_relu_pool.cpp holds the portable version): 16 windows at a time,
// 0 + g where the code names the position, +0 elsewhere, interleaved into the two rows.
void unpool_windows(const float* grad, const uint8_t* codes, int64_t count, float* top,
                    float* bottom) {
  const __m512i interleave_lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6,
                                                  22, 7, 23);
  const __m512i interleave_hi = _mm512_add_epi32(interleave_lo, _mm512_set1_epi32(8));
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t done = 0; done < count; done += 16) {
    const int64_t n = count - done < 16 ? count - done : 16;
    const __mmask16 windows = lanes_between(0, n);
    const __mmask16 first_half = lanes_between(0, 2 * n), second_half = lanes_between(0, 2 * n - 16);
    const __m512 g = _mm512_add_ps(zero, _mm512_maskz_loadu_ps(windows, grad + done));
    const __m512i code = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(windows, codes + done));
    __m512 at[4];
    for (int k = 0; k < 4; ++k)
      at[k] = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(code, _mm512_set1_epi32(k)), g);
    float* rows[2] = {top + 2 * done, bottom + 2 * done};
    for (int r = 0; r < 2; ++r) {
      _mm512_mask_storeu_ps(rows[r], first_half,
                            _mm512_permutex2var_ps(at[2 * r], interleave_lo, at[2 * r + 1]));
      _mm512_mask_storeu_ps(rows[r] + 16, second_half,
                            _mm512_permutex2var_ps(at[2 * r], interleave_hi, at[2 * r + 1]));
    }
  }
}

}  // namespace cunn::kernels::avx512
