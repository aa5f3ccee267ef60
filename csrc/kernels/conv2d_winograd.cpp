#include "kernels/conv2d_winograd.h"

#include <algorithm>

#include "dispatch/cpu.h"
#include "kernels/conv2d_partition.h"
#include "kernels/gemm_ukernel.h"
#include "kernels/tuning.h"

namespace cunn::kernels::conv2d_detail {

// --- Winograd F(2x2, 3x3) ------------------------------------------------------------
//
// For 3x3 kernels at stride 1 (both MNIST layers' passes that matter) each 2x2 block of
// outputs ("tile") is computed from the 4x4 input patch under it as
//   Y = A^T [ sum_c (G g[o, c] G^T) (.) (B^T d[c] B) ] A
// with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
// A^T = [1 1 1 0; 0 1 -1 -1]: 16 elementwise products per tile and channel instead of 36
// multiply-adds, i.e. 2.25x fewer flops. The sum over c is a GEMM per transformed
// position xi (16 of them): M[xi] (O, T) = U[xi] (O, C) . V[xi] (C, T) over a block of T
// tiles. Its transforms (conv2d_avx512.cpp) work on groups of 16 consecutive tiles, one
// per vector lane, and write V and read M as whole 16-tile vectors; winograd_conv keeps
// V in the micro-kernel's packed panels. The weight gradient's transforms run with lanes
// along the channels instead (see winograd_weight_grad).
// Tiles are numbered image by image, row by row; threads take whole blocks, so each
// output is computed the same way whatever the thread count. The transforms only add,
// subtract and halve, so the rounding is that of the 16 dot products plus a few
// additions, well inside the reference tolerance (measured on MNIST's second layer: the
// im2col error for the forward, 1.7x it for the input gradient).
// The input gradient of a stride-1 3x3 convolution is itself one: grad_output convolved
// with the kernel flipped in both axes, channels swapped, padding 2 - p.
// The input and output transforms are in conv2d_avx512.cpp (see winograd_applies).

namespace {

// Tiles per block of the weight gradient: its V (16 C T) and GT (16 O T) floats stay
// near the tuning's conv_column_budget (in L2).
int64_t winograd_block(int64_t in_channels, int64_t out_channels) {
  const int64_t tiles = tuning().conv_column_budget / (16 * (in_channels + out_channels));
  return std::max<int64_t>(32, std::min<int64_t>(512, tiles / 32 * 32));
}

// U[xi] = G g G^T for the 3x3 kernels g = weight[o, c] of the output channels
// [r mr, r mr + mr) (flipped in both axes and with o and c swapped when `transposed`, for
// the input gradient), written as the micro-kernel's packed A panel of each xi: element
// (o - r mr, c) at u + xi * u_xi + r * mr * in_channels + c * mr + o - r mr; the rows past
// out_channels are 0.
void winograd_weight_panel(const float* weight, int64_t out_channels, int64_t in_channels,
                           bool transposed, int64_t r, int64_t mr, float* u, int64_t u_xi) {
  // weight is (O, C, 3, 3) of the forward convolution; this convolution has
  // out_channels x in_channels kernels.
  const int64_t forward_in = transposed ? out_channels : in_channels;
  float* panel = u + r * mr * in_channels;
  for (int64_t c = 0; c < in_channels; ++c) {
    for (int64_t i = 0; i < mr; ++i) {
      const int64_t o = r * mr + i;
      float* at = panel + c * mr + i;
      if (o >= out_channels) {
        for (int xi = 0; xi < 16; ++xi) at[xi * u_xi] = 0.f;
        continue;
      }
      float g[3][3];
      const float* kernel = transposed ? weight + (c * forward_in + o) * 9
                                       : weight + (o * forward_in + c) * 9;
      for (int p = 0; p < 3; ++p)
        for (int q = 0; q < 3; ++q)
          g[p][q] = transposed ? kernel[(2 - p) * 3 + (2 - q)] : kernel[p * 3 + q];
      float t[4][3];  // G g
      for (int q = 0; q < 3; ++q) {
        t[0][q] = g[0][q];
        t[1][q] = 0.5f * (g[0][q] + g[1][q] + g[2][q]);
        t[2][q] = 0.5f * (g[0][q] - g[1][q] + g[2][q]);
        t[3][q] = g[2][q];
      }
      for (int k = 0; k < 4; ++k) {  // (G g) G^T
        const float row[4] = {t[k][0], 0.5f * (t[k][0] + t[k][1] + t[k][2]),
                              0.5f * (t[k][0] - t[k][1] + t[k][2]), t[k][2]};
        for (int l = 0; l < 4; ++l) at[(k * 4 + l) * u_xi] = row[l];
      }
    }
  }
}

int64_t round_up(int64_t value, int64_t step) { return (value + step - 1) / step * step; }

// A thread's scratch of `floats` floats from a 64-byte boundary, so that the transforms'
// 16-float vectors (at multiples of 16 floats) each fill one cache line.
float* aligned_scratch(int64_t floats) {
  float* start = scratch(static_cast<size_t>(floats + 16));
  const uintptr_t address = reinterpret_cast<uintptr_t>(start);
  return start + (round_up(static_cast<int64_t>(address), 64) - static_cast<int64_t>(address)) / 4;
}

}  // namespace

int64_t group_runs(const Winograd& g, int64_t first, int64_t count, TileRun* runs) {
  const int64_t per_image = g.tiles_h * g.tiles_w;
  int64_t run_count = 0;
  for (int64_t t = first; t < first + count;) {
    const int64_t n = t / per_image, a = t % per_image / g.tiles_w, b = t % g.tiles_w;
    const int64_t length = std::min(g.tiles_w - b, first + count - t);
    runs[run_count++] = TileRun{n, a, b, length, t - first};
    t += length;
  }
  return run_count;
}

Winograd make_winograd(int64_t batch, int64_t in_channels, int64_t out_channels, int64_t height,
                       int64_t width, int64_t pad_h, int64_t pad_w) {
  Winograd g{batch, in_channels, out_channels, height, width, pad_h, pad_w, 0, 0, 0, 0, 0};
  g.out_h = height + 2 * pad_h - 2;
  g.out_w = width + 2 * pad_w - 2;
  g.tiles_h = (g.out_h + 1) / 2;
  g.tiles_w = (g.out_w + 1) / 2;
  g.block = winograd_block(in_channels, out_channels);
  return g;
}

#if defined(CUNN_X86)
// out (N, O, OH, OW) = the stride-1 3x3 convolution of x (N, C, H, W) with the kernels
// of `weight` (read as winograd_weight_panel does), plus bias (or null).
//
// The 16 products run on the AVX-512 GEMM micro-kernel directly (gemm_ukernel.h), with
// both operands already in its packed layouts, so nothing is copied twice: U is written
// once per call into MR-row panels, and the input transform writes V straight into
// NR-tile panels (two 16-tile groups each). For each panel of MR output channels the 16
// products fill a small M (16 x MR x block tiles, in L2 with V) that the output transform
// consumes at once.
void winograd_conv(const Winograd& g, const float* x, const float* weight, bool transposed,
                   const float* bias, float* out, float* pooled, uint8_t* codes) {
  const GemmKernel& kernel = gemm_kernel_avx512(false);
  const int64_t mr = kernel.mr, nr = kernel.nr;
  const int64_t tiles = g.batch * g.tiles_h * g.tiles_w;
  const int64_t c_count = g.in_channels, o_count = g.out_channels;
  // Blocks of whole NR-tile panels; V of one block (16 C tiles floats) stays within half
  // of the tuning's conv_column_budget.
  const int64_t budget = tuning().conv_column_budget;
  const int64_t max_panels =
      std::max<int64_t>(1, std::min<int64_t>(16, budget / 2 / (16 * c_count) / nr));
  const int64_t all_panels = (tiles + nr - 1) / nr;
  const int64_t blocks = balanced_parts(all_panels, max_panels);
  const int64_t block = (all_panels + blocks - 1) / blocks * nr;  // the most tiles in one
  const int64_t row_panels = (o_count + mr - 1) / mr;
  // U's xi stride padded by 16 floats: at a whole multiple of 4 KiB the 16 values each
  // kernel writes shared one L1 set, and the transform took 0.15 ms, as long as the
  // whole pass at batch 1. Row panels are split over the threads (no one waits).
  const int64_t u_xi = row_panels * mr * c_count + 16;
  float* u_packed = call_scratch(static_cast<size_t>(16 * u_xi));
  parallel_for(0, row_panels, 1, [&](int64_t first_panel, int64_t last_panel) {
    for (int64_t r = first_panel; r < last_panel; ++r)
      winograd_weight_panel(weight, o_count, c_count, transposed, r, mr, u_packed, u_xi);
  });
  const double flops = 2.0 * 16 * static_cast<double>(tiles) * static_cast<double>(c_count) *
                       static_cast<double>(o_count);
  // Strides padded by 32 floats: at whole multiples of 4 KiB the 16 streams one transform
  // writes or reads would share L1 sets (the input transform ran 2.7x slower).
  const int64_t v_xi = c_count * nr + 32;  // from one xi's panel to the next
  const int64_t m_xi = mr * block + 32;
  for_units(blocks, flops, [&](int64_t first_block, int64_t last_block) {
    float* v = aligned_scratch(16 * v_xi * (block / nr) + 16 * m_xi);
    float* m = v + 16 * v_xi * (block / nr);
    TileRun runs[kGroupTiles];
    for (int64_t index = first_block; index < last_block; ++index) {
      const int64_t first = part_begin(all_panels, blocks, index) * nr;
      const int64_t last = std::min(tiles, part_begin(all_panels, blocks, index + 1) * nr);
      const int64_t width = last - first;
      const int64_t panels = (width + nr - 1) / nr;
      // V[panel][xi][c][nr]: every (panel, xi) is one packed B panel of c_count x nr.
      for (int64_t local = 0; local < width; local += kGroupTiles) {
        const int64_t run_count =
            group_runs(g, first + local, std::min(kGroupTiles, width - local), runs);
        avx512::winograd_input_group(g, x, runs, run_count,
                                     v + (local / nr) * 16 * v_xi + local % nr, nr, v_xi);
      }
      // M[xi][i][t] for the panel's channels i < mr, row stride `block`.
      for (int64_t r = 0; r < row_panels; ++r) {
        const int64_t rows = std::min(mr, o_count - r * mr);
        for (int xi = 0; xi < 16; ++xi) {
          const float* a_panel = u_packed + xi * u_xi + r * mr * c_count;
          for (int64_t j = 0; j < panels; ++j)
            kernel.micro_kernel(c_count, a_panel, mr, v + (j * 16 + xi) * v_xi, nr,
                                m + xi * m_xi + j * nr, block, 1.f, 0.f, rows,
                                std::min(nr, width - j * nr));
        }
        for (int64_t local = 0; local < width; local += kGroupTiles) {
          const int64_t run_count =
              group_runs(g, first + local, std::min(kGroupTiles, width - local), runs);
          avx512::winograd_output_group(g, m + local, m_xi, block, runs, run_count, r * mr,
                                        rows, bias, out, pooled, codes);
        }
      }
    }
  });
}
#else
void winograd_conv(const Winograd&, const float*, const float*, bool, const float*, float*,
                   float*, uint8_t*) {
  // Never called: see winograd_applies.
}
#endif

// grad_weight (O, C, 3, 3) of the stride-1 3x3 convolution of x (N, C, H, W) whose output
// gradient is grad_output (N, O, OH, OW). Each tile's share of the weight gradient is
// Winograd F(3x3, 2x2), with the same matrices transposed:
//   dW[o, c] += G^T [ (A gy_t[o] A^T) (.) (B^T d_t[c] B) ] G
// (gy_t the tile's 2x2 block of grad_output, d_t its 4x4 input patch, as in the forward),
// so the sum over tiles is, per xi, S[xi] (O, C) += GT[xi] (O, T) . V[xi] (C, T)^T, and
// G^T S G is applied once at the end. Per block of tiles, each image's rows it needs are
// copied channel-minor, the transforms write GT^T [xi][t][o] and V^T [xi][t][c] (lanes
// along the channels, in L2), and the GEMM micro-kernel reads them where they lie (A
// with a step of one tile, B likewise), summing over the tiles in registers: nothing is
// packed, nothing is reduced across lanes, no more than a block is kept. (With lanes
// along the tiles, summed by dot products, the products took 1.6x as long on MNIST's
// second layer: every S element was a 16-lane reduction per block.) The tile blocks are summed in a fixed number of groups (blocks in order within
// a group, partials added in group order), so the result does not depend on the thread
// count.
void winograd_weight_grad(const Winograd& g, const float* x, const float* grad_output,
                          float* grad_weight) {
#if defined(CUNN_X86)
  const GemmKernel& kernel = gemm_kernel_avx512(false);
  const int64_t mr = kernel.mr, nr = kernel.nr;
  const int64_t tiles = g.batch * g.tiles_h * g.tiles_w, per_image = g.tiles_h * g.tiles_w;
  const int64_t blocks = balanced_parts(tiles, g.block);
  const int64_t c_count = g.in_channels, o_count = g.out_channels;
  // S[xi] (O, C) of each partial, s_xi apart: padded by 16 floats off whole multiples of
  // 4 KiB, where G^T S G's 16 reads of each (o, c) shared one L1 set.
  const int64_t s_xi = o_count * c_count + 16, sums_size = 16 * s_xi;
  // Fewer groups than the im2col path's: each partial is 16 O C floats.
  const int64_t groups = group_count(blocks, 8, sums_size);
  float* sums = call_scratch(static_cast<size_t>(groups * sums_size));
  const double flops = 2.0 * 16 * static_cast<double>(tiles) * static_cast<double>(c_count) *
                       static_cast<double>(o_count);
  // Channels a tile's row holds: whole vectors, and the micro-kernel reads whole panels
  // (MR rows of A from GT^T, NR columns of B from V^T); the extra channels are zeros.
  const int64_t c_stride = round_up(c_count, nr), o_stride = round_up(o_count, 16);
  const int64_t most_tiles = (tiles + blocks - 1) / blocks;
  // xi strides padded by 16 floats, off whole multiples of 4 KiB (see winograd_conv).
  const int64_t v_xi = most_tiles * c_stride + 16, gt_xi = most_tiles * o_stride + 16;
  // An image's part of a block spans at most most_tiles / tiles_w + 2 tile rows.
  const int64_t staged_rows = 2 * (most_tiles / g.tiles_w) + 6;
  const int64_t x_floats = std::min(g.height, staged_rows) * g.width * c_stride;
  const int64_t grad_floats = std::min(g.out_h, staged_rows) * g.out_w * o_stride;
  for_units(groups, flops, [&](int64_t first_group, int64_t last_group) {
    float* v = aligned_scratch(16 * (v_xi + gt_xi) + x_floats + grad_floats);
    float* gt = v + 16 * v_xi;
    float* x_pixels = gt + 16 * gt_xi;
    float* grad_pixels = x_pixels + x_floats;
    for (int64_t group = first_group; group < last_group; ++group) {
      float* sum = sums + group * sums_size;
      float beta = 0.f;
      const int64_t block_end = part_begin(blocks, groups, group + 1);
      for (int64_t block = part_begin(blocks, groups, group); block < block_end; ++block) {
        const int64_t first = part_begin(tiles, blocks, block);
        const int64_t last = part_begin(tiles, blocks, block + 1);
        for (int64_t n = first / per_image; n * per_image < last; ++n) {
          const int64_t image_first = std::max(first, n * per_image) - n * per_image;
          const int64_t image_last = std::min(last, (n + 1) * per_image) - n * per_image;
          const int64_t a_lo = image_first / g.tiles_w, a_hi = (image_last - 1) / g.tiles_w;
          // Input rows 2a - pad_h .. 2a - pad_h + 3 and gradient rows 2a, 2a + 1 of its
          // tile rows, as far as they exist.
          const int64_t x_lo = std::max<int64_t>(0, 2 * a_lo - g.pad_h);
          const int64_t x_rows = std::max<int64_t>(0, std::min(g.height, 2 * a_hi + 4 - g.pad_h) - x_lo);
          const int64_t grad_lo = 2 * a_lo, grad_rows = std::min(g.out_h, 2 * a_hi + 2) - grad_lo;
          avx512::transpose_planes(x + (n * c_count * g.height + x_lo) * g.width, c_count,
                                   g.height * g.width, x_rows * g.width, x_pixels, c_stride);
          avx512::transpose_planes(grad_output + (n * o_count * g.out_h + grad_lo) * g.out_w,
                                   o_count, g.out_h * g.out_w, grad_rows * g.out_w, grad_pixels,
                                   o_stride);
          for (int64_t t = image_first; t < image_last;) {
            const int64_t a = t / g.tiles_w, b = t % g.tiles_w;
            const TileRun run{n, a, b, std::min(g.tiles_w - b, image_last - t), 0};
            const int64_t local = n * per_image + t - first;
            avx512::winograd_input_tiles(x_pixels, c_stride, x_lo, x_rows, g.width, g.pad_h,
                                         g.pad_w, run, v + local * c_stride, c_stride, v_xi);
            avx512::winograd_gradient_tiles(grad_pixels, o_stride, grad_lo, grad_rows, g.out_w,
                                            run, gt + local * o_stride, o_stride, gt_xi);
            t += run.count;
          }
        }
        for (int xi = 0; xi < 16; ++xi)
          for (int64_t o = 0; o < o_count; o += mr)
            for (int64_t c = 0; c < c_count; c += nr)
              kernel.micro_kernel(last - first, gt + xi * gt_xi + o, o_stride, v + xi * v_xi + c,
                                  c_stride, sum + xi * s_xi + o * c_count + c, c_count, 1.f,
                                  beta, std::min(mr, o_count - o), std::min(nr, c_count - c));
        beta = 1.f;
      }
    }
  });
  // Per output channel: the partials added in group order (into group 0's, along the
  // input channels, so the loop runs on whole vectors), then dW = G^T S G with
  // G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1]. Split over the threads, so that neither
  // waits for the other (each element is summed the same way whatever the split).
  parallel_for(0, o_count, 8, [&](int64_t first_o, int64_t last_o) {
    for (int64_t o = first_o; o < last_o; ++o) {
      for (int64_t group = 1; group < groups; ++group)
        for (int xi = 0; xi < 16; ++xi) {
          float* total = sums + xi * s_xi + o * c_count;
          const float* partial = total + group * sums_size;
          for (int64_t c = 0; c < c_count; ++c) total[c] += partial[c];
        }
      for (int64_t c = 0; c < c_count; ++c) {
        float m[4][4];
        for (int xi = 0; xi < 16; ++xi) m[xi / 4][xi % 4] = sums[xi * s_xi + o * c_count + c];
        float t[3][4];  // G^T S
        for (int l = 0; l < 4; ++l) {
          t[0][l] = m[0][l] + 0.5f * (m[1][l] + m[2][l]);
          t[1][l] = 0.5f * (m[1][l] - m[2][l]);
          t[2][l] = 0.5f * (m[1][l] + m[2][l]) + m[3][l];
        }
        float* out = grad_weight + (o * c_count + c) * 9;
        for (int p = 0; p < 3; ++p) {  // (G^T S) G
          out[p * 3 + 0] = t[p][0] + 0.5f * (t[p][1] + t[p][2]);
          out[p * 3 + 1] = 0.5f * (t[p][1] - t[p][2]);
          out[p * 3 + 2] = 0.5f * (t[p][1] + t[p][2]) + t[p][3];
        }
      }
    }
  });
#else
  (void)g, (void)x, (void)grad_output, (void)grad_weight;  // never called: see winograd_applies
#endif
}

// The transforms exist in AVX-512 only: written portably (or for AVX2, 8 lanes) they
// run over tile rows of a few tiles each, and measured no faster than im2col on MNIST's
// second layer (7.8 vs 7.5 ms with AVX2), so other ISAs keep im2col.
bool winograd_applies(const Conv2dShape& s) {
#if defined(CUNN_X86)
  const int64_t min_channels = tuning().winograd_min_channels;
  return min_channels > 0 && active_isa() == Isa::avx512 && s.kernel_h == 3 &&
         s.kernel_w == 3 && s.stride_h == 1 && s.stride_w == 1 &&
         s.channels >= min_channels && s.out_channels >= min_channels;
#else
  (void)s;
  return false;
#endif
}

// The transposed convolution needs padding 2 - p >= 0.
bool winograd_backward_input_applies(const Conv2dShape& s) {
  return winograd_applies(s) && s.pad_h <= 2 && s.pad_w <= 2;
}

}  // namespace cunn::kernels::conv2d_detail
