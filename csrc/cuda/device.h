// What the CUDA build knows about the GPUs; plain C++ so the binding needs no CUDA headers.
#pragma once

namespace cunn::cuda {

// Number of usable CUDA devices; 0 when the driver or a device is missing.
int device_count();

}  // namespace cunn::cuda
