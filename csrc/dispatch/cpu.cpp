#include "dispatch/cpu.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>

namespace cunn {

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = [] {
    CpuFeatures probed;
#if defined(CUNN_X86) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    probed.avx2 = __builtin_cpu_supports("avx2");
    probed.fma = __builtin_cpu_supports("fma");
    probed.avx512f = __builtin_cpu_supports("avx512f");
    probed.avx512bw = __builtin_cpu_supports("avx512bw");
    probed.avx512vl = __builtin_cpu_supports("avx512vl");
    probed.avx512dq = __builtin_cpu_supports("avx512dq");
    probed.intel = __builtin_cpu_is("intel");
#endif
    return probed;
  }();
  return features;
}

Isa best_supported_isa() {
  const CpuFeatures& f = cpu_features();
  if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx2 && f.fma) return Isa::avx512;
  if (f.avx2 && f.fma) return Isa::avx2;
  return Isa::generic;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "generic";
  }
}

bool parse_isa(const std::string& name, Isa* out) {
  if (name == "generic") { *out = Isa::generic; return true; }
  if (name == "avx2") { *out = Isa::avx2; return true; }
  if (name == "avx512") { *out = Isa::avx512; return true; }
  return false;
}

namespace {

Isa isa_from_environment() {
  Isa isa = best_supported_isa();
  const char* requested = std::getenv("CUNN_CPU_ISA");
  Isa cap;
  if (requested && parse_isa(requested, &cap)) isa = std::min(isa, cap);
  return isa;
}

std::atomic<int>& active_isa_setting() {
  static std::atomic<int> isa{static_cast<int>(isa_from_environment())};
  return isa;
}

}  // namespace

Isa active_isa() { return static_cast<Isa>(active_isa_setting().load(std::memory_order_relaxed)); }

void set_isa_cap(Isa requested) {
  active_isa_setting().store(static_cast<int>(std::min(best_supported_isa(), requested)),
                             std::memory_order_relaxed);
}

}  // namespace cunn
