// Device discovery for the optional CUDA backend. A missing driver is not an
// error here: the build can run on a machine without a GPU and reports 0.
#include <cuda_runtime.h>

#include "cuda/device.h"
#include "cuda/launch.cuh"

namespace cunn::cuda {

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls are not poisoned
    return 0;
  }
  return count;
}

std::string device_name(int index) {
  cudaDeviceProp properties;
  check_call(cudaGetDeviceProperties(&properties, index), "device_name");
  return properties.name;
}

int current_device() {
  int index = 0;
  check_call(cudaGetDevice(&index), "current_device");
  return index;
}

void set_device(int index) { check_call(cudaSetDevice(index), "set_device"); }

void synchronize() { check_call(cudaDeviceSynchronize(), "synchronize"); }

}  // namespace cunn::cuda
