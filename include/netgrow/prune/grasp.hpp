/// \file
/// netgrow/prune/grasp.hpp: GraSP (Wang et al. 2020), gradient signal preservation: the connections
/// whose removal reduces the gradient norm least. With g the loss gradient and H the Hessian,
/// removing w changes g^T g by about -2 w (H g); GraSP removes the largest -w (H g) and keeps the
/// largest w (H g), the score here. H g is a finite difference of gradients,
///     H g ~ (g(w + r g) - g(w)) / r,   r = step / |g|,
/// and the logits are divided by a temperature (200 in the paper's code) as GraSP does.
#pragma once

#include <cmath>
#include <vector>

#include "netgrow/prune/scores.hpp"

namespace netgrow::prune {

/// GraSP's score w (H g) (see the file comment); higher = keep.
struct Grasp {
  static constexpr const char* name = "GraSP";  ///< for reports
  double temperature = 200.0;  ///< logits / temperature in the loss
  double step = 1e-2;          ///< finite-difference step along g, relative to |g| (r = step / |g|)

  /// Criterion interface (prune/scores.hpp); needs inputs and labels.
  template <class Net, class S>
  Scores score(Net& net, const ScoreContext<S>& ctx) const {
    detail::require_batch(ctx, "prune::Grasp", true);
    require(temperature > 0 && step > 0, "prune::Grasp: temperature and step must be positive");
    using D = typename Net::device_type;
    ParameterSnapshot<Net> snapshot(net);
    detail::loss_backward(net, ctx, temperature);
    std::vector<Tensor<S, D>> g0;
    double norm2 = 0;
    net.visit_parameters([&](const std::string&, Parameter<S, D>& p) {
      g0.push_back(p.grad.clone());
      if (p.trainable) norm2 += ops::squared_norm<S>(p.grad);
    });
    require(norm2 > 0 && std::isfinite(norm2), "prune::Grasp: the loss gradient is ", norm2 > 0 ? "not finite" : "zero");
    const double r = step / std::sqrt(norm2);
    std::size_t i = 0;
    net.visit_parameters([&](const std::string&, Parameter<S, D>& p) {
      if (p.trainable) ops::axpy<S>(static_cast<S>(r), g0[i].cview(), p.value.view());  // w + r g
      if (!p.mask.empty()) ops::apply_mask<S>(p.mask.cview(), p.value.view());
      ++i;
    });
    detail::loss_backward(net, ctx, temperature);
    Scores out;
    Tensor<S, Cpu> w_staging, g_staging, g0_staging;
    detail::for_selected(net, ctx.select, [&](const std::string& n, auto& p, std::size_t k) {
      const S* w = host_view(snapshot.value(k), w_staging).data();
      const S* g = host_view(p.grad, g_staging).data();
      const S* g0k = host_view(g0[k], g0_staging).data();
      out[n] = detail::score_tensor(p, [&](Index e) {
        const double hg = (static_cast<double>(g[e]) - static_cast<double>(g0k[e])) / r;
        return static_cast<double>(w[e]) * hg;
      });
    });
    return out;
  }
};

}  // namespace netgrow::prune
