// One tuning table per instruction set, and for AVX-512 one per vendor (fields explained
// in tuning.h). Every number but kAvx512Intel's was measured on the project's 2-core AMD
// EPYC Zen 4 VM (32 KiB L1d, 1 MiB L2 per core),
// 20th-percentile times of repeated calls, with 1 and 2 threads; the comments quote the
// measurements (and the commits that made them) so a re-tune knows what to repeat
// (benchmarks/bench_gemm.py, benchmarks/bench_conv.py).
#include "kernels/tuning.h"

#include "dispatch/cpu.h"

namespace cunn::kernels {
namespace {

// Shared by the three tables: these depend on the cores and caches, not on the ISA.
//
// gemm_parallel_min_flops = 0.5 MFLOP (commit 853e57e, threshold disabled, 1 vs 2
// threads): 0.13-0.26 MFLOP (32x32x64, 64x64x32, 128x64x16) ran 0.7-0.8x as fast on two
// threads, 0.33 MFLOP (128x10x128) 0.93x, 0.52 MFLOP (64x64x64) 1.13x, 1.05 MFLOP
// (64x128x64) 1.3x, 3.2 MFLOP (64x784x32) 2.1x. conv2d takes the same cut-off (54f47ca).
constexpr double kParallelMinFlops = 0.5e6;
// conv_column_budget = 2^18 floats, 1 MiB: half the L2; the MNIST layers (K*P = 7056
// and 56448) never need more than one block (54f47ca).
constexpr int64_t kColumnBudget = int64_t{1} << 18;
// conv_max_weight_groups = 16 keeps 16 threads busy on a large batch while adding the
// partials stays cheap; conv_partial_budget = 2^22 floats (16 MiB) bounds them for large
// layers (54f47ca).
constexpr int64_t kMaxWeightGroups = 16;
constexpr int64_t kPartialBudget = int64_t{1} << 22;

// Portable C++ (CUNN_CPU_ISA=generic): no dot-product kernel, nothing read in place.
constexpr Tuning kReference{
    kParallelMinFlops,
    /*dot_max_n=*/0, /*dot_max_m=*/0, /*dot_min_k=*/0, /*dot_max_b_floats=*/0,
    /*read_in_place=*/false, /*read_a_max_k=*/0, /*read_b_max_k=*/0, /*read_b_max_m=*/0,
    /*narrow_max_n=*/0,
    kParallelMinFlops, kColumnBudget, kMaxWeightGroups, kPartialBudget,
    // Winograd transforms written portably measured no faster than im2col on MNIST's
    // second layer (b0152bd).
    /*winograd_min_channels=*/0};

// AVX2 + FMA (commit fca9c08 for the unpacked paths).
constexpr Tuning kAvx2{
    kParallelMinFlops,
    // dot_max_n = 16: a packed 16-wide tile would leave most lanes idle for the MNIST
    // output layer (N = 10). dot_max_m = 4: packing B costs more than the product for a
    // few rows (Linear at batch 1 ran 29 -> 9 us). dot_min_k = 512 with B within 2^17
    // floats (512 KiB of L2): the MNIST layer-1 forward 64x128x784 ran 129 -> 86 us on
    // two threads; 256^3 gained with AVX-512 only, hence 512 here. Beyond L2 (512^3,
    // 128x3136) and for short K (128^3) the packed kernel is faster.
    /*dot_max_n=*/16, /*dot_max_m=*/4, /*dot_min_k=*/512, /*dot_max_b_floats=*/int64_t{1} << 17,
    // A^T read in place for K <= 128 (the weight gradient, K = batch 64; 1024^3 with a
    // 4 KiB stride lost); B read in place for K, M <= 256: the MNIST shapes ran as fast as
    // packed and the small ones faster (10x128x64 4.7 -> 2.8 us).
    /*read_in_place=*/true, /*read_a_max_k=*/128, /*read_b_max_k=*/256, /*read_b_max_m=*/256,
    /*narrow_max_n=*/0,
    kParallelMinFlops, kColumnBudget, kMaxWeightGroups, kPartialBudget,
    // Winograd with 8-lane transforms: 7.8 ms vs im2col's 7.5 ms on MNIST's second layer
    // (b0152bd), so im2col stays.
    /*winograd_min_channels=*/0};

// AVX-512 (commit fca9c08 for the unpacked paths, b0152bd for Winograd).
constexpr Tuning kAvx512{
    kParallelMinFlops,
    // As AVX2, but dot_min_k = 256: the MNIST layer-1 forward 64x128x784 ran 79 -> 62 us
    // on two threads, and 256^3 gained too.
    /*dot_max_n=*/16, /*dot_max_m=*/4, /*dot_min_k=*/256, /*dot_max_b_floats=*/int64_t{1} << 17,
    // A^T read in place for K <= 128: 128x784x64 and 128x128x128 gained 4-15%; B for
    // K, M <= 256: 64x784x128 gained 11%, batch 1 29 -> 17 us, while 512^3 and
    // 1024x784x128, whose packed B is reused 64-128 times, lost 5-10%.
    /*read_in_place=*/true, /*read_a_max_k=*/128, /*read_b_max_k=*/256, /*read_b_max_m=*/256,
    // The 16 x 16 tile for at most 16 columns: a 32-wide tile would waste two thirds of
    // every FMA on the MNIST output layer (N = 10).
    /*narrow_max_n=*/16,
    kParallelMinFlops, kColumnBudget, kMaxWeightGroups, kPartialBudget,
    // 16 channels: MNIST conv2 (32 -> 64, batch 64, one thread) forward 6.2 -> 3.9 ms,
    // input gradient 6.4 -> 4.2 ms; its first layer (C = 1) would give GEMMs with K = 1.
    /*winograd_min_channels=*/16,
    /*dot_long_k_max_m=*/0,
    /*read_a_rows_max_n=*/0,
    // 8 input channels (conv2d_small_channels.h; measured on the Intel machine below only,
    // Zen 4 not re-measured: the GEMM with K = 9 C it replaces is as short there). 3x3
    // layers on 28x28, 32 output channels, batch 64, CPU ms per call at one thread
    // (time.thread_time, medians of 7 x 5 calls, two runs agreeing to ~5%), 2026-12-06,
    // im2col -> direct (forward, weight gradient; fused conv2d_relu_pool forward, backward
    // of weight and bias):
    //   C = 1: 0.41 -> 0.35, 0.61 -> 0.44; fused 0.82 -> 0.46, 1.12 -> 0.55
    //   C = 3: 1.04 -> 0.76, 1.45 -> 1.19; fused 1.46 -> 0.90, 1.88 -> 1.28
    //   C = 4: 1.39 -> 0.98, 1.60 -> 1.57; fused 1.79 -> 1.09, 2.19 -> 1.65
    //   C = 6: 2.04 -> 1.39, 2.62 -> 2.35; fused 2.41 -> 1.51, 2.89 -> 2.46
    //   C = 8: 2.53 -> 1.78, 3.27 -> 3.16; fused 2.98 -> 1.92, 3.54 -> 3.24
    // im2col's GEMM has K = 9 C, so the direct weight gradient's lead shrinks as C grows
    // (3% at 8); 9 to 15 channels were not measured (16 and more each way take Winograd).
    /*small_channels_max_channels=*/8};

// AVX-512 on Intel cores with two 512-bit FMA units (measured on a 2-vCPU Xeon,
// Sapphire Rapids class: 48 KiB L1d, 2 MiB L2 per core), us at 1 / 2 threads, best of 9
// runs of repeated calls in one process, 2026-12-06:
// - The long-K dot products stop at 64 rows of A. A.B^T with B 128 x 784 (the MNIST
//   layer-1 forward) called alone, dot products against packed: 16 rows 32 / 19 against
//   48 / 26; 32 rows 71 / 40 against 69 / 40; 64 rows 140 / 76 against 106 / 64. But
//   inside the MNIST MLP's training step (a new batch each step, the weights just written
//   by Adam; the forward's thread CPU time, one thread, three alternating runs) it took
//   133-135 us with 64-row dot products against 144-146 us packed, and at two threads the
//   step was the same either way (217-218 us), so 64 rows stay dot products.
// - An untransposed A is read in place by rows, not packed, up to 256 columns: its packed
//   copy would serve few column panels. One thread, alternating processes (three each):
//   64x128x784 A.B^T 108 -> 100 us; 1024x128x784 A.B^T 1476 -> 1360 us; 256^3 241 ->
//   206 us; 512^3 unchanged (1.76 ms); 64x784x128 89 -> 95 us, so wider products pack.
//   Not measured on Zen 4, so kAvx512 keeps packing.
constexpr Tuning kAvx512Intel = [] {
  Tuning table = kAvx512;
  table.dot_long_k_max_m = 64;
  table.read_a_rows_max_n = 256;
  return table;
}();

}  // namespace

const Tuning& tuning() {
  switch (active_isa()) {
    case Isa::avx512: return cpu_features().intel ? kAvx512Intel : kAvx512;
    case Isa::avx2: return kAvx2;
    default: return kReference;
  }
}

}  // namespace cunn::kernels
