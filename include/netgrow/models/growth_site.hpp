/// \file
/// netgrow/models/growth_site.hpp: the places a model grows, and a plan that takes each one from its
/// seed width to its target width in a fixed number of growths.
///
/// A growth site is a producer/consumer pair (P, C) inside some Sequential — the model's top-level
/// network, or a network inside one of its blocks (WideBlock::branch()). The model builders in
/// models/ list their sites with for_each_site(f), calling f(site) in network order; a site knows its
/// name and width, and grows with any initializer:
///
/// ~~~
///   model.for_each_site([&](auto& site) { site.grow(k, grow::GradMax{}, rng, refresh); });
/// ~~~
///
/// refresh() runs forward, loss and backward of the whole model on the grow batch; data-driven
/// initializers call it first, so every site reads the gradients of the network as it is then.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Eigenvalues>

#include "netgrow/ops/svd.hpp"
#include "netgrow/grow/controller.hpp"
#include "netgrow/grow/pair_data.hpp"
#include "netgrow/grow/schedule.hpp"
#include "netgrow/grow/width.hpp"

namespace netgrow::models {

namespace detail {

// The axis of an activation that holds a site's w neurons: 1 for (N, C, ...) and (N, F), the last one
// for token sequences (N, T, F) (what Dense and LayerNorm take); -1 when neither has w entries.
inline int neuron_axis(const Shape& s, Index w) {
  if (s.rank() == 3 && s[2] == w) return 2;
  if (s.rank() >= 2 && s[1] == w) return 1;
  return -1;
}

// Singular values of H / sqrt(n), descending, from the eigenvalues of the (width, width) Gram matrix:
// H is the stored output of the last layer in [P, C) that keeps the producer's channel layout (on a
// device network copied to the host: the Gram matrix is formed there).
template <std::size_t P, std::size_t C, class Net>
std::vector<double> activation_singular_values(Net& net, Index w, const std::string& name,
                                               const grow::CrossProcessMean& mean_over_processes = {}) {
  using S = typename Net::scalar_type;
  using D = typename Net::device_type;
  ConstView<S, D> stored;
  [&]<std::size_t... Is>(std::index_sequence<Is...>) {
    auto consider = [&](ConstView<S, D> out) {
      if (neuron_axis(out.shape(), w) > 0 && (stored.empty() || out.rank() == stored.rank())) stored = out;
    };
    (consider(net.template output<P + Is>()), ...);
  }(std::make_index_sequence<C - P>{});
  require<StateError>(!stored.empty(), "growth site ", name, ": no stored activations; run forward first");
  Tensor<S, Cpu> staging;
  const ConstView<S, Cpu> h = host_view(stored, staging);
  const Index positions = h.shape().inner_numel() / w, n = h.dim(0) * positions;
  Tensor<S, Cpu> rows(Shape{w, n});  // channel c's values over samples and positions
  if (neuron_axis(h.shape(), w) == 2)  // tokens: (N T, w) rows
    matrix(rows) = matrix(h.reshape(Shape{n, w})).transpose();
  else
    ops::axis_to_rows<S>(h.reshape(Shape{h.dim(0), w, positions}), 1, rows.view());
  // Double matrices of a type that depends on S, so the eigen solver is instantiated only where used.
  using Matrix = Eigen::Matrix<std::conditional_t<std::is_same_v<S, void>, S, double>, Eigen::Dynamic, Eigen::Dynamic>;
  const Matrix r = matrix(rows).template cast<double>();
  Matrix gram = r * r.transpose() / static_cast<double>(n);
  if (mean_over_processes) mean_over_processes(std::span<double>(gram.data(), static_cast<std::size_t>(gram.size())));
  const Eigen::SelfAdjointEigenSolver<Matrix> eig(gram, Eigen::EigenvaluesOnly);
  std::vector<double> sigma;
  for (Index i = w - 1; i >= 0; --i) sigma.push_back(std::sqrt(std::max(0.0, eig.eigenvalues()(i))));
  return sigma;
}

}  // namespace detail

/// Pair (P, C) of the Sequential `net`.
template <class Net, std::size_t P, std::size_t C>
struct PairSite {
  Net* net = nullptr;  ///< the network holding the pair (not owned)
  std::string name;    ///< the site's name, e.g. "fc1"

  /// The producer's current width (neurons along its output axis).
  Index width() const {
    using Producer = typename Net::template layer_type<P>;
    return net->template layer<P>().weight().value.dim(Producer::output_axis);
  }

  /// Grows the pair by k neurons with `init` (grow::grow_width); for data-driven initializers runs
  /// refresh() first and takes the grow batch from the network (throws without refresh).
  template <class Init>
  grow::GrowthReport grow(Index k, const Init& init, Rng& rng, const std::function<void()>& refresh = {},
                          const grow::PairDataOptions& options = {}) {
    using S = typename Net::scalar_type;
    if constexpr (grow::initializer_traits<Init>::needs_data) {
      require(static_cast<bool>(refresh), "growth site ", name, ": this initializer needs the grow batch; pass refresh");
      refresh();
      grow::GrowthData<S, typename Net::device_type> data = grow::data_from_last_backward<P, C>(*net, options);
      data.with_recompute(refresh);
      return grow::grow_width<P, C>(*net, k, init, rng, data);
    } else {
      return grow::grow_width<P, C>(*net, k, init, rng);
    }
  }

