/// \file
/// netgrow/prune/ntk_sap.hpp: NTK-SAP (Wang et al. 2023), pruning by the connections' influence on the
/// spectrum of the neural tangent kernel, weight- and data-agnostic.
///
/// The trace of the NTK on inputs x is the squared Frobenius norm of the Jacobian J = df(x)/dw. With a
/// perturbation d ~ N(0, eps^2 I) of the selected weights,
///     E ||f(x; w + d) - f(x; w)||^2 = eps^2 tr(J J^T) + O(eps^4),
/// so R = ||f(x; w m + d m) - f(x; w m)||^2 (m the mask) estimates eps^2 tr(NTK) by finite differences,
/// and NTK-SAP's saliency of connection j is |dR/dm_j| = |w_j g1_j + (w_j + d_j) g2_j|, with g1, g2 the
/// gradients of R with respect to the weights of the two networks. As the reference does, every draw
/// re-initialises the selected weights (He normal, N(0, 2 / fan_in), masked), feeds standard Gaussian
/// inputs of the batch's shape, and the draws' dR/dm are summed before the absolute value; both passes
/// run in training mode (batch statistics; the reference sets the running statistics from the same
/// batch and evaluates). prune_at_init's iterations give NTK-SAP's iterative schedule.
#pragma once

#include <cmath>
#include <type_traits>
#include <vector>

#include "netgrow/prune/scores.hpp"

namespace netgrow::prune {

namespace detail {

// ||f(x; w + d) - f(x; w)||^2 for one Gaussian d (std eps on the selected, masked weights), adding dR/dm
// (w g1 + (w + d) g2) to `saliency` (by parameter name) when it is not null. The network's values are
// w on return. x is on the network's device; the perturbations are drawn on the host (the same draws on
// every device) and the outputs' difference is taken there.
template <class Net, class S>
double ntk_sap_draw(Net& net, ConstView<S, typename Net::device_type> x, double eps, const Selector& select, Rng& rng,
                    Scores* saliency) {
  using D = typename Net::device_type;
  std::vector<Tensor<S, D>> base, delta;
  for_selected(net, select, [&](const std::string&, Parameter<S, D>& p, std::size_t) {
    base.push_back(p.value.clone());
    Tensor<S, Cpu> d(p.value.shape());
    for (Index i = 0; i < d.numel(); ++i) d.data()[i] = static_cast<S>(eps * rng.normal());
    delta.push_back(grow::host_to<D>(std::move(d)));
    if (!p.mask.empty()) ops::apply_mask<S>(p.mask.cview(), delta.back().view());
  });
  const Tensor<S, Cpu> o1 = host_copy(net.forward(x, Mode::train));
  std::size_t k = 0;
  for_selected(net, select, [&](const std::string&, Parameter<S, D>& p, std::size_t) {
    ops::axpy<S>(S(1), delta[k++].cview(), p.value.view());
  });
  const Tensor<S, Cpu> o2 = host_copy(net.forward(x, Mode::train));
  Tensor<S, Cpu> diff(o1.shape());
  double r = 0;
  for (Index i = 0; i < diff.numel(); ++i) {
    const double d = static_cast<double>(o2.data()[i]) - static_cast<double>(o1.data()[i]);
    diff.data()[i] = static_cast<S>(2 * d);  // dR/do2 = 2 (o2 - o1)
    r += d * d;
  }
  // saliency[name] += w g, from the last backward pass: (w + d) g2 after the first, w g1 after the second.
  Tensor<S, Cpu> value_staging, grad_staging;
  const auto add_w_times_grad = [&] {
    for_selected(net, select, [&](const std::string& n, Parameter<S, D>& p, std::size_t) {
      Tensor<double, Cpu>& s = (*saliency)[n];
      if (s.empty()) s = Tensor<double, Cpu>(p.value.shape());
      const S* w = host_view(p.value, value_staging).data();
      const S* g = host_view(p.grad, grad_staging).data();
      for (Index i = 0; i < s.numel(); ++i) s.data()[i] += static_cast<double>(w[i]) * static_cast<double>(g[i]);
    });
  };
  Tensor<S, D> diff_staging;
  if (saliency) {
    net.backward(device_view<D>(diff.cview(), diff_staging));
    add_w_times_grad();
  }
  k = 0;
  for_selected(net, select, [&](const std::string&, Parameter<S, D>& p, std::size_t) {
    ops::copy<S>(base[k++].cview(), p.value.view());
  });
  if (saliency) {
    net.forward(x, Mode::train);
    ops::scale<S>(diff.view(), S(-1));  // dR/do1 = -2 (o2 - o1)
    net.backward(device_view<D>(diff.cview(), diff_staging));
    add_w_times_grad();
  }
  return r;
}

}  // namespace detail

/// The finite-difference estimate of tr(NTK) of `net` on inputs x (see the file comment), over the
/// selected weights, at the network's current weights: the mean of ||f(w + d) - f(w)||^2 / eps^2 over
/// `draws` perturbations. Running statistics are left as they were. x on the network's device.
template <class Net, class S = typename Net::scalar_type>
double ntk_trace_estimate(Net& net, std::type_identity_t<ConstView<S, typename Net::device_type>> x, double eps,
                          int draws, Rng& rng,
                          const Selector& select = weight_matrices) {
  require(eps > 0 && draws >= 1, "prune::ntk_trace_estimate: eps must be positive and draws at least 1");
  ParameterSnapshot<Net> snapshot(net);
  double sum = 0;
  for (int t = 0; t < draws; ++t) sum += detail::ntk_sap_draw<Net, S>(net, x, eps, select, rng, nullptr);
  return sum / (static_cast<double>(draws) * eps * eps);
}

/// NTK-SAP's dR/dm (signed, summed over `draws` perturbations) at the network's current weights on
/// inputs x, divided by eps^2: an estimate of d tr(NTK) / dm. The criterion below re-draws the weights
/// and inputs; this is the fixed-weight part it repeats (and what the tests compare with a brute-force
/// NTK). x on the network's device.
template <class Net, class S = typename Net::scalar_type>
Scores ntk_trace_mask_gradient(Net& net, std::type_identity_t<ConstView<S, typename Net::device_type>> x, double eps,
                               int draws, Rng& rng,
                               const Selector& select = weight_matrices) {
  require(eps > 0 && draws >= 1, "prune::ntk_trace_mask_gradient: eps must be positive and draws at least 1");
  ParameterSnapshot<Net> snapshot(net);
  Scores g;
  for (int t = 0; t < draws; ++t) detail::ntk_sap_draw<Net, S>(net, x, eps, select, rng, &g);
  for (auto& [name, s] : g) ops::scale<double>(s.view(), 1.0 / (static_cast<double>(draws) * eps * eps));
  return g;
}

/// NTK-SAP's saliency (see the file comment); higher = keep.
struct NtkSap {
  static constexpr const char* name = "NTK-SAP";  ///< for reports
  double epsilon = 0.01;  ///< perturbation std of the weights
  int draws = 1;          ///< weight and input draws per score() (per pruning round)
  bool redraw_weights = true;  ///< weight-agnostic: fresh He-normal weights each draw

