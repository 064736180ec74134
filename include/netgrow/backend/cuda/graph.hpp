/// \file
/// netgrow/backend/cuda/graph.hpp: a training step replayed as a CUDA graph. The first run() executes
/// the step's body once as ordinary work (it settles every buffer, workspace and handle), then records
/// it on the context's stream into a graph; later runs launch that graph, one call instead of dozens of
/// kernel launches. After a growth (or anything else that replaces memory the graph uses) the next
/// run() notices, executes the body once more and records it again.
///
/// ~~~
///   cuda::StepGraph graph;
///   cuda::QueuedCrossEntropy loss;                 // backend/cuda/queued_loss.hpp: no read-back
///   for (...) {
///     copy(batch_x, x.view()); copy(batch_y, y.view());   // new data into the same tensors
///     graph.run([&] {
///       const auto logits = net.forward(x.cview());
///       loss.queue(logits, y.cview(), grad.view());
///       net.backward(grad.cview());
///       sgd.step(net);                             // constant learning rate: see below
///     });
///     if (step % 100 == 0) std::cout << loss.result().loss;   // waits for the step
///   }
/// ~~~
///
/// Contracts
/// - The body must queue the same work on every call: same network, same tensors, same shapes. Data
///   enters through tensors that stay alive (copy each batch into them); the graph reads the memory they
///   had when it was recorded.
/// - The body may not wait for the device (a loss read back to the host, a host transfer): recording
///   fails with CudaError naming the call, the stream is left usable and nothing is recorded.
/// - Host values the body computes are frozen into the graph when it is recorded: a learning rate, a
///   step count, Adam's bias corrections. Keep an update with changing constants outside the body (run
///   it after run()), stage them in device memory (StagedAdam, optim/staged.hpp: Adam under a
///   schedule inside the body), or pass the changing values as `key`: the graph is recorded again when
///   they change.
///   The body's host side effects (an optimizer's step counter) happen when it is executed or recorded,
///   not at replays.
/// - Re-recording is automatic when memory the graph may use was freed since it was recorded (a
///   parameter replaced by a growth, a layer buffer resized by a batch of another size:
///   DevicePool::private_disturbed), when `key` changes, or after invalidate().
/// - Memory the graph allocates (its temporaries) stays reserved for it until it is destroyed.
/// - Replays update device memory only: what layers keep on the host (the shape of the last batch) is
///   what the last ordinary run left. After an evaluation of a smaller batch (which frees nothing, so
///   the graph stays valid), call invalidate() before reading saved activations (a GradMax growth).
/// - A StepGraph must not outlive its context (the default: the calling thread's, alive until the
///   thread ends).
///
/// Host-compiler safe: needs only the CUDA runtime, cuBLAS and cuSOLVER headers (through context.hpp).
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/backend/cuda/device_pool.hpp"
#include "netgrow/core/cuda_check.hpp"
#include "netgrow/core/error.hpp"

namespace netgrow::cuda {

/// A body of work recorded once and replayed (see the file comment). Not copyable.
class StepGraph {
 public:
  /// Records on `ctx`'s stream (default: the calling thread's current context).
  explicit StepGraph(Context& ctx = context()) : ctx_(&ctx), pool_(device_pool().create_private()) {}
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;
  /// Waits for the stream, then frees the graph and hands its memory back to the pool.
  ~StepGraph() {
    (void)cudaStreamSynchronize(ctx_->stream());
    drop_exec();
    device_pool().release_private(pool_);
    (void)cudaGetLastError();
  }

  /// Runs `body` once: recorded (after one ordinary execution) on the first call and whenever the
  /// recording went stale, replayed otherwise. `key`: values the recording depends on (see above).
  template <class Body>
  void run(Body&& body, std::span<const double> key = {}) {
    if (exec_ && !stale(key)) {
      NETGROW_CUDA_CHECK(cudaGraphLaunch(exec_, ctx_->stream()));
      ++replays_;
      return;
    }
    if (exec_) {
      ctx_->synchronize();  // its replays have finished before the memory it used is handed out again
      drop_exec();
    }
    body();  // executes the step and settles every buffer the recording will use
    record(body);
    key_.assign(key.begin(), key.end());
  }

  /// Forgets the recording: the next run() records the body again.
  void invalidate() {
    if (!exec_) return;
    ctx_->synchronize();
    drop_exec();
  }

  bool recorded() const { return exec_ != nullptr; }     ///< whether a recording is ready to replay
  std::size_t recordings() const { return recordings_; }  ///< how many times the body was recorded
  std::size_t replays() const { return replays_; }        ///< how many runs launched the recording
  /// Bytes of device memory kept for the recording's temporaries.
  std::size_t reserved_bytes() const { return device_pool().private_cached_bytes(pool_); }

 private:
  bool stale(std::span<const double> key) const {
    return device_pool().private_disturbed(pool_) || !std::equal(key.begin(), key.end(), key_.begin(), key_.end());
  }

  template <class Body>
  void record(Body& body) {
    const cudaStream_t stream = ctx_->stream();
    device_pool().begin_private(pool_, stream);
    cudaGraph_t graph = nullptr;
    cudaError_t status = cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed);
    if (status != cudaSuccess) {
      device_pool().end_private(pool_);
      (void)cudaGetLastError();
      ::netgrow::detail::throw_cuda_error(status, "cudaStreamBeginCapture (cuda::StepGraph)", __FILE__, __LINE__);
    }
    // End the capture whatever happens, so the stream works again; a partial graph is discarded.
    const auto abandon = [&] {
      (void)cudaStreamEndCapture(stream, &graph);
      if (graph) (void)cudaGraphDestroy(graph);
      (void)cudaGetLastError();
      device_pool().end_private(pool_);
    };
    try {
      body();
    } catch (const CudaOutOfMemory&) {
      abandon();
      throw;
    } catch (const CudaError& e) {
      abandon();
      throw CudaError(::netgrow::detail::concat("cuda::StepGraph: recording the step failed: ", e.what(), "; ",
                                                not_recordable));
    } catch (...) {
      abandon();
      throw;
    }
    status = cudaStreamEndCapture(stream, &graph);
    device_pool().end_private(pool_);
    if (status != cudaSuccess || graph == nullptr) {
      if (graph) (void)cudaGraphDestroy(graph);
      (void)cudaGetLastError();
      throw CudaError(::netgrow::detail::concat("cuda::StepGraph: recording the step failed (cudaStreamEndCapture: ",
                                                cudaGetErrorName(status), ", ", cudaGetErrorString(status), "); ",
                                                not_recordable));
    }
    status = cudaGraphInstantiate(&exec_, graph, 0);
    (void)cudaGraphDestroy(graph);
    if (status != cudaSuccess) {
      exec_ = nullptr;
      (void)cudaGetLastError();
      ::netgrow::detail::throw_cuda_error(status, "cudaGraphInstantiate (cuda::StepGraph)", __FILE__, __LINE__);
    }
    ++recordings_;
  }

  void drop_exec() noexcept {
    if (exec_) (void)cudaGraphExecDestroy(exec_);
    exec_ = nullptr;
  }

  static constexpr const char* not_recordable =
      "the body waited for the device or used another stream (a loss read back to the host, a host transfer, a "
      "synchronize): queue such work outside run(), e.g. QueuedCrossEntropy for the loss";

  Context* ctx_;
  DevicePool::PrivateId pool_;
  cudaGraphExec_t exec_ = nullptr;
  std::vector<double> key_;
  std::size_t recordings_ = 0, replays_ = 0;
};

}  // namespace netgrow::cuda