  /// The site's name, width, and one new neuron's parameter and forward-FLOP cost per sample (a
  /// grow::SiteMeasure with only those set), from the shapes of the last forward pass's outputs.
  grow::SiteMeasure costs() const {
    auto& producer = net->template layer<P>();
    auto& consumer = net->template layer<C>();
    grow::SiteMeasure m;
    m.name = name;
    m.width = width();
    const Index fan_in = producer.weight().value.numel() / m.width;
    const Index fan_out = consumer.weight().value.numel() / m.width;
    double between_parameters = 0;
    grow::detail::for_each_between<Net, P, C>(*net, [&](auto& layer) {
      between_parameters += static_cast<double>(netgrow::parameter_count(layer)) / static_cast<double>(m.width);
    });
    m.parameters_per_neuron = static_cast<double>(fan_in + (producer.has_bias() ? 1 : 0) + fan_out) + between_parameters;
    const Shape z1 = net->template output<P>().shape();
    const Shape z2 = net->template output<C>().shape();
    require<StateError>(z1.numel() > 0 && z2.numel() > 0, "growth site ", name, ": no stored activations; run forward first");
    // Positions per sample: H W of a feature map, T of a token sequence (neurons on the last axis).
    const auto positions = [](const Shape& z, Index channels) {
      if (z.rank() <= 2) return Index{1};
      return detail::neuron_axis(z, channels) == 2 ? z[1] : z.inner_numel() / z[1];
    };
    const Index y1 = positions(z1, m.width);
    const Index y2 = positions(z2, consumer.weight().value.dim(0));
    m.flops_per_neuron = 2.0 * static_cast<double>(fan_in * y1) + 2.0 * static_cast<double>(fan_out * y2);
    return m;
  }

  /// What a growth controller reads (grow/controller.hpp), without growing: runs refresh() (forward,
  /// loss, backward on the grow batch), then takes costs(), the top `probe_k` singular values of
  /// GradMax's M, the mean gradient norm of the existing neurons' incoming weights, a new neuron's
  /// gradient norm per unit of sigma under GradMax's default norm rule (mean outgoing norm), and the
  /// singular values of the site's activations H / sqrt(n) (the last layer before the consumer that
  /// keeps the producer's channel layout; rows are samples, or samples x positions). Any device: the SVD
  /// on the network's, the activations' Gram matrix on the host.
  /// (models/ntk_measure.hpp measures the same fields from the neural tangent kernel instead.)
  grow::SiteMeasure measure(Index probe_k, const std::function<void()>& refresh,
                            const grow::PairDataOptions& options = {}) {
    using S = typename Net::scalar_type;
    using Producer = typename Net::template layer_type<P>;
    require(static_cast<bool>(refresh), "growth site ", name, ": measure needs refresh (forward, loss, backward)");
    require(probe_k >= 0, "growth site ", name, ": probe_k must be non-negative, got ", probe_k);
    refresh();
    auto& producer = net->template layer<P>();
    auto& consumer = net->template layer<C>();
    grow::SiteMeasure m = costs();
    const auto& w_out = consumer.weight().value;
    // Existing neurons: mean gradient norm of their incoming weights; mean outgoing norm.
    m.existing_gradient_norm =
        grow::detail::mean_of(ops::axis_norms<S>(producer.weight().grad.cview(), Producer::output_axis));
    const double mean_outgoing = grow::detail::mean_of(
        ops::axis_norms<S>(w_out.cview().reshape(grow::detail::consumer_blocks<Net, P, C>(*net, m.width)), 1));
    m.activation_singular_values = detail::activation_singular_values<P, C>(*net, m.width, name, options.mean_over_processes);
    // GradMax's M from this batch (before any other forward).
    const auto data = grow::data_from_last_backward<P, C>(*net, options);
    m.new_gradient_per_sigma = std::abs(grow::detail::slope_between<Net, P, C>(*net)) * data.gradient_scale() * mean_outgoing;
    const bool batch = !data.has_matrix() && data.has_batch();
    const Index rows = batch ? data.output_grads().dim(1) : data.matrix().dim(0);
    const Index cols = batch ? data.inputs().dim(1) : data.matrix().dim(1);
    const Index k = std::min(probe_k, std::min(rows, cols));
    m.gradient_singular_values = batch ? ops::svd_topk_of_product<S>(data.output_grads(), data.inputs(), k).sigma
                                       : ops::svd_topk<S>(data.matrix().cview(), k).sigma;
    return m;
  }