  /// Criterion interface (prune/scores.hpp); needs ctx.rng and the inputs' shape.
  template <class Net, class S>
  Scores score(Net& net, const ScoreContext<S>& ctx) const {
    detail::require_batch(ctx, "prune::NtkSap", false);
    require(ctx.rng != nullptr, "prune::NtkSap: the context needs an Rng");
    require(epsilon > 0 && draws >= 1, "prune::NtkSap: epsilon must be positive and draws at least 1");
    using D = typename Net::device_type;
    ParameterSnapshot<Net> snapshot(net);
    Tensor<S, Cpu> x(ctx.inputs.shape());
    Tensor<S, D> x_staging;
    Scores sum;
    for (int t = 0; t < draws; ++t) {
      if (redraw_weights)
        detail::for_selected(net, ctx.select, [&](const std::string&, Parameter<S, D>& p, std::size_t) {
          const double std = std::sqrt(2.0 / detail::fan_in(p.value.shape()));
          detail::transform_value(p, [&](Index, S) { return static_cast<S>(std * ctx.rng->normal()); });
          if (!p.mask.empty()) ops::apply_mask<S>(p.mask.cview(), p.value.view());
        });
      for (Index i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<S>(ctx.rng->normal());
      detail::ntk_sap_draw<Net, S>(net, device_view<D>(x.cview(), x_staging), epsilon, ctx.select, *ctx.rng, &sum);
    }
    for (auto& [n, s] : sum)
      for (Index i = 0; i < s.numel(); ++i) s.data()[i] = std::abs(s.data()[i]);
    return sum;
  }
};

}  // namespace netgrow::prune
