// Device discovery for the optional CUDA backend. A missing driver is not an
// error here: the build can run on a machine without a GPU and reports 0.
#include <cuda_runtime.h>

#include "cuda/device.h"

namespace cunn::cuda {

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls are not poisoned
    return 0;
  }
  return count;
}

}  // namespace cunn::cuda