  /// Reserves capacity for `target_width` neurons, so growth up to it does not reallocate.
  void reserve(Index target_width) { grow::reserve_width<P, C>(*net, target_width); }
};

/// The site of pair (P, C) of `net`, named `name`.
template <std::size_t P, std::size_t C, class Net>
PairSite<Net, P, C> pair_site(Net& net, std::string name) {
  return PairSite<Net, P, C>{&net, std::move(name)};
}

/// Seed and target width of every site, and how many neurons each growth adds: the difference spread
/// over `growths` steps as evenly as possible (earlier growths take the remainder).
struct GrowthPlan {
  std::vector<std::string> names;  ///< site names, in network order
  /// Each site's seed and target width.
  ///@{
  std::vector<Index> seed, target;
  ///@}
  int growths = 1;  ///< number of growths
  /// Explicit neurons per site and growth (counts[i][g]), or empty for the even split.
  std::vector<std::vector<Index>> counts;

  std::size_t sites() const { return seed.size(); }  ///< number of sites

  /// Neurons site i gains at growth g (0-based).
  Index neurons(std::size_t i, int g) const {
    require(i < seed.size() && g >= 0 && g < growths, "GrowthPlan::neurons: site ", i, " growth ", g, " out of range");
    if (!counts.empty()) {
      const auto& c = counts.at(i);
      return static_cast<std::size_t>(g) < c.size() ? c[static_cast<std::size_t>(g)] : 0;
    }
    const Index total = target[i] - seed[i];
    const Index base = total / growths, extra = total % growths;
    return base + (g < extra ? 1 : 0);
  }
};

/// Width of a network from a base width and a multiplier, at least 1: the reference's int(w * m).
inline Index scaled_width(Index base, double multiplier) {
  return std::max<Index>(1, static_cast<Index>(static_cast<double>(base) * multiplier));
}

/// The plan from the widths a model has now to those of `target` (the same model built at the target
/// multiplier), in `growths` steps.
template <class Model>
GrowthPlan plan_growth(Model& seed_model, Model& target_model, int growths) {
  require(growths >= 1, "plan_growth: needs at least one growth, got ", growths);
  GrowthPlan plan;
  plan.growths = growths;
  seed_model.for_each_site([&](auto& site) {
    plan.names.push_back(site.name);
    plan.seed.push_back(site.width());
  });
  target_model.for_each_site([&](auto& site) { plan.target.push_back(site.width()); });
  require(plan.seed.size() == plan.target.size(), "plan_growth: the two models have different sites");
  for (std::size_t i = 0; i < plan.sites(); ++i)
    require(plan.target[i] >= plan.seed[i], "plan_growth: site ", plan.names[i], " would shrink from ", plan.seed[i],
            " to ", plan.target[i]);
  return plan;
}

/// The variance-transfer paper's plan (grow::geometric_widths): every site grows by `fraction` of its
/// current width per growth, rounded to even counts (`even`), until its target; growths = the longest
/// site's count (sites that arrive earlier then add 0).
template <class Model>
GrowthPlan plan_geometric_growth(Model& seed_model, Model& target_model, double fraction, bool even = true) {
  GrowthPlan plan = plan_growth(seed_model, target_model, 1);
  plan.growths = 1;
  for (std::size_t i = 0; i < plan.sites(); ++i) {
    std::vector<Index> c;
    Index w = plan.seed[i];
    for (const Index next : grow::geometric_widths(plan.seed[i], plan.target[i], fraction, even)) {
      c.push_back(next - w);
      w = next;
    }
    plan.growths = std::max(plan.growths, static_cast<int>(c.size()));
    plan.counts.push_back(std::move(c));
  }
  return plan;
}

/// Growth number g of the plan: every site in network order (the reference's AllAtOnce updater).
template <class Model, class Init>
std::vector<grow::GrowthReport> grow_all_sites(Model& model, const GrowthPlan& plan, int g, const Init& init, Rng& rng,
                                               const std::function<void()>& refresh = {},
                                               const grow::PairDataOptions& options = {}) {
  std::vector<grow::GrowthReport> reports;
  std::size_t i = 0;
  model.for_each_site([&](auto& site) {
    const Index k = plan.neurons(i++, g);
    if (k > 0) reports.push_back(site.grow(k, init, rng, refresh, options));
  });
  return reports;
}

/// One-shot expansion (LEMON, grow::Lemon): every site of `model` grows to its width in `target` (the same
/// model built at the target size) in a single growth.
template <class Model, class Init>
std::vector<grow::GrowthReport> expand_all_sites(Model& model, Model& target, const Init& init, Rng& rng,
                                                 const std::function<void()>& refresh = {}) {
  return grow_all_sites(model, plan_growth(model, target, 1), 0, init, rng, refresh);
}

/// Grows only site `index` by k neurons (round-robin schedules).
template <class Model, class Init>
grow::GrowthReport grow_site(Model& model, std::size_t index, Index k, const Init& init, Rng& rng,
                             const std::function<void()>& refresh = {}, const grow::PairDataOptions& options = {}) {
  grow::GrowthReport report;
  std::size_t i = 0;
  bool found = false;
  model.for_each_site([&](auto& site) {
    if (i++ == index) {
      report = site.grow(k, init, rng, refresh, options);
      found = true;
    }
  });
  require(found, "grow_site: site ", index, " does not exist (the model has ", i, " sites)");
  return report;
}

}  // namespace netgrow::models
