/// \file
/// netgrow/dist/sync_batch_norm.hpp: synchronised BatchNorm, as a scope.
///
/// ~~~
/// {
///   dist::SyncBatchNorm sync(comm);       // every BatchNorm in training mode uses the global batch
///   net.forward(x_share); ...loss...; net.backward(grad);
/// }
/// averager.average(comm, net);
/// ~~~
///
/// BatchNorm is local by default (each rank normalises its own share, as PyTorch's DDP does). Inside the
/// scope every BatchNorm of every network on this thread, nested ones included, normalises with the
/// statistics of the global batch and back-propagates through them (layers/batch_norm.hpp): N ranks
/// then compute what one process computes on the concatenated batch. It costs two small all-reduces per
/// BatchNorm and step (2 C + 1 doubles forward, 2 C backward), which wait for the slowest rank. Forward
/// and backward must both run inside the scope (the backward of a synchronised forward outside it throws
/// StateError). GradMax's data through a synchronised BatchNorm centres each rank's patches by its own
/// batch mean before M is averaged: the same on every rank, an approximation of the global batch's M.
#pragma once

#include <span>

#include "netgrow/dist/communicator.hpp"
#include "netgrow/layers/batch_norm_sync.hpp"

namespace netgrow::dist {

/// Synchronised BatchNorm over comm's ranks for the life of the object (see the file comment); comm must
/// outlive it.
class SyncBatchNorm {
 public:
  template <Communicator Comm>
  explicit SyncBatchNorm(Comm& comm)
      : sum_([&comm](std::span<double> x) { comm.all_reduce_sum(x); }), scope_(sum_) {}

 private:
  ProcessSum sum_;
  BatchNormSumScope scope_;
};

}  // namespace netgrow::dist
