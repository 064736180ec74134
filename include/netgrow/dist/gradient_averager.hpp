/// \file
/// netgrow/dist/gradient_averager.hpp: data-parallel gradient averaging in flat buckets, rebuilt
/// whenever the network's parameters change (growth), so a grown parameter can never be left out.
///
/// ~~~
/// dist::GradientAverager<float, Cpu> averager;            // one per network
/// net.forward(x_local); loss; net.backward(grad);         // this rank's share of the global batch
/// averager.average(comm, net);                            // every gradient = the mean over ranks
/// sgd.step(net);                                          // the same update on every rank
/// ~~~
///
/// Contract: every rank holds the same network (same parameters, in the same order and shapes) and
/// its loss is the mean over an equal share of the global batch; then the mean of the ranks' gradients
/// is the gradient of the loss over the global batch, and every rank applies the same update.
///
/// Buckets: the trainable parameters' gradients, last layer first (the order backward() produces them),
/// are packed into flat buffers of about `bucket_bytes` (a parameter larger than that is a bucket of
/// its own), each reduced by one collective: few large messages instead of one per parameter.
///
/// Growth: at every call the averager compares the network's parameters (their addresses and sizes)
/// with the layout its buckets were built for and rebuilds them when anything differs: a parameter
/// grown in place, a block inserted by depth growth, a Stack that reallocated. PyTorch's
/// DistributedDataParallel registers its hooks once, so a parameter replaced after construction is
/// silently never averaged (pytorch issue 12603); here that cannot happen (rebuilds() counts them).
///
/// Buffers (trainable = false: BatchNorm's running statistics) are not gradients. Options:
/// Buffers::broadcast (default, PyTorch DDP's choice) copies rank 0's values to every rank after
/// averaging, which keeps the ranks bit-identical; Buffers::average takes their mean; Buffers::local
/// leaves each rank its own. All buffers travel together in one collective per step.
///
/// Overlap with the backward pass is not done: netgrow's backward() has no per-layer hook yet, and on
/// the CPU a rank's cores are busy with the backward pass itself (BENCHMARKS.md, "Data parallelism").
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "netgrow/dist/communicator.hpp"
#include "netgrow/layers/parameter.hpp"

namespace netgrow::dist {

/// What happens to parameters with trainable = false (see the file comment).
enum class Buffers { broadcast, average, local };

/// Settings of GradientAverager.
struct AveragerOptions {
  std::size_t bucket_bytes = std::size_t{4} << 20;  ///< about this many bytes per collective (> 0)
  Buffers buffers = Buffers::broadcast;             ///< running statistics and other non-trainable values
};

/// Averages the gradients of a network over the ranks of a communicator (see the file comment).
template <class S, class D = Cpu>
class GradientAverager {
 public:
  GradientAverager() = default;  ///< the default options
  /// An averager with the given options; throws ArgumentError for bucket_bytes 0.
  explicit GradientAverager(AveragerOptions options) : options_(options) {
    require(options_.bucket_bytes > 0, "GradientAverager: bucket_bytes must be positive");
  }

  /// Every trainable parameter's gradient of `net` = its mean over the ranks of `comm`; then the
  /// buffers as the options say. Rebuilds the buckets first when the parameters changed.
  template <Communicator Comm, class Net>
  void average(Comm& comm, Net& net) {
    refresh_layout(net);
    if (comm.size() == 1) return;
    for (const Bucket& b : buckets_) {
      TensorView<S, D> flat = flat_.view().rows(0, b.numel);
      pack(trainable_, b.first, b.last, &Parameter<S, D>::grad, flat);
      all_reduce_mean(comm, flat);
      unpack(trainable_, b.first, b.last, &Parameter<S, D>::grad, flat);
    }
    if (buffer_elements_ == 0 || options_.buffers == Buffers::local) return;
    TensorView<S, D> flat = flat_.view().rows(0, buffer_elements_);  // every buffer in one collective
    pack(buffers_, 0, buffers_.size(), &Parameter<S, D>::value, flat);
    if (options_.buffers == Buffers::broadcast) broadcast(comm, flat, 0);
    else all_reduce_mean(comm, flat);
    unpack(buffers_, 0, buffers_.size(), &Parameter<S, D>::value, flat);
  }

