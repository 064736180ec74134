/// \file
/// netgrow/prune/dynamic_sparse.hpp: dynamic sparse training, SET (Mocanu et al. 2018) and RigL (Evci et
/// al. 2020): the parameter count stays fixed while connections move. Every `every` steps until
/// `end_step`, each masked parameter drops the fraction
///     f(t) = fraction / 2 (1 + cos(pi t / end_step))
/// of its active entries with the smallest |w| and regrows as many among the entries that were inactive
/// before the update (the ones just dropped are not regrown): at random (SET) or with the largest
/// |dL/dw| of the last backward pass (RigL; backward writes the dense gradient, prune/mask.hpp).
/// Regrown weights start at 0 with zero optimizer state (RigL's rule; used for SET too, so the two
/// differ only in where they regrow); dropped weights and their state are zeroed by the mask.
///
/// Call update() after backward() and before the optimizer step:
/// ~~~
///   net.backward(grad);
///   dst.update(net, step);      // moves connections on its steps
///   sgd.step(net);
/// ~~~
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

#include "netgrow/core/rng.hpp"
#include "netgrow/layers/parameter_growth.hpp"
#include "netgrow/prune/mask.hpp"

namespace netgrow::prune {

/// Where dynamic sparse training regrows connections.
enum class Regrow {
  random,    ///< SET: uniformly among the inactive entries
  gradient,  ///< RigL: the inactive entries with the largest gradient magnitude
};

/// DynamicSparse's settings.
struct DynamicSparseOptions {
  Regrow regrow = Regrow::gradient;   ///< SET or RigL
  double fraction = 0.3;              ///< drop/regrow fraction at step 0, decaying by a cosine to 0 at end_step
  std::int64_t every = 100;           ///< steps between updates
  std::int64_t end_step = 0;          ///< no updates from here on (e.g. 3/4 of training); > 0
  std::uint64_t seed = 0;             ///< SET's draws and ties
};

/// One update's record.
struct DynamicSparseUpdate {
  std::int64_t step = 0;    ///< training step
  double fraction = 0;      ///< f(step)
  Index moved = 0;          ///< connections dropped (= regrown) over all parameters
  Index active = 0;         ///< active entries after the update (unchanged by it)
};

/// SET / RigL over the masked parameters of a network (see the file comment).
class DynamicSparse {
 public:
  /// ArgumentError for a fraction outside [0, 1], every < 1 or end_step < 1.
  explicit DynamicSparse(DynamicSparseOptions options) : options_(options), rng_(options.seed) {
    require(options.fraction >= 0 && options.fraction <= 1, "DynamicSparse: fraction must be in [0, 1], got ",
            options.fraction);
    require(options.every >= 1 && options.end_step >= 1, "DynamicSparse: every and end_step must be positive");
  }

  /// The drop fraction at `step` (0 from end_step on).
  double fraction(std::int64_t step) const {
    if (step >= options_.end_step) return 0;
    return options_.fraction / 2 *
           (1 + std::cos(std::numbers::pi * static_cast<double>(step) / static_cast<double>(options_.end_step)));
  }

  /// True when `step` is an update step (a positive multiple of `every` before end_step).
  bool due(std::int64_t step) const { return step > 0 && step < options_.end_step && step % options_.every == 0; }

  /// On update steps, moves connections of every masked parameter of `net` (after backward(), before
  /// the optimizer step; RigL reads the gradients); returns whether it did. Any device: a device
  /// network's masked parameters are copied to the host and back on update steps.
  template <class Net>
  bool update(Net& net, std::int64_t step) {
    if (!due(step)) return false;
    DynamicSparseUpdate u{.step = step, .fraction = fraction(step)};
    net.visit_parameters([&](const std::string& name, auto& p) {
      if (p.mask.empty()) return;
      u.moved += move_connections(p, u.fraction, name);
      u.active += active_count(p);
    });
    log_.push_back(u);
    return true;
  }

