// The optimizer loops compiled for AVX-512 (512-bit vectors: half the instructions
// of AVX2 for the same elements, which frees the ports that Adam's and RMSprop's
// divider-bound loops share); optim_isa.h has the rest.
#define CUNN_OPTIM_ISA avx512
#include "kernels/optim_isa.h"