  /// How often the buckets were (re)built: 1 after the first average(), one more after each growth.
  std::int64_t rebuilds() const { return rebuilds_; }
  /// The number of buckets (collectives per step, buffers aside).
  std::size_t bucket_count() const { return buckets_.size(); }
  /// Gradient elements averaged per step.
  Index averaged_elements() const { return total_; }
  /// Names of the parameters whose gradients are averaged, last layer first (bucket order).
  const std::vector<std::string>& averaged_names() const { return names_; }

 private:
  struct Slot {
    Parameter<S, D>* param;
    Index numel;
    bool operator==(const Slot&) const = default;
  };
  struct Bucket {
    std::size_t first, last;  // slots [first, last) of trainable_
    Index numel;
  };
  using Member = Tensor<S, D> Parameter<S, D>::*;  // grad or value

  // flat = the `member` tensors of slots [first, last), one after the other; unpack copies back.
  static void pack(const std::vector<Slot>& slots, std::size_t first, std::size_t last, Member member,
                   TensorView<S, D> flat) {
    Index at = 0;
    for (std::size_t i = first; i < last; ++i) {
      ops::copy<S>((slots[i].param->*member).cview(), flat.rows(at, slots[i].numel));
      at += slots[i].numel;
    }
  }
  static void unpack(const std::vector<Slot>& slots, std::size_t first, std::size_t last, Member member,
                     TensorView<S, D> flat) {
    Index at = 0;
    for (std::size_t i = first; i < last; ++i) {
      ops::copy<S>(ConstView<S, D>(flat.rows(at, slots[i].numel)), (slots[i].param->*member).view());
      at += slots[i].numel;
    }
  }

  // Every call: the parameters' addresses and sizes (no names, no allocation once the scratch vectors have
  // grown); only when they differ from the buckets' layout are the names gathered and the buckets rebuilt.
  template <class Net>
  void refresh_layout(Net& net) {
    seen_trainable_.clear();
    seen_buffers_.clear();
    net.visit_parameters([&](const std::string&, Parameter<S, D>& p) {
      if (p.numel() > 0) (p.trainable ? seen_trainable_ : seen_buffers_).push_back(Slot{&p, p.numel()});
    });
    std::reverse(seen_trainable_.begin(), seen_trainable_.end());  // backward order: last layer first
    if (rebuilds_ > 0 && seen_trainable_ == trainable_ && seen_buffers_ == buffers_) return;
    std::vector<std::string> names;
    net.visit_parameters([&](const std::string& name, Parameter<S, D>& p) {
      if (p.numel() > 0 && p.trainable) names.push_back(name);
    });
    std::reverse(names.begin(), names.end());
    for (std::size_t i = 0; i < seen_trainable_.size(); ++i)
      require<ShapeError>(seen_trainable_[i].param->grad.numel() == seen_trainable_[i].numel, "GradientAverager: "
                          "parameter ", names[i], " has ", seen_trainable_[i].numel, " values but ",
                          seen_trainable_[i].param->grad.numel(), " gradient entries");
    trainable_ = seen_trainable_;
    buffers_ = seen_buffers_;
    names_ = std::move(names);
    buckets_.clear();
    const Index limit = std::max<Index>(1, static_cast<Index>(options_.bucket_bytes / sizeof(S)));
    total_ = 0;
    for (std::size_t i = 0; i < trainable_.size(); ++i) {
      const Index n = trainable_[i].numel;
      if (buckets_.empty() || buckets_.back().numel + n > limit) buckets_.push_back(Bucket{i, i, 0});
      buckets_.back().last = i + 1;
      buckets_.back().numel += n;
      total_ += n;
    }
    buffer_elements_ = 0;
    for (const Slot& b : buffers_) buffer_elements_ += b.numel;
    Index largest = buffer_elements_;
    for (const Bucket& b : buckets_) largest = std::max(largest, b.numel);
    if (flat_.numel() < largest) flat_ = Tensor<S, D>(Shape{largest});
    ++rebuilds_;
  }

  AveragerOptions options_;
  std::vector<Slot> trainable_, buffers_;          // the layout the buckets were built for
  std::vector<Slot> seen_trainable_, seen_buffers_;  // this call's layout (scratch)
  std::vector<std::string> names_;
  std::vector<Bucket> buckets_;
  Index buffer_elements_ = 0;
  Tensor<S, D> flat_;
  Index total_ = 0;
  std::int64_t rebuilds_ = 0;
};

}  // namespace netgrow::dist
