/// \file
/// netgrow/dist/sampler.hpp: each rank's disjoint share of the same seeded stream of global batches.
///
/// ~~~
/// dist::DistributedSampler sampler(n_train, 256, Rng(7), comm.rank(), comm.size());   // 256 over all ranks
/// auto idx = sampler.next();        // this rank's 256 / size indices of the next global batch
/// state.sampler("train", sampler.global());     // checkpoints hold the global stream's position
/// ~~~
///
/// Every rank draws the same global batch (one BatchSampler with the same seed: shuffled per epoch,
/// the last short batch dropped) and takes rank r's slice [r b, (r + 1) b), b = global batch / size.
/// The shards of a step are disjoint and together are the global batch, so N ranks see exactly what one
/// process with the global batch sees. The stream's state does not depend on the number of ranks: a run
/// checkpointed on 2 ranks resumes on 3 (or 1) with the same global batches, as long as the global batch
/// size is divisible by the new number of ranks.
#pragma once

#include <span>

#include "netgrow/data/batches.hpp"

namespace netgrow::dist {

/// A rank's share of a seeded stream of global batches (see the file comment).
class DistributedSampler {
 public:
  /// Global batches of `global_batch` indices into n samples, shuffled by `rng` (the same seed on every
  /// rank); this rank is `rank` of `ranks`. Throws ArgumentError when the global batch does not split
  /// evenly over the ranks or exceeds n.
  DistributedSampler(Index n, Index global_batch, Rng rng, int rank, int ranks, bool shuffle = true)
      : global_(checked(n, global_batch, rank, ranks), global_batch, rng, shuffle, /*drop_last=*/true),
        rank_(rank), local_(global_batch / ranks) {}

  /// This rank's indices of the next global batch (valid until the next call).
  std::span<const Index> next() {
    const std::span<const Index> all = global_.next();
    return all.subspan(static_cast<std::size_t>(rank_ * local_), static_cast<std::size_t>(local_));
  }

  Index local_batch() const { return local_; }          ///< indices per rank and step
  Index epoch() const { return global_.epoch(); }       ///< the epoch the last batch came from
  Index batches_per_epoch() const { return global_.batches_per_epoch(); }  ///< global batches per epoch
  /// The global stream (for TrainingState::sampler: its state is the same on every rank).
  ///@{
  BatchSampler& global() { return global_; }
  const BatchSampler& global() const { return global_; }
  ///@}

 private:
  static Index checked(Index n, Index global_batch, int rank, int ranks) {
    require(ranks >= 1 && rank >= 0 && rank < ranks, "DistributedSampler: rank ", rank, " of ", ranks,
            " ranks is not a rank");
    require(global_batch >= ranks && global_batch % ranks == 0, "DistributedSampler: the global batch of ",
            global_batch, " does not split evenly over ", ranks, " ranks");
    require(global_batch <= n, "DistributedSampler: the global batch of ", global_batch, " exceeds the ", n,
            " samples");
    return n;
  }

  BatchSampler global_;
  Index rank_, local_;
};

}  // namespace netgrow::dist
