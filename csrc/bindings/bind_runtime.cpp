// Threads, CPU dispatch and allocator tuning: cunn.set_num_threads /
// get_num_threads, the cpu_features() report, allocator_tuned().
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <new>
#include <vector>

#include "bindings/families.h"
#include "dispatch/cpu.h"
#include "dispatch/memory.h"
#include "dispatch/parallel.h"

namespace py = pybind11;

namespace cunn::bind {

void bind_runtime(py::module_& m) {
  tune_allocator();  // at import, before the first training step allocates
  m.def("allocator_tuned", &tune_allocator,
        "Whether freed memory is kept for reuse (see csrc/dispatch/memory.h).");
  m.def("set_num_threads", [](int threads) {
    if (threads < 1) throw py::value_error("set_num_threads: threads must be >= 1, got " +
                                           std::to_string(threads));
    cunn::set_num_threads(threads);
  }, py::arg("threads"));
  m.def("get_num_threads", &cunn::get_num_threads);
  m.def("thread_pool_enabled", [] {
#ifdef CUNN_THREADS
    return true;
#else
    return false;
#endif
  }, "Whether the kernels run on cunn's thread pool (False: a serial build).");
  m.def("_parallel_coverage", [](int64_t count, int64_t grain, int64_t fail_at) {
    std::vector<std::atomic<int32_t>> hits(static_cast<size_t>(std::max<int64_t>(count, 0)));
    {
      py::gil_scoped_release release;
      cunn::parallel_for(0, count, grain, [&](int64_t lo, int64_t hi) {
        if (lo <= fail_at && fail_at < hi) throw std::bad_alloc();
        for (int64_t i = lo; i < hi; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
      });
    }
    py::array_t<int32_t> result(static_cast<py::ssize_t>(hits.size()));
    for (size_t i = 0; i < hits.size(); ++i) result.mutable_data()[i] = hits[i].load();
    return result;
  }, py::arg("count"), py::arg("grain"), py::arg("fail_at") = -1,
     "Test hook for the thread pool: how often parallel_for ran each of count items (each "
     "must be 1); the chunk holding item fail_at throws std::bad_alloc instead.");
  m.def("isa", [] { return std::string(isa_name(active_isa())); },
        "The instruction set the hot kernels use now.");
  m.def("set_isa_cap", [](const std::string& name) {
    Isa isa;
    if (!parse_isa(name, &isa))
      throw py::value_error("set_isa_cap: name must be 'generic', 'avx2' or 'avx512', got '" +
                            name + "'");
    set_isa_cap(isa);
    return std::string(isa_name(active_isa()));
  }, py::arg("name"), "Caps the ISA (tests force the portable path); returns the active one.");
  m.def("cpu_features", [] {
    const CpuFeatures& f = cpu_features();
    py::dict report;
    report["avx2"] = f.avx2;
    report["fma"] = f.fma;
    report["avx512f"] = f.avx512f;
    report["avx512bw"] = f.avx512bw;
    report["avx512vl"] = f.avx512vl;
    report["avx512dq"] = f.avx512dq;
    report["best_isa"] = isa_name(best_supported_isa());
    report["active_isa"] = isa_name(active_isa());
    return report;
  });
}

}  // namespace cunn::bind
