// cunn's thread pool: the runtime behind parallel_for (parallel.h).
//
// Why our own and not OpenMP: an OpenMP team waits at a barrier for every thread, so one
// thread the OS has descheduled (another process on the core) stalls the whole kernel for
// a time slice, and two trainings side by side ran 16x slower than one after the other;
// libgomp's pool also deadlocks a forked child, and a std::bad_alloc on one of its threads
// aborts the process. Here:
// - the calling thread runs part 0 itself and then takes every chunk no worker has
//   started, so it never waits for a worker that has not begun; it waits only for chunks
//   in flight;
// - workers spin briefly after a job (the next kernel usually follows within tens of
//   microseconds), yielding as they spin, then sleep on a condition variable;
// - a forked child drops the parent's pool (its threads do not exist there) and builds a
//   fresh one on its first parallel call;
// - exceptions from any thread are rethrown on the calling thread; a thread that cannot
//   be created means fewer threads, not an error.
// The default thread count is OMP_NUM_THREADS when set (as before), else the cores this
// process may run on (sched_getaffinity), else 1 in a serial build.
#include "dispatch/parallel.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>

#ifdef __linux__
#include <sched.h>
#endif
#ifndef _WIN32
#include <pthread.h>
#endif
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace cunn {
namespace {

thread_local bool in_region = false;

// Marks the current thread as inside a parallel region for the lifetime of the object.
struct RegionScope {
  bool saved = in_region;
  RegionScope() { in_region = true; }
  ~RegionScope() { in_region = saved; }
};

[[maybe_unused]] void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
  _mm_pause();
#endif
}

[[maybe_unused]] int available_cores() {
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
  const unsigned cores = std::thread::hardware_concurrency();
  return cores > 0 ? static_cast<int>(cores) : 1;
}

int default_threads() {
#ifdef CUNN_THREADS
  // OMP_NUM_THREADS may be a list ("4,2" for nested levels): its first number counts.
  if (const char* text = std::getenv("OMP_NUM_THREADS")) {
    char* parsed_end = nullptr;
    const long threads = std::strtol(text, &parsed_end, 10);
    if (parsed_end != text && threads >= 1) return static_cast<int>(std::min(threads, 1024L));
  }
  return available_cores();
#else
  return 1;
#endif
}

std::atomic<int>& thread_setting() {
  static std::atomic<int> threads{default_threads()};
  return threads;
}

// How long an idle worker spins before it sleeps. A wake-up from sleep costs the kernel
// tens of microseconds; the MLP step's kernels follow each other within ~40 us, so a
// worker that spins a little longer than that catches the next one awake.
// CUNN_THREAD_SPIN_US overrides it (0: sleep at once).
[[maybe_unused]] int64_t spin_microseconds() {
  static const int64_t value = [] {
    if (const char* text = std::getenv("CUNN_THREAD_SPIN_US")) {
      char* parsed_end = nullptr;
      const long long micros = std::strtoll(text, &parsed_end, 10);
      if (parsed_end != text && micros >= 0) return static_cast<int64_t>(micros);
    }
    return int64_t{200};
  }();
  return value;
}

#ifdef CUNN_THREADS

constexpr uint64_t kOpen = uint64_t{1} << 32;  // state_: job open for joining
constexpr uint64_t kActiveMask = kOpen - 1;    // state_: threads inside the job
constexpr int64_t kChunksPerPart = 4;          // how finely a late thread's part is taken over

// A caller that waited longer than this (and longer than its own share took) for chunks in
// flight on a worker saw that worker preempted mid-chunk: the cores are oversubscribed, so
// the next kSerialWindow of calls run on the calling thread alone, then threads are tried
// again. On an idle machine the wait is microseconds; a preemption costs a time slice (ms).
constexpr std::chrono::microseconds kPreemptedWait{1000};
constexpr std::chrono::milliseconds kSerialWindow{50};

// One thread's share of a job: chunks [0, chunks) of `chunk` items from lo, taken in order
// by whoever comes first (the owner, or another thread once it has run out of its own).
struct alignas(64) Part {
  std::atomic<int64_t> next{0};
  int64_t chunks = 0;
  int64_t lo = 0;
  int64_t hi = 0;
  int64_t chunk = 1;
};

class Pool {
 public:
  void run(int64_t begin, int64_t end, int64_t grain, int threads, detail::ChunkFunction call,
           const void* body);

 private:
  int ensure_workers(int wanted);
  void worker_loop(int index);
  void wait_for_job(uint32_t seen, bool spin);
  bool join();
  void work(int first);
  void run_part(Part& part);

  std::mutex caller_;      // one job at a time; a second caller runs serially
  int spawned_ = 0;        // worker threads started (guarded by caller_)
  std::chrono::steady_clock::time_point serial_until_{};  // guarded by caller_
  std::unique_ptr<Part[]> parts_;
  int capacity_ = 0;

  // The job, written by the caller while it is closed and no worker is inside it.
  int part_count_ = 0;
  detail::ChunkFunction call_ = nullptr;
  const void* body_ = nullptr;
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;

  std::atomic<uint64_t> state_{0};
  std::atomic<uint32_t> epoch_{0};  // bumped for every job, what idle workers watch
  std::atomic<int> sleepers_{0};
  std::atomic<int> workers_{0};     // spawned_, readable by the workers
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
};

int Pool::ensure_workers(int wanted) {
  while (spawned_ < wanted) {
    try {
      std::thread(&Pool::worker_loop, this, spawned_ + 1).detach();
    } catch (const std::system_error&) {
      break;  // the OS refused a thread (limits, memory): run with the ones we have
    } catch (const std::bad_alloc&) {
      break;
    }
    ++spawned_;
    workers_.store(spawned_, std::memory_order_relaxed);
  }
  return spawned_;
}

void Pool::wait_for_job(uint32_t seen, bool spin) {
  if (spin) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::microseconds(spin_microseconds());
    for (int i = 1;; ++i) {
      if (epoch_.load(std::memory_order_acquire) != seen) return;
      cpu_relax();
      if (i % 64 == 0) {
        // Yielding lets a thread of ours (or anyone's) that shares this core run.
        std::this_thread::yield();
        if (std::chrono::steady_clock::now() >= deadline) break;
      }
    }
  }
  std::unique_lock<std::mutex> lock(sleep_mutex_);
  sleepers_.fetch_add(1, std::memory_order_seq_cst);
  while (epoch_.load(std::memory_order_seq_cst) == seen) wake_.wait(lock);
  sleepers_.fetch_sub(1, std::memory_order_relaxed);
}

