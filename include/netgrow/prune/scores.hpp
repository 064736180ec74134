/// \file
/// netgrow/prune/scores.hpp: what every pruning criterion shares. A criterion is a struct with
///
/// ~~~{.unparsed}
///   Scores score(Net& net, const ScoreContext<S>& ctx)    a saliency per entry of every selected
///                                                          parameter; higher = keep
/// ~~~
///
/// that leaves the network as it found it (values, running statistics; gradients may change): the
/// criteria here take a ParameterSnapshot and restore it. prune_at_init (prune/prune_at_init.hpp) keeps
/// the highest scores among the entries still active. Any device: the batch (host) is copied to the
/// network's device, the passes run there, and the few values a criterion reads or writes elementwise
/// (logits, parameters, gradients) travel through the host; scores are host doubles.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "netgrow/core/rng.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/layers/layer.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/prune/mask.hpp"

namespace netgrow::prune {

/// A saliency per entry of each selected parameter, by parameter name (double, the parameter's shape).
using Scores = std::map<std::string, Tensor<double, Cpu>>;

/// What a criterion may read: a batch (the data-driven criteria use inputs and labels; the data-free
/// ones only the inputs' shape), an Rng for their random draws, and which parameters to score.
template <class S>
struct ScoreContext {
  ConstView<S, Cpu> inputs{};               ///< (N, ...) the network's input batch
  ConstView<std::int32_t, Cpu> labels{};    ///< (N) classes for SoftmaxCrossEntropy (SNIP, GraSP)
  Rng* rng = nullptr;                       ///< random draws (Random, NTK-SAP)
  Selector select = weight_matrices;        ///< which parameters are scored
};

/// Every parameter's value, to put back after a criterion has changed them (running statistics included:
/// BatchNorm's are parameters).
template <class Net>
class ParameterSnapshot {
  using S = typename Net::scalar_type;
  using D = typename Net::device_type;

 public:
  /// Copies every parameter value of `net`.
  explicit ParameterSnapshot(Net& net) : net_(net) {
    net.visit_parameters([&](const std::string&, Parameter<S, D>& p) { values_.push_back(p.value.clone()); });
  }
  ParameterSnapshot(const ParameterSnapshot&) = delete;
  ParameterSnapshot& operator=(const ParameterSnapshot&) = delete;
  /// Puts the values back (also on destruction).
  ~ParameterSnapshot() { restore(); }
  /// Copies the saved values back into the network.
  void restore() {
    std::size_t i = 0;
    net_.visit_parameters([&](const std::string&, Parameter<S, D>& p) { ops::copy<S>(values_[i++].cview(), p.value.view()); });
  }
  /// The saved value of the i-th parameter in visit order.
  const Tensor<S, D>& value(std::size_t i) const { return values_[i]; }

 private:
  Net& net_;
  std::vector<Tensor<S, D>> values_;
};

namespace detail {

// Checks a context's batch against what a criterion needs.
template <class S>
void require_batch(const ScoreContext<S>& ctx, const char* who, bool labels) {
  require(!ctx.inputs.empty() && ctx.inputs.rank() >= 2, who, ": needs an input batch (N, ...), got ", ctx.inputs.shape());
  if (labels)
    require<ShapeError>(ctx.labels.numel() == ctx.inputs.dim(0), who, ": needs ", ctx.inputs.dim(0),
                        " labels for the batch, got ", ctx.labels.numel());
}

// Forward (train mode) and backward of softmax cross-entropy at temperature t (logits / t) on the batch:
// writes every parameter's gradient; returns the loss. The loss is taken on the host (N x classes values).
template <class Net, class S>
double loss_backward(Net& net, const ScoreContext<S>& ctx, double temperature = 1.0) {
  using D = typename Net::device_type;
  Tensor<S, D> x_staging, grad_staging;
  Tensor<S, Cpu> scaled = host_copy(net.forward(device_view<D>(ctx.inputs, x_staging), Mode::train));
  Tensor<S, Cpu> grad(scaled.shape());
  for (Index i = 0; i < scaled.numel(); ++i) scaled.data()[i] = static_cast<S>(scaled.data()[i] / temperature);
  const auto r = SoftmaxCrossEntropy{}(scaled, ctx.labels, grad);
  ops::scale<S>(grad.view(), static_cast<S>(1.0 / temperature));
  net.backward(device_view<D>(grad.cview(), grad_staging));
  return r.loss;
}

// f(name, p, i) for every selected parameter, with i its index in visit order (for ParameterSnapshot).
template <class Net, class F>
void for_selected(Net& net, const Selector& select, F&& f) {
  std::size_t i = 0;
  net.visit_parameters([&](const std::string& name, auto& p) {
    if (select(name, p.value.shape())) f(name, p, i);
    ++i;
  });
}

// A double tensor of p's shape with out[i] = g(i).
template <class S, class D, class G>
Tensor<double, Cpu> score_tensor(const Parameter<S, D>& p, G&& g) {
  Tensor<double, Cpu> s(p.value.shape());
  for (Index i = 0; i < s.numel(); ++i) s.data()[i] = g(i);
  return s;
}

// |w dR/dw| for every selected parameter, from the gradients of the last backward pass (SNIP, SynFlow).
template <class Net>
Scores abs_weight_times_gradient(Net& net, const Selector& select) {
  Scores out;
  using S = typename Net::scalar_type;
  Tensor<S, Cpu> value_staging, grad_staging;
  for_selected(net, select, [&](const std::string& n, auto& p, std::size_t) {
    const S* w = host_view(p.value, value_staging).data();
    const S* g = host_view(p.grad, grad_staging).data();
    out[n] = score_tensor(p, [&](Index i) { return std::abs(static_cast<double>(w[i]) * static_cast<double>(g[i])); });
  });
  return out;
}

// Replaces p's value by f(its value) elementwise, on the host (copied back to a device).
template <class S, class D, class F>
void transform_value(Parameter<S, D>& p, F&& f) {
  Tensor<S, Cpu> v = host_copy(p.value.cview());
  for (Index i = 0; i < v.numel(); ++i) v.data()[i] = f(i, v.data()[i]);
  grow::copy_between<S>(v.cview(), p.value.view());
}

// Fan-in of a weight: its elements per output unit (Dense (out, in): in; Conv2d (out, in, kh, kw): in kh kw).
inline double fan_in(const Shape& s) { return static_cast<double>(s.numel() / std::max<Index>(1, s[0])); }

}  // namespace detail

}  // namespace netgrow::prune
