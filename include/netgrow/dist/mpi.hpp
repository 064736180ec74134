/// \file
/// netgrow/dist/mpi.hpp: the MPI communicator (link netgrow::mpi; Open MPI, MPICH or any MPI-3 library).
///
/// ~~~
/// int main(int argc, char** argv) {
///   dist::MpiSession session(argc, argv);              // MPI_Init_thread ... MPI_Finalize
///   dist::MpiCommunicator comm;                        // a duplicate of MPI_COMM_WORLD
///   return comm.run_or_abort([&] { train(comm); });    // an exception on one rank ends every rank
/// }
/// ~~~
///
/// Every MPI call is checked: the communicator sets MPI_ERRORS_RETURN on its own duplicate of the group,
/// and a failing call throws DistError naming the call, the rank and MPI's error string. Collectives are
/// started non-blocking and waited for with a deadline (`timeout`, default 300 s): when another rank
/// has died, stalled or called a different collective, the wait throws TimeoutError instead of hanging.
/// A collective cannot be cancelled, so after any DistError the group is unusable; run_or_abort() (or
/// abort()) then ends every rank with MPI_Abort. A rank that dies outright is reported by the launcher
/// (Open MPI's mpirun ends the others).
///
/// Device tensors go through host staging (dist/communicator.hpp); MPI libraries built with CUDA
/// support could take device pointers directly, which netgrow leaves to the NCCL communicator.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <limits>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "netgrow/dist/communicator.hpp"

namespace netgrow::dist {

/// Initialises MPI for the life of the object (MPI_THREAD_FUNNELED: only the main thread calls MPI) and
/// finalises it at the end, unless MPI was already initialised by someone else.
class MpiSession {
 public:
  /// MPI_Init_thread with the program's arguments; throws DistError when MPI cannot start.
  MpiSession(int& argc, char**& argv) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (initialised) return;
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw DistError("MpiSession: MPI_Init_thread failed");
    owner_ = true;
  }
  MpiSession(const MpiSession&) = delete;             ///< one session per process
  MpiSession& operator=(const MpiSession&) = delete;  ///< one session per process
  ~MpiSession() {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (owner_ && !finalised) MPI_Finalize();
  }

 private:
  bool owner_ = false;
};

/// A communicator over an MPI group (see the file comment). Not copyable (it owns a duplicate of the
/// group); movable.
class MpiCommunicator {
 public:
  using Clock = std::chrono::steady_clock;  ///< the clock of the collectives' deadlines

