// 2-D convolution as im2col / col2im around our sgemm (math and layout in conv2d.h;
// must match cunn/backends/numpy_ref/conv2d.py up to float rounding).
//
// Per image n, with K = C*kh*kw and P = OH*OW, the column matrix cols[n] is (K, P):
// row (c*kh + p)*kw + q, column i*OW + j holds xpad[n, c, i*sh + p, j*sw + q]. Then
//   forward          out[n] (O, P)  = W (O, K) . cols[n]            (+ bias, seeded as beta*C)
//   backward_input   dcols (K, P)   = W^T . grad_out[n] (O, P), scattered back by col2im
//   backward_weight  dW (O, K)     += grad_out[n] (O, P) . cols[n]^T
// so every product lands in NCHW directly and needs no transpose. A 1x1 kernel with
// stride 1 and no padding skips the copy: cols[n] is x[n] itself.
//
// 3x3 kernels at stride 1 with enough channels take the Winograd path instead (below).
// Geometries where most of im2col's work would be padding (huge padding, a kernel far
// larger than the input) take the direct loops of conv2d_direct.cpp, whose cost is the
// number of products that read the input.
//
// Threads take whole images (the sgemm inside then runs serially); a lone image lets
// sgemm split the product instead. sgemm sums each element in an order fixed by the
// problem's shape alone, so either way the result does not depend on the thread count.
// The weight gradient is a sum over images: images are cut into at most
// kMaxWeightGroups groups fixed by the batch and layer sizes, each group sums its images
// in order into its own partial, and the partials are added in group order afterwards.
// Column buffers are per thread (thread_local), which keeps the kernels re-entrant; a
// large image is processed in blocks of output rows so the buffer stays near
// kColumnBudget floats.
#include "kernels/conv2d.h"

#include <algorithm>
#include <vector>

#include "dispatch/cpu.h"
#include "dispatch/parallel.h"
#include "kernels/conv2d_direct.h"
#include "kernels/gemm.h"
#include "kernels/gemm_ukernel.h"

