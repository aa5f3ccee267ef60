// cunn._C.cuda: the runtime (devices, synchronize), the caching allocator and the copies
// between host arrays and device memory.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings/cuda_args.h"
#include "bindings/cuda_core_parts.h"
#include "cuda/allocator.h"
#include "cuda/device.h"
#include "cuda/memory.h"

namespace cunn::bind {
namespace {

namespace py = pybind11;
namespace args = cuda_args;
using args::Pointer;

int device_index(int index, const char* op) {
  const int count = cunn::cuda::device_count();
  if (index < 0 || index >= count)
    throw py::index_error(std::string(op) + ": device index " + std::to_string(index) +
                          " is out of range for " + std::to_string(count) + " CUDA device(s)");
  return index;
}

// A host array argument: an ndarray (not a list: a converted copy would lose the result of
// copy_to_host), C-contiguous, and writeable when it receives data.
py::array host_array(const py::handle& value, bool writeable, const char* op) {
  if (!py::isinstance<py::array>(value))
    throw py::type_error(std::string(op) + ": host_array must be a numpy.ndarray, got " +
                         std::string(py::str(py::type::of(value).attr("__name__"))));
  auto array = py::reinterpret_borrow<py::array>(value);
  if (!(array.flags() & py::array::c_style))
    args::fail(op, "host_array must be C-contiguous (np.ascontiguousarray)");
  if (writeable && !array.writeable()) args::fail(op, "host_array must be writeable");
  return array;
}

void fill(Pointer pointer, std::int64_t count, const py::handle& value, const std::string& dtype) {
  const char* op = "fill";
  args::size(count, op, "count");
  switch (args::dtype(dtype, op, "dtype")) {
    case cunn::cuda::DType::float32:
      cunn::cuda::fill_float32(args::required<float>(pointer, count, op, "ptr"), count,
                               static_cast<float>(value.cast<double>()));
      break;
    case cunn::cuda::DType::int64: {
      // A Python float is truncated as NumPy's astype would; an int keeps all 64 bits.
      const std::int64_t integer = py::isinstance<py::float_>(value)
                                       ? static_cast<std::int64_t>(value.cast<double>())
                                       : value.cast<std::int64_t>();
      cunn::cuda::fill_int64(args::required<std::int64_t>(pointer, count, op, "ptr"), count,
                             integer);
      break;
    }
    case cunn::cuda::DType::uint8: {
      const double number = value.cast<double>();
      if (!(number >= 0 && number <= 255)) args::fail(op, "a uint8 value must be in [0, 255]");
      cunn::cuda::fill_uint8(args::required<std::uint8_t>(pointer, count, op, "ptr"), count,
                             static_cast<std::uint8_t>(number));
      break;
    }
  }
}

void copy_strided(Pointer destination, Pointer source, std::int64_t itemsize,
                  const std::vector<std::int64_t>& shape,
                  const std::vector<std::int64_t>& strides) {
  const char* op = "copy_strided";
  if (itemsize != 1 && itemsize != 4 && itemsize != 8)
    args::fail(op, "itemsize must be 1, 4 or 8, got " + std::to_string(itemsize));
  args::shape(shape, op, "shape");
  args::strides(strides, shape.size(), op, "strides");
  const std::int64_t count = args::count_of(shape, op);
  if (count > 0 && (destination == 0 || source == 0)) args::fail(op, "a pointer is 0");
  if (destination % itemsize != 0 || source % itemsize != 0)
    args::fail(op, "pointers must be aligned to itemsize");
  cunn::cuda::copy_strided(reinterpret_cast<void*>(destination),
                           reinterpret_cast<const void*>(source), static_cast<int>(itemsize),
                           static_cast<int>(shape.size()), shape.data(), strides.data());
}

}  // namespace

void bind_cuda_memory(py::module_& cuda) {
  cuda.def("device_count", [] { return cunn::cuda::device_count(); });
  cuda.def("device_name", [](int index) {
    return cunn::cuda::device_name(device_index(index, "device_name"));
  }, py::arg("index"));
  cuda.def("current_device", [] { return cunn::cuda::current_device(); });
  cuda.def("set_device", [](int index) {
    cunn::cuda::set_device(device_index(index, "set_device"));
  }, py::arg("index"));
  cuda.def("synchronize", [] {
    py::gil_scoped_release release;
    cunn::cuda::synchronize();
  });

  cuda.def("malloc", [](std::int64_t nbytes) {
    args::size(nbytes, "malloc", "nbytes");
    py::gil_scoped_release release;  // a miss calls cudaMalloc, which may wait for the device
    return reinterpret_cast<Pointer>(cunn::cuda::allocate(static_cast<std::size_t>(nbytes)));
  }, py::arg("nbytes"));
  cuda.def("free", [](Pointer pointer) {
    cunn::cuda::release(reinterpret_cast<void*>(pointer));
  }, py::arg("ptr"));
  cuda.def("empty_cache", [] {
    py::gil_scoped_release release;
    cunn::cuda::empty_cache();
  });
  cuda.def("memory_stats", [] {
    const cunn::cuda::MemoryStats stats = cunn::cuda::memory_stats();
    py::dict result;
    result["allocated_bytes"] = stats.allocated_bytes;
    result["reserved_bytes"] = stats.reserved_bytes;
    result["device_malloc_calls"] = stats.device_malloc_calls;
    result["cache_hits"] = stats.cache_hits;
    return result;
  });

  cuda.def("copy_from_host", [](Pointer destination, const py::handle& value) {
    const py::array array = host_array(value, false, "copy_from_host");
    const auto bytes = static_cast<std::size_t>(array.nbytes());
    void* target = args::required<std::uint8_t>(destination, array.nbytes(), "copy_from_host",
                                                "dst_ptr");
    const void* data = array.data();
    py::gil_scoped_release release;
    cunn::cuda::copy_from_host(target, data, bytes);
  }, py::arg("dst_ptr"), py::arg("host_array"));
  cuda.def("copy_to_host", [](const py::handle& value, Pointer source) {
    py::array array = host_array(value, true, "copy_to_host");
    const auto bytes = static_cast<std::size_t>(array.nbytes());
    const void* from = args::required<const std::uint8_t>(source, array.nbytes(),
                                                          "copy_to_host", "src_ptr");
    void* data = array.mutable_data();
    py::gil_scoped_release release;
    cunn::cuda::copy_to_host(data, from, bytes);
  }, py::arg("host_array"), py::arg("src_ptr"));
  cuda.def("copy_device", [](Pointer destination, Pointer source, std::int64_t nbytes) {
    const char* op = "copy_device";
    args::size(nbytes, op, "nbytes");
    void* target = args::required<std::uint8_t>(destination, nbytes, op, "dst_ptr");
    const void* from = args::required<const std::uint8_t>(source, nbytes, op, "src_ptr");
    cunn::cuda::copy_device(target, from, static_cast<std::size_t>(nbytes));
  }, py::arg("dst_ptr"), py::arg("src_ptr"), py::arg("nbytes"));
  cuda.def("copy_strided", &copy_strided, py::arg("dst_ptr"), py::arg("src_ptr"),
           py::arg("itemsize"), py::arg("shape"), py::arg("strides"));
  cuda.def("fill", &fill, py::arg("ptr"), py::arg("count"), py::arg("value"), py::arg("dtype"));
}

}  // namespace cunn::bind
