// The launch of the CPU emulation (cuda_runtime.h): a pool of 1024 threads, the most a
// block may have, runs each block's threads; blocks run one after another.
#include <condition_variable>
#include <stdexcept>
#include <thread>

#include "cuda_runtime.h"

namespace emulator {
namespace {

class Pool {
 public:
  Pool() {
    for (unsigned id = 0; id < kMaxThreads; ++id) workers_.emplace_back([this, id] { work(id); });
  }

  void run(unsigned threads, const std::function<void()>& body) {
    std::unique_lock<std::mutex> lock(mutex_);
    body_ = &body;
    active_ = threads;
    remaining_ = threads;
    ++generation_;
    start_.notify_all();
    done_.wait(lock, [&] { return remaining_ == 0; });
  }

  static constexpr unsigned kMaxThreads = 1024;

 private:
  void work(unsigned id) {
    std::uint64_t seen = 0;
    for (;;) {
      std::unique_lock<std::mutex> lock(mutex_);
      start_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      if (id >= active_) continue;
      const std::function<void()>* body = body_;
      lock.unlock();
      threadIdx = dim3(id, 0, 0);
      (*body)();
      lock.lock();
      if (--remaining_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_, done_;
  std::uint64_t generation_ = 0;
  unsigned active_ = 0, remaining_ = 0;
  const std::function<void()>* body_ = nullptr;
};

Pool& pool() {
  static Pool* instance = new Pool;  // never joined: the workers wait until the process ends
  return *instance;
}

}  // namespace

void launch(dim3 grid, dim3 block, const std::function<void()>& body) {
  if (block.x == 0 || block.x > Pool::kMaxThreads || block.x % 32 != 0 || block.y != 1 ||
      block.z != 1)
    throw std::runtime_error("emulator: blocks must be 1-D with a multiple of 32 threads");
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535)
    throw std::runtime_error("emulator: invalid grid");
  gridDim = grid;
  blockDim = block;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        blockIdx = dim3(x, y, z);
        block_barrier = std::make_unique<std::barrier<>>(block.x);
        warp_barriers.clear();
        for (unsigned w = 0; w < block.x / 32; ++w)
          warp_barriers.push_back(std::make_unique<std::barrier<>>(32));
        pool().run(block.x, body);
      }
}

}  // namespace emulator