namespace cunn::kernels {
namespace {

// Below this many flops one thread does the whole pass (as sgemm's own cut-off).
constexpr double kParallelMinFlops = 0.5e6;
// Floats in one column block: 1 MiB, half the L2 of the machines we tune on. The
// MNIST layers (K*P = 7056 and 56448) never need more than one block.
constexpr int64_t kColumnBudget = int64_t{1} << 18;
// The weight gradient's partial sums: enough groups to keep 16 threads busy on a large
// batch, few enough that adding the partials stays cheap, and never more than
// kPartialBudget floats of them (16 MiB) for large layers.
constexpr int64_t kMaxWeightGroups = 16;
constexpr int64_t kPartialBudget = int64_t{1} << 22;

// Work is cut into `parts` contiguous ranges of units, part p being
// [part_begin(units, parts, p), part_begin(units, parts, p + 1)): sizes differ by at most
// one, so threads taking whole parts get equal shares. Every count below depends on the
// shape only, never on the thread count.
int64_t part_begin(int64_t units, int64_t parts, int64_t part) { return units * part / parts; }

// Parts of at most `max_units` units each; their number is rounded up to a multiple of 4
// where there are units enough, so that 2 or 4 threads get the same number of parts.
int64_t balanced_parts(int64_t units, int64_t max_units) {
  const int64_t parts = (units + max_units - 1) / std::max<int64_t>(1, max_units);
  return std::max<int64_t>(1, std::min(units, (parts + 3) / 4 * 4));
}

// How many groups (of images or tile blocks) a weight gradient sums into partials of
// `size` floats each: at most `max_groups`, and within kPartialBudget.
int64_t group_count(int64_t units, int64_t max_groups, int64_t size) {
  return std::max<int64_t>(
      1, std::min({units, max_groups, kPartialBudget / std::max<int64_t>(1, size)}));
}

struct Plan {
  int64_t k;           // C * kh * kw
  int64_t p;           // OH * OW
  bool direct;         // 1x1, stride 1, no padding: cols[n] is x[n]
  int64_t block_rows;  // output rows per column block
};

Plan make_plan(const Conv2dShape& s) {
  Plan plan;
  plan.k = s.channels * s.kernel_h * s.kernel_w;
  plan.p = s.out_h * s.out_w;
  plan.direct = s.kernel_h == 1 && s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 &&
                s.pad_h == 0 && s.pad_w == 0;
  int64_t rows = std::max<int64_t>(1, kColumnBudget / std::max<int64_t>(1, plan.k * s.out_w));
  rows = std::min(rows, s.out_h);
  // Equal blocks: a thin last block would be a sgemm call with little work in it.
  const int64_t blocks = (s.out_h + rows - 1) / rows;
  plan.block_rows = (s.out_h + blocks - 1) / blocks;
  return plan;
}

double flops(const Conv2dShape& s, const Plan& plan) {
  return 2.0 * static_cast<double>(s.batch) * static_cast<double>(s.out_channels) *
         static_cast<double>(plan.k) * static_cast<double>(plan.p);
}

// Runs body(first, last) over [0, count) units (images or groups): split over the
// threads when there are several units and enough work, else on the calling thread.
template <class Body>
void for_units(int64_t count, double total_flops, const Body& body) {
  if (count >= 2 && total_flops >= kParallelMinFlops)
    parallel_for(0, count, 1, body);
  else
    body(int64_t{0}, count);
}

// Per-thread buffers that grow and are kept, so that no call pays page faults for fresh
// memory (a large new[] is a fresh mmap each time; on the 2-core VM first-touching 1 MiB
// cost ~0.2 ms). scratch() is each thread's working area inside a parallel region;
// call_scratch() holds what the calling thread shares with the others during one call
// (packed weights, partial sums). Per thread, so the kernels stay re-entrant.
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

// Output columns j in [lo, hi) read input column j*stride + offset inside [0, size);
// the others read padding.
void valid_range(int64_t offset, int64_t stride, int64_t size, int64_t count, int64_t* lo,
                 int64_t* hi) {
  const int64_t last = size - 1 - offset;
  *hi = last < 0 ? 0 : std::min(count, last / stride + 1);
  *lo = std::min(*hi, offset >= 0 ? int64_t{0} : (-offset + stride - 1) / stride);
}

// The rows of the plane that kernel row p reads for output rows [row_begin, row_end) are
// h = i*sh - ph + p; i in [*first, *last) read inside the plane.
void valid_rows(const Conv2dShape& s, int64_t p, int64_t row_begin, int64_t row_end,
                int64_t* first, int64_t* last) {
  int64_t lo, hi;
  valid_range(p - s.pad_h, s.stride_h, s.height, s.out_h, &lo, &hi);
  *first = std::min(std::max(lo, row_begin), row_end);
  *last = std::max(std::min(hi, row_end), *first);
}

// Unit strides and OW == W (a "same" convolution, the usual 3x3 / padding 1): output
// position i*OW + j reads input position i*W + j + shift for a fixed shift, so a whole
// kernel offset's rows move as one contiguous span; only the wrapped-around edge
// columns need fixing. This turns OH short copies into one long one.
bool flat_rows(const Conv2dShape& s) {
  return s.stride_h == 1 && s.stride_w == 1 && s.out_w == s.width;
}

// cols (K, (row_end - row_begin) * OW) for output rows [row_begin, row_end) of image x_n.
void im2col(const Conv2dShape& s, const float* x_n, int64_t row_begin, int64_t row_end,
            float* cols) {
  const int64_t ow = s.out_w, width = (row_end - row_begin) * ow;
  const bool flat = flat_rows(s);
  for (int64_t c = 0; c < s.channels; ++c) {
    const float* plane = x_n + c * s.height * s.width;
    for (int64_t p = 0; p < s.kernel_h; ++p) {
      int64_t first, last;
      valid_rows(s, p, row_begin, row_end, &first, &last);
      for (int64_t q = 0; q < s.kernel_w; ++q) {
        // Index of output row i's first column in this row of cols: i * OW - base.
        float* __restrict dest = cols + ((c * s.kernel_h + p) * s.kernel_w + q) * width;
        const int64_t base = row_begin * ow;
        const int64_t offset = q - s.pad_w;
        int64_t lo, hi;
        valid_range(offset, s.stride_w, s.width, ow, &lo, &hi);
        std::fill(dest, dest + (first - row_begin) * ow, 0.f);
        std::fill(dest + (last - row_begin) * ow, dest + width, 0.f);
        if (first == last) continue;
        if (flat) {
          // Copy [first*OW + lo, (last-1)*OW + hi) in one piece, then zero the columns
          // outside [lo, hi) that it filled from the neighbouring rows.
          const int64_t begin = first * ow + lo, end = (last - 1) * ow + hi;
          const int64_t shift = (p - s.pad_h) * s.width + offset;
          for (int64_t d = begin; d < end; ++d) dest[d - base] = plane[d + shift];
          for (int64_t i = first; i < last; ++i) {
            float* out = dest + i * ow - base;
            for (int64_t j = 0; j < lo; ++j) out[j] = 0.f;
            for (int64_t j = hi; j < ow; ++j) out[j] = 0.f;
          }
          continue;
        }
        for (int64_t i = first; i < last; ++i) {
          float* __restrict out = dest + i * ow - base;
          const float* __restrict src = plane + (i * s.stride_h - s.pad_h + p) * s.width;
          for (int64_t j = 0; j < lo; ++j) out[j] = 0.f;
          if (s.stride_w == 1)
            for (int64_t j = lo; j < hi; ++j) out[j] = src[j + offset];
          else
            for (int64_t j = lo; j < hi; ++j) out[j] = src[j * s.stride_w + offset];
          for (int64_t j = hi; j < ow; ++j) out[j] = 0.f;
        }
      }
    }
  }
}

// dx_n += the column gradient of output rows [row_begin, row_end), kernel offsets in
// order (p, q) as the reference adds them. May overwrite entries of `cols` that fall in
// the padding (it is scratch).
void col2im_add(const Conv2dShape& s, float* cols, int64_t row_begin, int64_t row_end,
                float* dx_n) {
  const int64_t ow = s.out_w, width = (row_end - row_begin) * ow;
  const bool flat = flat_rows(s);
  for (int64_t c = 0; c < s.channels; ++c) {
    float* plane = dx_n + c * s.height * s.width;
    for (int64_t p = 0; p < s.kernel_h; ++p) {
      int64_t first, last;
      valid_rows(s, p, row_begin, row_end, &first, &last);
      if (first == last) continue;
      for (int64_t q = 0; q < s.kernel_w; ++q) {
        // Index of output row i's first column in this row of cols: i * OW - base.
        float* __restrict src = cols + ((c * s.kernel_h + p) * s.kernel_w + q) * width;
        const int64_t base = row_begin * ow;
        const int64_t offset = q - s.pad_w;
        int64_t lo, hi;
        valid_range(offset, s.stride_w, s.width, ow, &lo, &hi);
        if (flat) {
          // One contiguous add (see im2col); the padding columns are zeroed first so
          // that they add nothing to the neighbouring rows they wrap onto.
          for (int64_t i = first; i < last; ++i) {
            float* in = src + i * ow - base;
            for (int64_t j = 0; j < lo; ++j) in[j] = 0.f;
            for (int64_t j = hi; j < ow; ++j) in[j] = 0.f;
          }
          const int64_t begin = first * ow + lo, end = (last - 1) * ow + hi;
          const int64_t shift = (p - s.pad_h) * s.width + offset;
          for (int64_t d = begin; d < end; ++d) plane[d + shift] += src[d - base];
          continue;
        }
        for (int64_t i = first; i < last; ++i) {
          const float* __restrict in = src + i * ow - base;
          float* __restrict dest = plane + (i * s.stride_h - s.pad_h + p) * s.width;
          if (s.stride_w == 1)
            for (int64_t j = lo; j < hi; ++j) dest[j + offset] += in[j];
          else
            for (int64_t j = lo; j < hi; ++j) dest[j * s.stride_w + offset] += in[j];
        }
      }
    }
  }
}

// --- Winograd F(2x2, 3x3) ------------------------------------------------------------
//
// For 3x3 kernels at stride 1 (both MNIST layers' passes that matter) each 2x2 block of
// outputs ("tile") is computed from the 4x4 input patch under it as
//   Y = A^T [ sum_c (G g[o, c] G^T) (.) (B^T d[c] B) ] A
// with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
// A^T = [1 1 1 0; 0 1 -1 -1]: 16 elementwise products per tile and channel instead of 36
// multiply-adds, i.e. 2.25x fewer flops. The sum over c is a GEMM per transformed
// position xi (16 of them): M[xi] (O, T) = U[xi] (O, C) . V[xi] (C, T) over a block of T
// tiles (winograd_conv keeps V in the micro-kernel's packed panels; the weight gradient
// stores V [c][xi][t], row stride 16 T, so the 16 values one channel's transform writes
// sit together).
// Tiles are numbered image by image, row by row; threads take whole blocks, so each
// output is computed the same way whatever the thread count. The transforms only add,
// subtract and halve, so the rounding is that of the 16 dot products plus a few
// additions, well inside the reference tolerance (measured on MNIST's second layer: the
// im2col error for the forward, 1.7x it for the input gradient).
// The input gradient of a stride-1 3x3 convolution is itself one: grad_output convolved
// with the kernel flipped in both axes, channels swapped, padding 2 - p.
// The input and output transforms are in conv2d_avx512.cpp (see winograd_applies).

struct Winograd {
  int64_t batch, in_channels, out_channels;
  int64_t height, width, pad_h, pad_w;  // input and its padding
  int64_t out_h, out_w, tiles_h, tiles_w;
  int64_t block;  // tiles per block (the GEMMs' N)
};

// Tiles per block: V (16 C T) and M (16 O T) floats of one block stay near kColumnBudget
// (in L2), in whole 32-tile panels of the widest micro-kernel.
int64_t winograd_block(int64_t in_channels, int64_t out_channels) {
  const int64_t tiles = kColumnBudget / (16 * (in_channels + out_channels));
  return std::max<int64_t>(32, std::min<int64_t>(512, tiles / 32 * 32));
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

// U[xi][o][c] = (G g G^T)[xi] for the 3x3 kernel g = weight[o, c] (flipped in both axes
// and with o and c swapped when `transposed`, for the input gradient).
void winograd_weights(const float* weight, int64_t out_channels, int64_t in_channels,
                      bool transposed, float* u) {
  // weight is (O, C, 3, 3) of the forward convolution; this convolution has
  // out_channels x in_channels kernels.
  const int64_t forward_in = transposed ? out_channels : in_channels;
  for (int64_t o = 0; o < out_channels; ++o) {
    for (int64_t c = 0; c < in_channels; ++c) {
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
        for (int l = 0; l < 4; ++l)
          u[((k * 4 + l) * out_channels + o) * in_channels + c] = row[l];
      }
    }
  }
}

// A run of `count` consecutive tiles of one tile row: image n, tile row a, first tile b.
struct TileRun {
  int64_t n, a, b, count, local;  // local: the first tile's column in the block
};

// The runs of tiles [first, last), also cut where `local` crosses a multiple of `split`.
template <class Body>
void for_tile_runs(const Winograd& g, int64_t first, int64_t last, int64_t split,
                   const Body& body) {
  const int64_t per_image = g.tiles_h * g.tiles_w;
  for (int64_t t = first; t < last;) {
    const int64_t n = t / per_image, a = t % per_image / g.tiles_w, b = t % g.tiles_w;
    const int64_t local = t - first;
    const int64_t count = std::min({g.tiles_w - b, last - t, split - local % split});
    body(TileRun{n, a, b, count, local});
    t += count;
  }
}

#if defined(CUNN_X86)
// out (N, O, OH, OW) = the stride-1 3x3 convolution of x (N, C, H, W) with the kernels
// of `weight` (read as winograd_weights does), plus bias (or null).
//
// The 16 products run on the AVX-512 GEMM micro-kernel directly (gemm_ukernel.h), with
// both operands already in its packed layouts, so nothing is copied twice: U is packed
// once per call into MR-row panels, and the input transform writes V straight into
// NR-tile panels (runs are cut at panel boundaries). For each panel
// of MR output channels the 16 products fill a small M (16 x MR x block tiles, in L2
// with V) that the output transform consumes at once.
void winograd_conv(const Winograd& g, const float* x, const float* weight, bool transposed,
                   const float* bias, float* out) {
  const GemmKernel& kernel = gemm_kernel_avx512(false);
  const int64_t mr = kernel.mr, nr = kernel.nr;
  const int64_t tiles = g.batch * g.tiles_h * g.tiles_w;
  const int64_t c_count = g.in_channels, o_count = g.out_channels;
  // Blocks of whole NR-tile panels; V of one block (16 C tiles floats) stays within half
  // of kColumnBudget.
  const int64_t max_panels =
      std::max<int64_t>(1, std::min<int64_t>(16, kColumnBudget / 2 / (16 * c_count) / nr));
  const int64_t all_panels = (tiles + nr - 1) / nr;
  const int64_t blocks = balanced_parts(all_panels, max_panels);
  const int64_t block = (all_panels + blocks - 1) / blocks * nr;  // the most tiles in one
  const int64_t row_panels = (o_count + mr - 1) / mr;
  float* u = call_scratch(static_cast<size_t>(16 * (o_count + row_panels * mr) * c_count));
  float* u_packed = u + 16 * o_count * c_count;
  winograd_weights(weight, o_count, c_count, transposed, u);
  for (int xi = 0; xi < 16; ++xi)
    for (int64_t r = 0; r < row_panels; ++r)
      kernel.pack_columns(u + (xi * o_count + r * mr) * c_count, c_count,
                          std::min(mr, o_count - r * mr), c_count, static_cast<int>(mr),
                          u_packed + (xi * row_panels + r) * mr * c_count);
  const double flops = 2.0 * 16 * static_cast<double>(tiles) * static_cast<double>(c_count) *
                       static_cast<double>(o_count);
  // Strides padded by 32 floats: at whole multiples of 4 KiB the 16 streams one transform
  // writes or reads would share L1 sets (the input transform ran 2.7x slower).
  const int64_t v_xi = c_count * nr + 32;  // from one xi's panel to the next
  const int64_t m_xi = mr * block + 32;
  for_units(blocks, flops, [&](int64_t first_block, int64_t last_block) {
    float* v = scratch(static_cast<size_t>(16 * v_xi * (block / nr) + 16 * m_xi));
    float* m = v + 16 * v_xi * (block / nr);
    for (int64_t index = first_block; index < last_block; ++index) {
      const int64_t first = part_begin(all_panels, blocks, index) * nr;
      const int64_t last = std::min(tiles, part_begin(all_panels, blocks, index + 1) * nr);
      const int64_t width = last - first;
      const int64_t panels = (width + nr - 1) / nr;
      // V[panel][xi][c][nr]: every (panel, xi) is one packed B panel of c_count x nr.
      for_tile_runs(g, first, last, nr, [&](const TileRun& run) {
        float* v_run = v + (run.local / nr) * 16 * v_xi + run.local % nr;
        for (int64_t c = 0; c < c_count; ++c) {
          const float* plane = x + (run.n * c_count + c) * g.height * g.width;
          avx512::winograd_input_run(plane, g.height, g.width, g.pad_h, g.pad_w, run.a, run.b,
                                     run.count, v_run + c * nr, v_xi);
        }
      });
      // M[xi][i][t] for the panel's channels i < mr, row stride `block`.
      for (int64_t r = 0; r < row_panels; ++r) {
        const int64_t rows = std::min(mr, o_count - r * mr);
        for (int xi = 0; xi < 16; ++xi) {
          const float* a_panel = u_packed + (xi * row_panels + r) * mr * c_count;
          for (int64_t j = 0; j < panels; ++j)
            kernel.micro_kernel(c_count, a_panel, mr, v + (j * 16 + xi) * v_xi, nr,
                                m + xi * m_xi + j * nr, block, 1.f, 0.f, rows,
                                std::min(nr, width - j * nr));
        }
        for_tile_runs(g, first, last, width, [&](const TileRun& run) {
          for (int64_t i = 0; i < rows; ++i) {
            const int64_t o = r * mr + i;
            float* plane = out + (run.n * o_count + o) * g.out_h * g.out_w;
            avx512::winograd_output_run(m + i * block + run.local, m_xi, run.count,
                                        bias ? bias[o] : 0.f, plane, g.out_h, g.out_w, run.a,
                                        run.b);
          }
        });
      }
    }
  });
}
#else
void winograd_conv(const Winograd&, const float*, const float*, bool, const float*, float*) {
  // Never called: see winograd_applies.
}
#endif

// grad_weight (O, C, 3, 3) of the stride-1 3x3 convolution of x (N, C, H, W) whose output
// gradient is grad_output (N, O, OH, OW). Each tile's share of the weight gradient is
// Winograd F(3x3, 2x2), with the same matrices transposed:
//   dW[o, c] += G^T [ (A gy_t[o] A^T) (.) (B^T d_t[c] B) ] G
// (gy_t the tile's 2x2 block of grad_output, d_t its 4x4 input patch, as in the forward),
// so the sum over tiles is, per xi, S[xi] (O, C) += GT[xi] (O, T) . V[xi] (C, T)^T, and
// G^T S G is applied once at the end. The tile blocks are summed in a fixed number of
// groups (blocks in order within a group, partials added in group order), so the result
// does not depend on the thread count.
void winograd_weight_grad(const Winograd& g, const float* x, const float* grad_output,
                          float* grad_weight) {
#if defined(CUNN_X86)
  const int64_t tiles = g.batch * g.tiles_h * g.tiles_w;
  const int64_t blocks = balanced_parts(tiles, g.block);
  const int64_t c_count = g.in_channels, o_count = g.out_channels;
  const int64_t sums_size = 16 * o_count * c_count;
  // Fewer groups than the im2col path's: each partial is 16 O C floats.
  const int64_t groups = group_count(blocks, 8, sums_size);
  float* sums = call_scratch(static_cast<size_t>(groups * sums_size));
  const double flops = 2.0 * 16 * static_cast<double>(tiles) * static_cast<double>(c_count) *
                       static_cast<double>(o_count);
  for_units(groups, flops, [&](int64_t first_group, int64_t last_group) {
    const int64_t nb = (tiles + blocks - 1) / blocks;  // the most tiles in one block
    float* v = scratch(static_cast<size_t>(16 * (c_count + o_count) * nb));
    float* gt = v + 16 * c_count * nb;
    for (int64_t group = first_group; group < last_group; ++group) {
      float* sum = sums + group * sums_size;
      float beta = 0.f;
      const int64_t block_end = part_begin(blocks, groups, group + 1);
      for (int64_t block = part_begin(blocks, groups, group); block < block_end; ++block) {
        const int64_t first = part_begin(tiles, blocks, block);
        const int64_t last = part_begin(tiles, blocks, block + 1);
        const int64_t width = last - first;
        for_tile_runs(g, first, last, width, [&](const TileRun& run) {
          for (int64_t c = 0; c < c_count; ++c) {
            const float* plane = x + (run.n * c_count + c) * g.height * g.width;
            avx512::winograd_input_run(plane, g.height, g.width, g.pad_h, g.pad_w, run.a, run.b,
                                       run.count, v + c * 16 * width + run.local, width);
          }
          for (int64_t o = 0; o < o_count; ++o) {
            const float* plane = grad_output + (run.n * o_count + o) * g.out_h * g.out_w;
            avx512::winograd_gradient_run(plane, g.out_h, g.out_w, run.a, run.b, run.count,
                                          gt + o * 16 * width + run.local, width);
          }
        });
        for (int xi = 0; xi < 16; ++xi)
          sgemm(false, true, o_count, c_count, width, 1.f, gt + xi * width, 16 * width,
                v + xi * width, 16 * width, beta, sum + xi * o_count * c_count, c_count);
        beta = 1.f;
      }
    }
  });
  float* total = sums;
  for (int64_t group = 1; group < groups; ++group) {
    const float* partial = sums + group * sums_size;
    for (int64_t i = 0; i < sums_size; ++i) total[i] += partial[i];
  }
  // dW = G^T S G, G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1].
  for (int64_t o = 0; o < o_count; ++o) {
    for (int64_t c = 0; c < c_count; ++c) {
      float m[4][4];
      for (int xi = 0; xi < 16; ++xi) m[xi / 4][xi % 4] = total[(xi * o_count + o) * c_count + c];
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
#else
  (void)g, (void)x, (void)grad_output, (void)grad_weight;  // never called: see winograd_applies
#endif
}

// Worth it when both channel counts fill the GEMMs' tiles (MNIST's first layer, C = 1,
// is not: its products would have K = 1).
constexpr int64_t kWinogradMinChannels = 16;

// The transforms exist in AVX-512 only: written portably (or for AVX2, 8 lanes) they
// run over tile rows of a few tiles each, and measured no faster than im2col on MNIST's
// second layer (7.8 vs 7.5 ms with AVX2), so other ISAs keep im2col.
bool winograd_applies(const Conv2dShape& s) {
#if defined(CUNN_X86)
  return active_isa() == Isa::avx512 && s.kernel_h == 3 && s.kernel_w == 3 &&
         s.stride_h == 1 && s.stride_w == 1 && s.channels >= kWinogradMinChannels &&
         s.out_channels >= kWinogradMinChannels;
#else
  (void)s;
  return false;
#endif
}

// The transposed convolution needs padding 2 - p >= 0.
bool winograd_backward_input_applies(const Conv2dShape& s) {
  return winograd_applies(s) && s.pad_h <= 2 && s.pad_w <= 2;
}

}  // namespace

void conv2d_forward(const Conv2dShape& s, const float* x, const float* weight,
                    const float* bias, float* out) {
  if (s.batch <= 0 || s.out_channels <= 0) return;
  if (conv2d_direct_pays(s)) {
    conv2d_direct_forward(s, x, weight, bias, out);
    return;
  }
  if (winograd_applies(s)) {
    winograd_conv(make_winograd(s.batch, s.channels, s.out_channels, s.height, s.width, s.pad_h,
                                s.pad_w),
                  x, weight, false, bias, out);
    return;
  }
  const Plan plan = make_plan(s);
  const int64_t o = s.out_channels, k = plan.k, p = plan.p;
  const int64_t image = s.channels * s.height * s.width;
  // With a column matrix of our own, the bias rides along as one more row of it (all
  // ones) and one more column of the weights, so the output is written once; otherwise
  // it is seeded into the output for sgemm to add onto (beta = 1). The bias comes last in
  // the sum either way, as in the reference (columns . weights^T + bias).
  const bool bias_row = bias && !plan.direct;
  const int64_t depth = bias_row ? k + 1 : k;
  const float* weights = weight;
  if (bias_row) {
    float* augmented = call_scratch(static_cast<size_t>(o * depth));
    for (int64_t row = 0; row < o; ++row) {
      std::copy(weight + row * k, weight + (row + 1) * k, augmented + row * depth);
      augmented[row * depth + k] = bias[row];
    }
    weights = augmented;
  }
  for_units(s.batch, flops(s, plan), [&](int64_t first, int64_t last) {
    float* cols =
        plan.direct ? nullptr : scratch(static_cast<size_t>(depth * plan.block_rows * s.out_w));
    for (int64_t n = first; n < last; ++n) {
      const float* x_n = x + n * image;
      float* out_n = out + n * o * p;
      if (plan.direct) {
        float beta = 0.f;
        if (bias) {
          for (int64_t row = 0; row < o; ++row)
            std::fill(out_n + row * p, out_n + (row + 1) * p, bias[row]);
          beta = 1.f;
        }
        sgemm(false, false, o, p, k, 1.f, weight, k, x_n, p, beta, out_n, p);
        continue;
      }
      for (int64_t row = 0; row < s.out_h; row += plan.block_rows) {
        const int64_t row_end = std::min(s.out_h, row + plan.block_rows);
        const int64_t width = (row_end - row) * s.out_w;
        im2col(s, x_n, row, row_end, cols);
        if (bias_row) std::fill(cols + k * width, cols + (k + 1) * width, 1.f);
        sgemm(false, false, o, width, depth, 1.f, weights, depth, cols, width, 0.f,
              out_n + row * s.out_w, p);
      }
    }
  });
}

void conv2d_backward_input(const Conv2dShape& s, const float* grad_output, const float* weight,
                           float* grad_input) {
  if (s.batch <= 0 || s.channels <= 0) return;
  // No output channels: nothing flows back (and the padded loops below would still
  // sweep every output position).
  if (s.out_channels <= 0) {
    std::fill(grad_input, grad_input + s.batch * s.channels * s.height * s.width, 0.f);
    return;
  }
  if (conv2d_direct_pays(s)) {
    conv2d_direct_backward_input(s, grad_output, weight, grad_input);
    return;
  }
  if (winograd_backward_input_applies(s)) {
    winograd_conv(make_winograd(s.batch, s.out_channels, s.channels, s.out_h, s.out_w,
                                2 - s.pad_h, 2 - s.pad_w),
                  grad_output, weight, true, nullptr, grad_input);
    return;
  }
  const Plan plan = make_plan(s);
  const int64_t o = s.out_channels, k = plan.k, p = plan.p;
  const int64_t image = s.channels * s.height * s.width;
  for_units(s.batch, flops(s, plan), [&](int64_t first, int64_t last) {
    float* cols =
        plan.direct ? nullptr : scratch(static_cast<size_t>(k * plan.block_rows * s.out_w));
    for (int64_t n = first; n < last; ++n) {
      const float* grad_n = grad_output + n * o * p;
      float* dx_n = grad_input + n * image;
      if (plan.direct) {
        sgemm(true, false, k, p, o, 1.f, weight, k, grad_n, p, 0.f, dx_n, p);
        continue;
      }
      std::fill(dx_n, dx_n + image, 0.f);
      for (int64_t row = 0; row < s.out_h; row += plan.block_rows) {
        const int64_t row_end = std::min(s.out_h, row + plan.block_rows);
        const int64_t width = (row_end - row) * s.out_w;
        sgemm(true, false, k, width, o, 1.f, weight, k, grad_n + row * s.out_w, p, 0.f, cols,
              width);
        col2im_add(s, cols, row, row_end, dx_n);
      }
    }
  });
}

void conv2d_backward_weight(const Conv2dShape& s, const float* grad_output, const float* x,
                            float* grad_weight) {
  const Plan plan = make_plan(s);
  const int64_t o = s.out_channels, k = plan.k, p = plan.p;
  const int64_t size = o * k;
  if (size <= 0) return;
  if (s.batch <= 0) {
    std::fill(grad_weight, grad_weight + size, 0.f);
    return;
  }
  if (conv2d_direct_pays(s)) {
    conv2d_direct_backward_weight(s, grad_output, x, grad_weight);
    return;
  }
  if (winograd_applies(s)) {
    winograd_weight_grad(make_winograd(s.batch, s.channels, s.out_channels, s.height, s.width,
                                       s.pad_h, s.pad_w),
                         x, grad_output, grad_weight);
    return;
  }
  const int64_t image = s.channels * s.height * s.width;
  const int64_t groups = group_count(s.batch, kMaxWeightGroups, size);
  // Group 0 sums straight into grad_weight; the others into their own partials.
  float* partials = call_scratch(static_cast<size_t>((groups - 1) * size));
  for_units(groups, flops(s, plan), [&](int64_t first, int64_t last) {
    float* cols =
        plan.direct ? nullptr : scratch(static_cast<size_t>(k * plan.block_rows * s.out_w));
    for (int64_t group = first; group < last; ++group) {
      float* dest = group == 0 ? grad_weight : partials + (group - 1) * size;
      float beta = 0.f;
      const int64_t n_end = part_begin(s.batch, groups, group + 1);
      for (int64_t n = part_begin(s.batch, groups, group); n < n_end; ++n) {
        const float* grad_n = grad_output + n * o * p;
        const float* x_n = x + n * image;
        if (plan.direct) {
          sgemm(false, true, o, k, p, 1.f, grad_n, p, x_n, p, beta, dest, k);
          beta = 1.f;
          continue;
        }
        for (int64_t row = 0; row < s.out_h; row += plan.block_rows) {
          const int64_t row_end = std::min(s.out_h, row + plan.block_rows);
          const int64_t width = (row_end - row) * s.out_w;
          im2col(s, x_n, row, row_end, cols);
          sgemm(false, true, o, k, width, 1.f, grad_n + row * s.out_w, p, cols, width, beta, dest,
                k);
          beta = 1.f;
        }
      }
    }
  });
  for (int64_t group = 1; group < groups; ++group) {
    const float* partial = partials + (group - 1) * size;
    for (int64_t i = 0; i < size; ++i) grad_weight[i] += partial[i];
  }
}

}  // namespace cunn::kernels
