// What the CUDA build knows about the GPUs; plain C++ so the binding needs no CUDA headers.
// Failures of the runtime calls throw std::runtime_error naming the call.
#pragma once

#include <string>

namespace cunn::cuda {

// Number of usable CUDA devices; 0 when the driver or a device is missing.
int device_count();
std::string device_name(int index);
int current_device();
void set_device(int index);
// Waits for every kernel and copy launched so far on the current device.
void synchronize();

}  // namespace cunn::cuda
