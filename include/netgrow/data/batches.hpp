/// \file
/// netgrow/data/batches.hpp: mini-batches: a seeded shuffling sampler and row gathering.
///
/// ~~~
///   BatchSampler sampler(n_samples, 128, Rng(7));
///   for (int step = 0; step < steps; ++step) {
///     auto idx = sampler.next();              // 128 indices; reshuffles at every epoch boundary
///     gather_rows(x, idx, x_batch);           // x_batch (128, features)
///   }
/// ~~~
///
/// Same seed -> same order of batches, on every platform (netgrow::Rng, Fisher-Yates). state() and
/// set_state() capture and restore the position in the stream of batches, so a run resumed from a
/// checkpoint (io/checkpoint.hpp) draws the same batches as one that never stopped.
#pragma once

#include <numeric>
#include <span>
#include <vector>

#include "netgrow/core/rng.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow {

/// Batches of indices into n samples, epoch after epoch, each epoch shuffled by its own Rng (see the file comment).
class BatchSampler {
 public:
  /// shuffle = false keeps the natural order; drop_last = false ends each epoch with a short batch
  /// when batch_size does not divide n.
  BatchSampler(Index n, Index batch_size, Rng rng, bool shuffle = true, bool drop_last = false)
      : batch_(batch_size), rng_(rng), shuffle_(shuffle), drop_last_(drop_last) {
    require(n > 0, "BatchSampler: need at least one sample, got n = ", n);
    require(batch_size > 0, "BatchSampler: batch size must be positive, got ", batch_size);
    order_.resize(static_cast<std::size_t>(n));
    require(!drop_last || batch_size <= n, "BatchSampler: batch size ", batch_size, " exceeds the ", n,
            " samples and drop_last is set, so no batch would ever be produced");
    std::iota(order_.begin(), order_.end(), Index{0});
    start_epoch();
  }

  /// Indices of the next batch (valid until the next call).
  std::span<const Index> next() {
    const Index n = static_cast<Index>(order_.size());
    Index remaining = n - pos_;
    if (remaining == 0 || (drop_last_ && remaining < batch_)) {
      ++epoch_;
      start_epoch();
      remaining = n;
    }
    const Index count = std::min(batch_, remaining);
    std::span<const Index> batch(order_.data() + pos_, static_cast<std::size_t>(count));
    pos_ += count;
    return batch;
  }

  /// Everything that decides the batches to come. The order of the current epoch is stored as it
  /// is: each epoch shuffles the previous one's order, so the generator alone cannot rebuild it.
  struct State {
    std::vector<Index> order;  ///< the current epoch's order: a permutation of [0, n)
    Index position = 0;        ///< the next batch starts at order[position] (n: the epoch is used up)
    Index epoch = 0;           ///< index of the current epoch
    Rng::State rng{};          ///< the generator that shuffles the next epochs
  };

  /// The position in the stream of batches, for set_state() and checkpoints.
  State state() const { return State{order_, pos_, epoch_, rng_.state()}; }

  /// Continues from `s`, the state() of a sampler over the same n samples; the batch size, shuffle
  /// and drop_last settings stay this sampler's. Throws ArgumentError, leaving the sampler unchanged,
  /// when `s` has another sample count, is not a permutation of [0, n), or has a position outside
  /// [0, n], a negative epoch or the all-zero generator state.
  void set_state(const State& s) {
    const Index n = size();
    require(static_cast<Index>(s.order.size()) == n, "BatchSampler::set_state: state over ", s.order.size(),
            " samples for a sampler over ", n);
    require(s.position >= 0 && s.position <= n, "BatchSampler::set_state: position ", s.position, " outside [0, ", n,
            "]");
    require(s.epoch >= 0, "BatchSampler::set_state: negative epoch ", s.epoch);
    std::vector<bool> seen(static_cast<std::size_t>(n), false);
    for (const Index i : s.order) {
      require(i >= 0 && i < n && !seen[static_cast<std::size_t>(i)],
              "BatchSampler::set_state: the order is not a permutation of [0, ", n, ") (index ", i, ")");
      seen[static_cast<std::size_t>(i)] = true;
    }
    Rng rng = rng_;
    rng.set_state(s.rng);  // validates before anything changes
    order_ = s.order;
    pos_ = s.position;
    epoch_ = s.epoch;
    rng_ = rng;
  }

  /// Number of samples n.
  Index size() const { return static_cast<Index>(order_.size()); }
  /// Index of the epoch the last batch came from (0 for the first epoch).
  Index epoch() const { return epoch_; }
  /// Batches per epoch.
  Index batches_per_epoch() const {
    const Index n = static_cast<Index>(order_.size());
    return drop_last_ ? n / batch_ : n / batch_ + (n % batch_ != 0);
  }

 private:
  void start_epoch() {
    pos_ = 0;
    if (!shuffle_) return;
    for (std::size_t i = order_.size() - 1; i > 0; --i)
      std::swap(order_[i], order_[static_cast<std::size_t>(rng_.uniform_int(i + 1))]);
  }

  std::vector<Index> order_;
  Index batch_;
  Rng rng_;
  bool shuffle_;
  bool drop_last_;
  Index pos_ = 0;
  Index epoch_ = 0;
};

/// dst (k, ...) = rows `indices` of src (n, ...), resized to k rows.
///@{
template <class T>
void gather_rows(ConstView<T, Cpu> src, std::span<const Index> indices, Tensor<T, Cpu>& dst) {
  require<ShapeError>(src.rank() >= 1, "gather_rows: source must have a batch dimension, got ", src.shape());
  Shape s = src.shape();
  s[0] = static_cast<Index>(indices.size());
  dst.resize(s);
  const Index row = src.shape().inner_numel();
  const Index n = src.dim(0);
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const Index i = indices[k];
    require<ShapeError>(i >= 0 && i < n, "gather_rows: row index ", i, " outside [0, ", n, ")");
    std::copy_n(src.data() + i * row, row, dst.data() + static_cast<Index>(k) * row);
  }
}
template <class T>
void gather_rows(const Tensor<T, Cpu>& src, std::span<const Index> indices, Tensor<T, Cpu>& dst) {
  gather_rows(src.cview(), indices, dst);
}
///@}

}  // namespace netgrow