  /// Duplicates `group` (so netgrow's messages never mix with the program's) with MPI_ERRORS_RETURN.
  explicit MpiCommunicator(MPI_Comm group = MPI_COMM_WORLD, std::chrono::milliseconds timeout = std::chrono::seconds(300))
      : timeout_(timeout) {
    int initialised = 0;
    MPI_Initialized(&initialised);
    require<StateError>(initialised != 0, "MpiCommunicator: MPI is not initialised (create a dist::MpiSession first)");
    check(MPI_Comm_dup(group, &comm_), "MPI_Comm_dup");
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;
  MpiCommunicator(MpiCommunicator&& o) noexcept
      : comm_(std::exchange(o.comm_, MPI_COMM_NULL)), rank_(o.rank_), size_(o.size_), timeout_(o.timeout_),
        failed_(o.failed_) {}
  MpiCommunicator& operator=(MpiCommunicator&&) = delete;
  ~MpiCommunicator() {
    int finalised = 0;
    MPI_Finalized(&finalised);
    // A group with a collective still in flight (after a timeout) cannot be freed safely.
    if (comm_ != MPI_COMM_NULL && !finalised && !failed_) MPI_Comm_free(&comm_);
  }

  int rank() const { return rank_; }         ///< this process's rank, 0 .. size() - 1
  int size() const { return size_; }         ///< the number of ranks
  MPI_Comm native() const { return comm_; }  ///< the MPI group (for the program's own calls)

  /// How long a collective may wait for the other ranks before TimeoutError.
  ///@{
  std::chrono::milliseconds timeout() const { return timeout_; }
  void set_timeout(std::chrono::milliseconds t) {
    require(t.count() > 0, "MpiCommunicator::set_timeout: the timeout must be positive, got ", t.count(), " ms");
    timeout_ = t;
  }
  ///@}

  /// x = the sum of x over the ranks, in place.
  ///@{
  void all_reduce_sum(std::span<float> x) { all_reduce(x, MPI_FLOAT, "MPI_Iallreduce(float)"); }
  void all_reduce_sum(std::span<double> x) { all_reduce(x, MPI_DOUBLE, "MPI_Iallreduce(double)"); }
  ///@}

  /// b = rank root's b; every rank passes the same number of bytes.
  void broadcast(std::span<std::byte> b, int root) {
    require(root >= 0 && root < size_, "MpiCommunicator::broadcast: root ", root, " outside [0, ", size_, ")");
    for_chunks(b.size(), [&](std::size_t begin, int count) {
      MPI_Request r;
      check(MPI_Ibcast(b.data() + begin, count, MPI_BYTE, root, comm_, &r), "MPI_Ibcast");
      wait(r, "MPI_Ibcast", b.size());
    });
  }

  /// Every rank's v, in rank order.
  std::vector<std::uint64_t> all_gather(std::uint64_t v) {
    std::vector<std::uint64_t> all(static_cast<std::size_t>(size_));
    MPI_Request r;
    check(MPI_Iallgather(&v, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, comm_, &r), "MPI_Iallgather");
    wait(r, "MPI_Iallgather", sizeof v);
    return all;
  }

  /// Returns once every rank has entered the barrier.
  void barrier() {
    MPI_Request r;
    check(MPI_Ibarrier(comm_, &r), "MPI_Ibarrier");
    wait(r, "MPI_Ibarrier", 0);
  }

  /// Ends every rank of the group (MPI_Abort) with `code`; does not return.
  [[noreturn]] void abort(int code = 1) const {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(comm_ == MPI_COMM_NULL ? MPI_COMM_WORLD : comm_, code);
    std::terminate();  // MPI_Abort does not return; if it did, this process still ends
  }

  /// Runs body(); returns 0. If it throws, prints "netgrow: rank r: <what>" to stderr and ends every rank
  /// (abort), so no rank is left waiting in a collective for one that has given up.
  template <class F>
  int run_or_abort(F&& body) {
    try {
      body();
      return 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "netgrow: rank %d of %d: %s\n", rank_, size_, e.what());
    } catch (...) {
      std::fprintf(stderr, "netgrow: rank %d of %d: an exception not derived from std::exception\n", rank_, size_);
    }
    abort(1);
  }

 private:
  // MPI counts are int: larger buffers go in chunks of at most 2^30 elements.
  template <class F>
  static void for_chunks(std::size_t n, F&& f) {
    constexpr std::size_t chunk = std::size_t{1} << 30;
    if (n == 0) {
      f(0, 0);
      return;
    }
    for (std::size_t begin = 0; begin < n; begin += chunk) f(begin, static_cast<int>(std::min(chunk, n - begin)));
  }

  template <class S>
  void all_reduce(std::span<S> x, MPI_Datatype type, const char* call) {
    if (size_ == 1) return;
    for_chunks(x.size(), [&](std::size_t begin, int count) {
      MPI_Request r;
      check(MPI_Iallreduce(MPI_IN_PLACE, x.data() + begin, count, type, MPI_SUM, comm_, &r), call);
      wait(r, call, x.size_bytes());
    });
  }

  // Waits for r until the deadline: spins briefly, then sleeps between tests (ranks may share cores).
  void wait(MPI_Request& r, const char* call, std::size_t bytes) {
    const auto deadline = Clock::now() + timeout_;
    int done = 0;
    for (int spins = 0;; ++spins) {
      check(MPI_Test(&r, &done, MPI_STATUS_IGNORE), call);
      if (done) return;
      if (spins > 200) {
        if (Clock::now() > deadline) {
          failed_ = true;
          throw TimeoutError(std::string(call) + " of " + std::to_string(bytes) + " bytes on rank " +
                             std::to_string(rank_) + " of " + std::to_string(size_) + " did not complete within " +
                             std::to_string(timeout_.count()) + " ms: another rank has died, stalled or called a "
                             "different collective");
        }
        std::this_thread::sleep_for(std::chrono::microseconds(spins > 2000 ? 200 : 20));
      }
    }
  }

  void check(int code, const char* call) {
    if (code == MPI_SUCCESS) return;
    failed_ = true;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw DistError(describe(call) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
  }

  std::string describe(const char* call) const {
    return std::string(call) + " on rank " + std::to_string(rank_) + " of " + std::to_string(size_);
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  std::chrono::milliseconds timeout_;
  bool failed_ = false;
};
static_assert(Communicator<MpiCommunicator>);

}  // namespace netgrow::dist
