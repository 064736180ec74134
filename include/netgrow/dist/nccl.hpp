/// \file
/// netgrow/dist/nccl.hpp: the NCCL communicator for CUDA tensors, bootstrapped over MPI (link
/// netgrow::nccl; compile with nvcc or any compiler that sees the CUDA headers).
///
/// ~~~
/// dist::MpiSession session(argc, argv);
/// dist::MpiCommunicator mpi;                       // the bootstrap and the control messages
/// cudaSetDevice(local_rank);                       // one GPU per rank: NCCL refuses two ranks on one GPU
/// dist::NcclCommunicator nccl(mpi);                // ncclCommInitRank with rank 0's unique id
/// averager.average(nccl, cuda_net);                // gradients all-reduced on the device
/// ~~~
///
/// all_reduce_sum and broadcast_device take CUDA device memory and run on netgrow's stream
/// (cuda::context()); broadcast and all_gather are the small host-side control messages and go through
/// the MPI communicator. Every NCCL and CUDA call is checked and throws DistError naming the call, the
/// rank and NCCL's error string. Waits have a deadline (the MPI communicator's timeout): a stalled peer
/// gives TimeoutError after which the NCCL communicator is aborted (ncclCommAbort), never a hang.
#pragma once

#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/dist/communicator.hpp"
#include "netgrow/dist/mpi.hpp"

namespace netgrow::dist {

/// A communicator over CUDA device memory (see the file comment). Holds a reference to the bootstrap
/// MPI communicator, which must outlive it.
class NcclCommunicator {
 public:
  static constexpr bool device_memory = true;  ///< all_reduce_sum takes device memory

  /// Creates the NCCL group over mpi's ranks on the current CUDA device.
  explicit NcclCommunicator(MpiCommunicator& mpi) : mpi_(&mpi) {
    ncclUniqueId id{};
    if (mpi.rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    mpi.broadcast(std::as_writable_bytes(std::span<ncclUniqueId>(&id, 1)), 0);
    check(ncclCommInitRank(&comm_, mpi.size(), id, mpi.rank()), "ncclCommInitRank");
  }
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;
  ~NcclCommunicator() {
    if (comm_ == nullptr) return;
    if (failed_) ncclCommAbort(comm_);
    else ncclCommDestroy(comm_);
  }

  int rank() const { return mpi_->rank(); }  ///< this process's rank
  int size() const { return mpi_->size(); }  ///< the number of ranks

  /// x (device memory) = the sum of x over the ranks, in place.
  ///@{
  void all_reduce_sum(std::span<float> x) { all_reduce(x.data(), x.size(), ncclFloat32, "ncclAllReduce(float)"); }
  void all_reduce_sum(std::span<double> x) { all_reduce(x.data(), x.size(), ncclFloat64, "ncclAllReduce(double)"); }
  ///@}
  /// b (device memory) = rank root's b.
  void broadcast_device(std::span<std::byte> b, int root) {
    check(ncclBroadcast(b.data(), b.data(), b.size(), ncclUint8, root, comm_, stream()), "ncclBroadcast");
    wait("ncclBroadcast");
  }
  /// Host-side control messages, through the MPI communicator.
  ///@{
  void broadcast(std::span<std::byte> b, int root) { mpi_->broadcast(b, root); }
  std::vector<std::uint64_t> all_gather(std::uint64_t v) { return mpi_->all_gather(v); }
  void barrier() { mpi_->barrier(); }
  ///@}

 private:
  static cudaStream_t stream() { return cuda::context().stream(); }

  template <class S>
  void all_reduce(S* data, std::size_t n, ncclDataType_t type, const char* call) {
    if (n == 0 || size() == 1) return;
    check(ncclAllReduce(data, data, n, type, ncclSum, comm_, stream()), call);
    wait(call);
  }

  // Waits for the stream with the MPI communicator's deadline, watching NCCL's asynchronous errors.
  void wait(const char* call) {
    const auto deadline = std::chrono::steady_clock::now() + mpi_->timeout();
    for (;;) {
      const cudaError_t status = cudaStreamQuery(stream());
      if (status == cudaSuccess) return;
      if (status != cudaErrorNotReady) {
        failed_ = true;
        throw DistError(describe(call) + ": CUDA error " + cudaGetErrorString(status));
      }
      ncclResult_t async = ncclSuccess;
      check(ncclCommGetAsyncError(comm_, &async), "ncclCommGetAsyncError");
      check(async, call);
      if (std::chrono::steady_clock::now() > deadline) {
        failed_ = true;
        throw TimeoutError(describe(call) + " did not complete within " + std::to_string(mpi_->timeout().count()) +
                           " ms: another rank has died, stalled or called a different collective");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

  void check(ncclResult_t result, const char* call) {
    if (result == ncclSuccess) return;
    failed_ = true;
    throw DistError(describe(call) + " failed: " + ncclGetErrorString(result));
  }

  std::string describe(const char* call) const {
    return std::string(call) + " on rank " + std::to_string(rank()) + " of " + std::to_string(size());
  }

  MpiCommunicator* mpi_;
  ncclComm_t comm_ = nullptr;
  bool failed_ = false;
};
static_assert(Communicator<NcclCommunicator>);

}  // namespace netgrow::dist
