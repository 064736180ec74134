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
/// leaves each rank its own.
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
      Index at = 0;
      for (std::size_t i = b.first; i < b.last; ++i) {
        const Slot& s = trainable_[i];
        ops::copy<S>(s.param->grad.cview(), flat.rows(at, s.numel));
        at += s.numel;
      }
      all_reduce_mean(comm, flat);
      at = 0;
      for (std::size_t i = b.first; i < b.last; ++i) {
        const Slot& s = trainable_[i];
        ops::copy<S>(ConstView<S, D>(flat.rows(at, s.numel)), s.param->grad.view());
        at += s.numel;
      }
    }
    for (const Slot& s : buffers_) {
      if (options_.buffers == Buffers::broadcast) broadcast(comm, s.param->value.view(), 0);
      else if (options_.buffers == Buffers::average) all_reduce_mean(comm, s.param->value.view());
    }
  }

  /// How often the buckets were (re)built: 1 after the first average(), one more after each growth.
  std::int64_t rebuilds() const { return rebuilds_; }
  /// The number of buckets (collectives per step, buffers aside).
  std::size_t bucket_count() const { return buckets_.size(); }
  /// Gradient elements averaged per step.
  Index averaged_elements() const { return total_; }
  /// Names of the parameters whose gradients are averaged, last layer first (bucket order).
  std::vector<std::string> averaged_names() const {
    std::vector<std::string> names;
    for (const Slot& s : trainable_) names.push_back(s.name);
    return names;
  }

 private:
  struct Slot {
    Parameter<S, D>* param;
    Index numel;
    std::string name;
    bool operator==(const Slot& o) const { return param == o.param && numel == o.numel; }
  };
  struct Bucket {
    std::size_t first, last;  // slots [first, last) of trainable_
    Index numel;
  };

  template <class Net>
  void refresh_layout(Net& net) {
    std::vector<Slot> trainable, buffers;
    net.visit_parameters([&](const std::string& name, Parameter<S, D>& p) {
      if (p.numel() == 0) return;
      (p.trainable ? trainable : buffers).push_back(Slot{&p, p.numel(), name});
    });
    std::reverse(trainable.begin(), trainable.end());  // backward order: last layer first
    if (rebuilds_ > 0 && trainable == trainable_ && buffers == buffers_) return;
    for (const Slot& s : trainable)
      require<ShapeError>(s.param->grad.numel() == s.numel, "GradientAverager: parameter ", s.name, " has ",
                          s.numel, " values but ", s.param->grad.numel(), " gradient entries");
    trainable_ = std::move(trainable);
    buffers_ = std::move(buffers);
    buckets_.clear();
    const Index limit = std::max<Index>(1, static_cast<Index>(options_.bucket_bytes / sizeof(S)));
    Index largest = 0;
    total_ = 0;
    for (std::size_t i = 0; i < trainable_.size(); ++i) {
      const Index n = trainable_[i].numel;
      if (buckets_.empty() || buckets_.back().numel + n > limit) buckets_.push_back(Bucket{i, i, 0});
      buckets_.back().last = i + 1;
      buckets_.back().numel += n;
      largest = std::max(largest, buckets_.back().numel);
      total_ += n;
    }
    if (flat_.numel() < largest) flat_ = Tensor<S, D>(Shape{largest});
    ++rebuilds_;
  }

  AveragerOptions options_;
  std::vector<Slot> trainable_, buffers_;
  std::vector<Bucket> buckets_;
  Tensor<S, D> flat_;
  Index total_ = 0;
  std::int64_t rebuilds_ = 0;
};

}  // namespace netgrow::dist
