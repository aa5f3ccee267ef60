// Which instruction set the hot kernels use, decided once at run time.
// The environment variable CUNN_CPU_ISA (generic | avx2 | avx512) caps the
// choice; it can never select an ISA the CPU lacks.
#pragma once

#include <string>

namespace cunn {

enum class Isa { generic = 0, avx2 = 1, avx512 = 2 };

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  // The vendor, for tuning tables that differ between Intel and AMD cores (tuning.cpp).
  bool intel = false;
};

const CpuFeatures& cpu_features();
Isa best_supported_isa();
Isa active_isa();
// Caps the active ISA at `requested` (used by tests to force the portable path).
void set_isa_cap(Isa requested);
const char* isa_name(Isa isa);
bool parse_isa(const std::string& name, Isa* out);

}  // namespace cunn
