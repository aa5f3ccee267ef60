// The optimizer loops compiled for AVX2 with FMA (256-bit vectors); optim_isa.h
// has the rest.
#define CUNN_OPTIM_ISA avx2
#include "kernels/optim_isa.h"