bool Pool::join() {
  uint64_t state = state_.load(std::memory_order_relaxed);
  while (state & kOpen) {
    if (state_.compare_exchange_weak(state, state + 1, std::memory_order_acquire,
                                     std::memory_order_relaxed))
      return true;
  }
  return false;
}

void Pool::run_part(Part& part) {
  while (!failed_.load(std::memory_order_relaxed)) {
    const int64_t index = part.next.fetch_add(1, std::memory_order_relaxed);
    if (index >= part.chunks) return;
    const int64_t lo = part.lo + index * part.chunk;
    const int64_t hi = std::min(part.hi, lo + part.chunk);
    try {
      call_(body_, lo, hi);
    } catch (...) {
      // The first failure is kept; the chunks nobody has started are skipped.
      if (!failed_.exchange(true, std::memory_order_acq_rel)) error_ = std::current_exception();
    }
  }
}

void Pool::work(int first) {
  for (int k = 0; k < part_count_; ++k) run_part(parts_[(first + k) % part_count_]);
}

void Pool::worker_loop(int index) {
  in_region = true;  // kernels called from a worker's chunk run serially
  uint32_t seen = epoch_.load(std::memory_order_acquire);
  for (;;) {
    // More threads than cores: spinning would only take time from the others.
    wait_for_job(seen, workers_.load(std::memory_order_relaxed) < available_cores());
    if (!join()) {
      seen = epoch_.load(std::memory_order_acquire);
      continue;
    }
    // Joined: the job cannot end, nor the epoch move, before we leave.
    seen = epoch_.load(std::memory_order_relaxed);
    if (index < part_count_) work(index);
    state_.fetch_sub(1, std::memory_order_release);
  }
}

