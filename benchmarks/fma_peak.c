/* FMA ceiling of one core, in single-precision GFLOP/s: the number GEMM throughput is
 * compared with. Twelve independent chains of vector FMAs (enough to hide the FMA latency on
 * both pipes of current x86 cores), nothing else in the loop. Uses AVX-512 when the CPU has it,
 * else AVX2+FMA; prints "<isa> <GFLOP/s>". run.py compiles it with the system C compiler
 * (cc -O2 fma_peak.c) and runs one copy per thread, at the same time, for the N-thread ceiling.
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

__attribute__((target("avx512f"))) static double run_avx512(long iterations, float *sink) {
    const __m512 m = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-7f);
#define DECLARE(i) __m512 a##i = _mm512_set1_ps(1.0f + (i));
#define STEP(i) a##i = _mm512_fmadd_ps(a##i, m, c);
#define ADD(i) s = _mm512_add_ps(s, a##i);
    CHAINS(DECLARE)
    double start = now();
    for (long k = 0; k < iterations; ++k) {
        CHAINS(STEP)
    }
    double seconds = now() - start;
    __m512 s = _mm512_setzero_ps();
    CHAINS(ADD)
    *sink = _mm512_reduce_add_ps(s);
    return 12.0 * 16 * 2 * iterations / seconds / 1e9;
#undef DECLARE
#undef STEP
#undef ADD
}

__attribute__((target("avx2,fma"))) static double run_avx2(long iterations, float *sink) {
    const __m256 m = _mm256_set1_ps(0.9999999f), c = _mm256_set1_ps(1e-7f);
#define DECLARE(i) __m256 a##i = _mm256_set1_ps(1.0f + (i));
#define STEP(i) a##i = _mm256_fmadd_ps(a##i, m, c);
#define ADD(i) s = _mm256_add_ps(s, a##i);
    CHAINS(DECLARE)
    double start = now();
    for (long k = 0; k < iterations; ++k) {
        CHAINS(STEP)
    }
    double seconds = now() - start;
    __m256 s = _mm256_setzero_ps();
    CHAINS(ADD)
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    *sink = lanes[0] + lanes[7];
    return 12.0 * 8 * 2 * iterations / seconds / 1e9;
#undef DECLARE
#undef STEP
#undef ADD
}

int main(int argc, char **argv) {
    long iterations = argc > 1 ? atol(argv[1]) : 20000000L;
    float sink = 0.0f;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        double best = 0.0;
        for (int r = 0; r < 3; ++r) {
            double g = run_avx512(iterations, &sink);
            best = g > best ? g : best;
        }
        printf("avx512 %.2f\n", best);
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        double best = 0.0;
        for (int r = 0; r < 3; ++r) {
            double g = run_avx2(iterations, &sink);
            best = g > best ? g : best;
        }
        printf("avx2 %.2f\n", best);
    } else {
        printf("none 0\n");
    }
    return sink == 12345.0f;  /* keeps the chains live */
}
