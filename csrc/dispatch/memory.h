// Process allocator tuning for training loops.
//
// A training step frees and re-allocates the same large arrays (activations,
// gradients) every step. glibc serves blocks above its mmap threshold with
// fresh mappings and returns freed heap tops to the system, so each step
// faults in new zero pages: for the MNIST CNN about 5,000 pages a step, half
// the step's time. Raising the mmap and trim thresholds keeps freed blocks for
// reuse instead. Not done when the user set MALLOC_MMAP_THRESHOLD_ /
// MALLOC_TRIM_THRESHOLD_ or CUNN_MALLOC_DEFAULTS, or off glibc.
#pragma once

namespace cunn {

// Applies the tuning once; returns whether it is in effect.
bool tune_allocator();

}  // namespace cunn