void Pool::run(int64_t begin, int64_t end, int64_t grain, int threads,
               detail::ChunkFunction call, const void* body) {
  RegionScope region;
  std::unique_lock<std::mutex> lock(caller_, std::try_to_lock);
  const auto started = std::chrono::steady_clock::now();
  const int participants = lock.owns_lock() && started >= serial_until_
                               ? std::min(threads, 1 + ensure_workers(threads - 1))
                               : 1;
  if (participants <= 1) {
    call(body, begin, end);
    return;
  }
  if (capacity_ < participants) {
    parts_.reset(new Part[participants]);
    capacity_ = participants;
  }
  const int64_t count = end - begin;
  const int64_t part_size = (count + participants - 1) / participants;
  const int64_t min_chunk = std::max<int64_t>(1, grain);
  for (int p = 0; p < participants; ++p) {
    Part& part = parts_[p];
    part.lo = std::min(end, begin + p * part_size);
    part.hi = std::min(end, part.lo + part_size);
    const int64_t length = part.hi - part.lo;
    const int64_t pieces = std::max<int64_t>(1, std::min(kChunksPerPart, length / min_chunk));
    part.chunk = std::max<int64_t>(1, (length + pieces - 1) / pieces);
    part.chunks = length > 0 ? (length + part.chunk - 1) / part.chunk : 0;
    part.next.store(0, std::memory_order_relaxed);
  }
  part_count_ = participants;
  call_ = call;
  body_ = body;
  failed_.store(false, std::memory_order_relaxed);
  error_ = nullptr;

  state_.store(kOpen, std::memory_order_release);
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    { std::lock_guard<std::mutex> sleeping(sleep_mutex_); }
    wake_.notify_all();
  }

  work(0);

  // Every chunk has been started; wait for those still running elsewhere.
  const auto own_done = std::chrono::steady_clock::now();
  state_.fetch_and(~kOpen, std::memory_order_acq_rel);
  for (int i = 1; state_.load(std::memory_order_acquire) & kActiveMask; ++i) {
    cpu_relax();
    if (i % 64 == 0) std::this_thread::yield();
  }
  const auto finished = std::chrono::steady_clock::now();
  const auto waited = finished - own_done;
  if (waited > kPreemptedWait && waited > own_done - started)
    serial_until_ = finished + kSerialWindow;
  if (failed_.load(std::memory_order_relaxed)) {
    std::exception_ptr error = error_;
    error_ = nullptr;
    std::rethrow_exception(error);
  }
}

// The pool is created on first use and never destroyed: its threads may still be waiting
// when the process exits. A forked child forgets it (see the fork handler).
std::atomic<Pool*> current_pool{nullptr};

Pool& pool() {
  Pool* existing = current_pool.load(std::memory_order_acquire);
  if (existing) return *existing;
  auto* created = new Pool();
  if (current_pool.compare_exchange_strong(existing, created, std::memory_order_acq_rel))
    return *created;
  delete created;
  return *existing;
}

#ifndef _WIN32
// In the child only the forking thread exists: the parent's workers and any lock they held
// are gone, so the child leaks the old pool and starts a fresh one when a kernel next asks.
void forget_pool_in_child() { current_pool.store(nullptr, std::memory_order_relaxed); }

[[maybe_unused]] const bool fork_handler_registered =
    pthread_atfork(nullptr, nullptr, forget_pool_in_child) == 0;
#endif

#endif  // CUNN_THREADS

}  // namespace

namespace detail {

void run_parallel(int64_t begin, int64_t end, int64_t grain, int threads, ChunkFunction call,
                  const void* body) {
#ifdef CUNN_THREADS
  pool().run(begin, end, grain, threads, call, body);
#else
  (void)grain;
  (void)threads;
  RegionScope region;
  call(body, begin, end);
#endif
}

}  // namespace detail

int get_num_threads() { return thread_setting().load(std::memory_order_relaxed); }

void set_num_threads(int threads) {
  thread_setting().store(std::max(1, threads), std::memory_order_relaxed);
}

bool in_parallel_region() { return in_region; }

}  // namespace cunn