  /// Every update so far.
  const std::vector<DynamicSparseUpdate>& log() const { return log_; }
  const DynamicSparseOptions& options() const { return options_; }  ///< the settings

 private:
  // Moves p's connections; a device parameter's on host copies of its value, mask, gradient and optimizer
  // state (copied back when anything moved: one transfer each way per update).
  template <class S, class D>
  Index move_connections(Parameter<S, D>& p, double f, const std::string& name) {
    if constexpr (std::same_as<D, Cpu>) {
      return move_on_host(p.value, p.mask, p.grad, p.state, f, name);
    } else {
      Tensor<S, Cpu> value = host_copy(p.value.cview()), mask = host_copy(p.mask.cview());
      const bool reads_grad = options_.regrow == Regrow::gradient && p.grad.shape() == p.value.shape();
      const Tensor<S, Cpu> grad = reads_grad ? host_copy(p.grad.cview()) : Tensor<S, Cpu>();
      std::vector<Tensor<S, Cpu>> state;
      for (const auto& s : p.state) state.push_back(host_copy(s.cview()));
      const Index k = move_on_host(value, mask, grad, state, f, name);
      if (k > 0) {
        grow::copy_between<S>(value.cview(), p.value.view());
        grow::copy_between<S>(mask.cview(), p.mask.view());
        for (std::size_t i = 0; i < state.size(); ++i) grow::copy_between<S>(state[i].cview(), p.state[i].view());
      }
      return k;
    }
  }

  template <class S>
  Index move_on_host(Tensor<S, Cpu>& value, Tensor<S, Cpu>& mask, const Tensor<S, Cpu>& grad,
                     std::vector<Tensor<S, Cpu>>& state, double f, const std::string& name) {
    const Index n = value.numel();
    std::vector<Index> on, off;
    for (Index i = 0; i < n; ++i) (mask.data()[i] != S(0) ? on : off).push_back(i);
    const Index k = std::min<Index>(static_cast<Index>(std::floor(f * static_cast<double>(on.size()))),
                                    static_cast<Index>(off.size()));
    if (k <= 0) return 0;
    require(options_.regrow != Regrow::gradient || grad.shape() == value.shape(), "DynamicSparse (RigL): parameter ",
            name, " has no gradient; call update() after backward()");
    // Drop: the k active entries of smallest |w| (ties: lower index first).
    const auto smaller = [&](Index a, Index b) {
      const S wa = std::abs(value.data()[a]), wb = std::abs(value.data()[b]);
      return wa != wb ? wa < wb : a < b;
    };
    std::nth_element(on.begin(), on.begin() + (k - 1), on.end(), smaller);
    // Regrow: k of the previously inactive entries.
    if (options_.regrow == Regrow::random) {
      for (Index j = 0; j < k; ++j) {  // partial Fisher-Yates
        const Index r = j + static_cast<Index>(rng_.uniform() * static_cast<double>(off.size() - j));
        std::swap(off[j], off[std::min<Index>(r, static_cast<Index>(off.size()) - 1)]);
      }
    } else {
      const auto larger_grad = [&](Index a, Index b) {
        const S ga = std::abs(grad.data()[a]), gb = std::abs(grad.data()[b]);
        return ga != gb ? ga > gb : a < b;
      };
      std::nth_element(off.begin(), off.begin() + (k - 1), off.end(), larger_grad);
    }
    for (Index j = 0; j < k; ++j) {
      const Index drop = on[j], grow = off[j];
      mask.data()[drop] = S(0);
      value.data()[drop] = S(0);
      mask.data()[grow] = S(1);
      value.data()[grow] = S(0);
      for (auto& s : state) s.data()[drop] = s.data()[grow] = S(0);
    }
    return k;
  }

  DynamicSparseOptions options_;
  Rng rng_;
  std::vector<DynamicSparseUpdate> log_;
};

}  // namespace netgrow::prune
