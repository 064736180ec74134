/// \file
/// netgrow/prune/mask.hpp: sparsity masks on a network's weights. A mask lives in its Parameter
/// (Parameter::mask: value's shape, entries 0 or 1, empty = dense) and travels with it: the optimizers
/// keep masked weights and their state at 0 (ops/optim.hpp), width growth extends it
/// (Parameter::mask_growth: new neurons dense, or at the parameter's density), checkpoints store it
/// ("<name>.mask"), dist::broadcast_network and dist::network_hash include it.
///
/// Depth growth adds layers whose weights have no mask (dense); prune::enable_masks gives them one.
/// Function preservation under growth: with MaskGrowth::dense it is untouched. With layer_density the
/// new entries that draw 0 are set to 0, which keeps the function for initializers whose new neurons
/// are silent on one side (GradMax, Random: zero outgoing or incoming weights) and not for those that
/// split existing neurons (Split, LEMON).
///
/// Masked forward and backward need nothing from the layers: a masked weight is 0, so the forward pass
/// and the input gradient are those of the sparse network; backward writes the dense weight gradient
/// (RigL's regrowth reads it) and the optimizer ignores it where the mask is 0.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "netgrow/core/error.hpp"
#include "netgrow/layers/parameter.hpp"
#include "netgrow/layers/parameter_growth.hpp"
#include "netgrow/ops/mask.hpp"

namespace netgrow::prune {

/// Which parameters pruning and sparse training act on: f(name, parameter shape) -> bool.
using Selector = std::function<bool(std::string_view name, const Shape& shape)>;

/// The default Selector: parameters named "weight" (or "...weight") of rank 2 or more: Dense and Conv2d
/// weights, attention projections; not biases, normalisation parameters or running statistics.
inline bool weight_matrices(std::string_view name, const Shape& shape) {
  return shape.rank() >= 2 && name.size() >= 6 && name.substr(name.size() - 6) == "weight";
}

/// Entries of p that train: the mask's ones, or every entry without a mask.
template <class S, class D>
Index active_count(const Parameter<S, D>& p) {
  if (p.mask.empty()) return p.numel();
  return static_cast<Index>(ops::squared_norm<S>(p.mask) + 0.5);  // entries 0 or 1
}

/// active_count / numel (1 for an empty parameter).
template <class S, class D>
double density(const Parameter<S, D>& p) {
  return p.numel() == 0 ? 1.0 : static_cast<double>(active_count(p)) / static_cast<double>(p.numel());
}

/// p's mask on the host, all ones when it has none.
template <class S, class D>
Tensor<S, Cpu> mask_on_host(const Parameter<S, D>& p) {
  if (!p.mask.empty()) return host_copy(p.mask.cview());
  Tensor<S, Cpu> ones(p.value.shape());
  std::fill_n(ones.data(), ones.numel(), S(1));
  return ones;
}

/// Sets p's mask to `mask` (host, p's shape, entries 0 or 1) and zeroes the value and every optimizer
/// state tensor where it is 0. ShapeError for another shape, ArgumentError for another entry; p is
/// unchanged then. `name` only labels the errors.
template <class S, class D>
void set_mask(Parameter<S, D>& p, const Tensor<S, Cpu>& mask, std::string_view name = "") {
  require<ShapeError>(mask.shape() == p.value.shape(), "prune::set_mask: mask ", mask.shape(), " for parameter ",
                      name, " of shape ", p.value.shape());
  for (Index i = 0; i < mask.numel(); ++i)
    require(mask.data()[i] == S(0) || mask.data()[i] == S(1), "prune::set_mask: mask of parameter ", name,
            " has entry ", static_cast<double>(mask.data()[i]), " at ", i, " (entries must be 0 or 1)");
  Tensor<S, D> m = grow::host_to<D>(mask.clone());
  ops::apply_mask<S>(m.cview(), p.value.view());
  for (auto& s : p.state)
    if (s.shape() == p.value.shape()) ops::apply_mask<S>(m.cview(), s.view());
  p.mask = std::move(m);
}

/// Removes p's mask: every entry trains again (pruned ones from 0).
template <class S, class D>
void clear_mask(Parameter<S, D>& p) {
  p.mask = Tensor<S, D>();
}

/// How enable_masks sets up the masks.
struct MaskOptions {
  Selector select = weight_matrices;           ///< which parameters get a mask
  MaskGrowth growth = MaskGrowth::dense;       ///< what width growth appends (Parameter::mask_growth)
  std::uint64_t seed = 0;                      ///< Parameter::mask_seed (each parameter: seed + its index)
};

/// Gives every selected parameter of `net` a mask: all ones where it has none, its own where it has one.
/// Returns how many parameters are masked.
template <class Net>
int enable_masks(Net& net, const MaskOptions& options = {}) {
  int count = 0;
  net.visit_parameters([&](const std::string& name, auto& p) {
    if (!options.select(name, p.value.shape())) return;
    if (p.mask.empty()) set_mask(p, mask_on_host(p), name);
    p.mask_growth = options.growth;
    p.mask_seed = options.seed + static_cast<std::uint64_t>(count);
    ++count;
  });
  return count;
}

/// Active and total entries of one parameter.
struct ParameterDensity {
  std::string name;  ///< as visit_parameters names it
  Index active = 0;  ///< entries that train
  Index total = 0;   ///< numel
  bool masked = false;
};

/// The selected parameters' densities.
struct DensityReport {
  std::vector<ParameterDensity> parameters;  ///< in visit order
  Index active = 0, total = 0;               ///< sums over `parameters`
  /// active / total over the selected parameters.
  double density() const { return total == 0 ? 1.0 : static_cast<double>(active) / static_cast<double>(total); }
};

/// Densities of the parameters `select` picks (every masked parameter is picked by the default).
template <class Net>
DensityReport density_report(Net& net, const Selector& select = weight_matrices) {
  DensityReport r;
  net.visit_parameters([&](const std::string& name, auto& p) {
    if (!select(name, p.value.shape()) && p.mask.empty()) return;
    const Index active = active_count(p);
    r.parameters.push_back({name, active, p.numel(), !p.mask.empty()});
    r.active += active;
    r.total += p.numel();
  });
  return r;
}

/// Trainable entries of the whole network: every parameter's active_count (trainable ones only).
template <class Net>
Index active_parameter_count(Net& net) {
  Index n = 0;
  net.visit_parameters([&](const std::string&, auto& p) {
    if (p.trainable) n += active_count(p);
  });
  return n;
}

}  // namespace netgrow::prune
