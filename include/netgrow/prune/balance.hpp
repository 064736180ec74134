/// \file
/// netgrow/prune/balance.hpp: balanced sparse GAN training (DDST, Wang et al. 2023, "Double Dynamic
/// Sparse Training for GANs" / "Balanced Training for Sparse GANs"): the balance ratio between a
/// generator G and a discriminator D, and a controller that keeps it in a band by changing D's density.
///
/// ~~~{.unparsed}
///   balance ratio   BR = mean over a window of (D(G'(z)) - D(G(z))) / (D(x) - D(G(z))), D's raw outputs
///                   (logits) averaged over a batch: D(x) on real images and D(G(z)) after D's update,
///                   D(G'(z)) on the same z after G's update. How much of the gap between real and fake
///                   that D opens G closes in one step: near 0, D dominates; near 1 (or above), G does.
///   SDST            dynamic sparse training of G alone (prune/dynamic_sparse.hpp), D dense or static
///   DDST            SDST, and every `every` steps D's density moves by `step`: up when BR >= upper (D
///                   too weak to guide G), down when BR <= lower (D too strong), within [min_density,
///                   max_density]. Up: regrows inactive entries uniformly at random over all of D's
///                   masked parameters (at 0, optimizer state 0); down: drops the active entries of
///                   smallest |w| over all of them (global magnitude pruning).
/// ~~~
///
/// The band has no default: BR's scale depends on the pair, the loss and the learning rates (a small
/// DCGAN at Adam 2e-4 sits near 0.1, examples/gan_fashion); measure the dense pair's BR and centre the
/// band on it. The step 0.05 and the density range [0.05, 1] are this library's defaults (the paper's
/// strict variant caps D's density at 0.5).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "netgrow/core/rng.hpp"
#include "netgrow/prune/mask.hpp"

namespace netgrow::prune {

/// The balance ratio over a sliding window of steps (see the file comment).
class BalanceRatio {
 public:
  /// `window`: how many recorded steps the mean covers (>= 1).
  explicit BalanceRatio(std::size_t window = 100) : window_(window) {
    require(window >= 1, "BalanceRatio: window must be at least 1");
  }

  /// Records one step: d_real = mean D(x), d_fake = mean D(G(z)) after D's update, d_fake_after = mean
  /// D(G'(z)) after G's update, same z. A step with d_real == d_fake (no gap) is skipped (its ratio is
  /// undefined); returns whether it was recorded.
  bool record(double d_real, double d_fake, double d_fake_after) {
    require(std::isfinite(d_real) && std::isfinite(d_fake) && std::isfinite(d_fake_after),
            "BalanceRatio::record: non-finite discriminator outputs");
    if (d_real == d_fake) return false;
    ratios_.push_back((d_fake_after - d_fake) / (d_real - d_fake));
    if (ratios_.size() > window_) ratios_.pop_front();
    return true;
  }

  /// The mean ratio over the window (NaN before the first record).
  double value() const {
    if (ratios_.empty()) return std::nan("");
    double s = 0;
    for (double r : ratios_) s += r;
    return s / static_cast<double>(ratios_.size());
  }
  bool full() const { return ratios_.size() == window_; }  ///< the window holds `window` steps
  std::size_t size() const { return ratios_.size(); }      ///< steps in the window

 private:
  std::size_t window_;
  std::deque<double> ratios_;
};

/// Active and total entries of `net`'s masked parameters, taken together.
template <class Net>
std::pair<Index, Index> masked_entries(Net& net) {
  Index active = 0, total = 0;
  net.visit_parameters([&](const std::string&, auto& p) {
    if (p.mask.empty()) return;
    active += active_count(p);
    total += p.numel();
  });
  return {active, total};
}

/// Sets the density of `net`'s masked parameters, taken together, to `target` (fraction of their
/// entries, in [0, 1]): drops the active entries of smallest |w| (ties: earlier parameter in visit order,
/// then lower index), or regrows inactive entries uniformly at random (drawn from rng) at 0 with
/// optimizer state 0. Returns the active count after; the count is round(target x total). Any device:
/// a Cpu network's parameters change in place; a device network's masked values, masks and optimizer
/// state are worked on in host copies, and those that changed are copied back.
template <class Net>
Index set_global_density(Net& net, double target, Rng& rng) {
  require(target >= 0 && target <= 1, "prune::set_global_density: density must be in [0, 1], got ", target);
  using S = typename Net::scalar_type;
  using D = typename Net::device_type;
  // One masked parameter's value, mask and optimizer state as host arrays: its own on the Cpu; on another
  // device host copies (value, mask, then each state tensor) that are written back when changed.
  struct HostParameter {
    Parameter<S, D>* p = nullptr;
    std::vector<Tensor<S, Cpu>> copies;
    S* value = nullptr;
    S* mask = nullptr;
    std::vector<S*> state;
    bool changed = false;
  };
  struct Entry {
    std::size_t param;
    Index i;
  };
  std::vector<HostParameter> params;
  std::vector<Entry> on, off;
  Index total = 0;
  net.visit_parameters([&](const std::string&, Parameter<S, D>& p) {
    if (p.mask.empty()) return;
    HostParameter host;
    host.p = &p;
    if constexpr (std::same_as<D, Cpu>) {
      host.value = p.value.data();
      host.mask = p.mask.data();
      for (auto& t : p.state) host.state.push_back(t.data());
    } else {
      host.copies.push_back(host_copy(p.value.cview()));
      host.copies.push_back(host_copy(p.mask.cview()));
      for (const auto& t : p.state) host.copies.push_back(host_copy(t.cview()));
      host.value = host.copies[0].data();
      host.mask = host.copies[1].data();
      for (std::size_t i = 2; i < host.copies.size(); ++i) host.state.push_back(host.copies[i].data());
    }
    total += p.numel();
    for (Index i = 0; i < p.numel(); ++i) (host.mask[i] != S(0) ? on : off).push_back({params.size(), i});
    params.push_back(std::move(host));
  });
  require(total > 0, "prune::set_global_density: the network has no masked parameter (prune::enable_masks)");
  const Index want = static_cast<Index>(std::llround(target * static_cast<double>(total)));
  const auto set = [&](const Entry& e, S mask) {
    HostParameter& p = params[e.param];
    p.mask[e.i] = mask;
    p.value[e.i] = S(0);
    for (S* s : p.state) s[e.i] = S(0);
    p.changed = true;
  };
  const Index active = static_cast<Index>(on.size());
  if (want < active) {
    const Index k = active - want;
    std::nth_element(on.begin(), on.begin() + (k - 1), on.end(), [&](const Entry& a, const Entry& b) {
      const S wa = std::abs(params[a.param].value[a.i]), wb = std::abs(params[b.param].value[b.i]);
      if (wa != wb) return wa < wb;
      return a.param != b.param ? a.param < b.param : a.i < b.i;
    });
    for (Index j = 0; j < k; ++j) set(on[static_cast<std::size_t>(j)], S(0));
  } else if (want > active) {
    const Index k = want - active;
    for (Index j = 0; j < k; ++j) {  // partial Fisher-Yates
      const Index r = j + static_cast<Index>(rng.uniform() * static_cast<double>(static_cast<Index>(off.size()) - j));
      std::swap(off[static_cast<std::size_t>(j)], off[static_cast<std::size_t>(std::min<Index>(r, static_cast<Index>(off.size()) - 1))]);
      set(off[static_cast<std::size_t>(j)], S(1));
    }
  }
  if constexpr (!std::same_as<D, Cpu>) {
    for (HostParameter& p : params) {
      if (!p.changed) continue;
      grow::copy_between<S>(p.copies[0].cview(), p.p->value.view());
      grow::copy_between<S>(p.copies[1].cview(), p.p->mask.view());
      for (std::size_t i = 0; i < p.p->state.size(); ++i)
        grow::copy_between<S>(p.copies[i + 2].cview(), p.p->state[i].view());
    }
  }
  return want;
}

/// DDST's density controller's settings (see the file comment).
struct DensityBalanceOptions {
  double lower = std::nan("");  ///< BR at or below: D's density goes down (required)
  double upper = std::nan("");  ///< BR at or above: D's density goes up (required)
  double step = 0.05;         ///< density change per adjustment
  double min_density = 0.05;  ///< D's density stays within [min_density, max_density]
  double max_density = 1.0;   ///< (the paper's strict DDST: 0.5)
  std::int64_t every = 100;   ///< steps between adjustments (once the BR window is full)
  std::uint64_t seed = 0;     ///< regrowth draws
};

/// One adjustment's record.
struct DensityAdjustment {
  std::int64_t step = 0;
  double balance_ratio = 0;
  double density_before = 0, density_after = 0;
};

/// Keeps BR in [lower, upper] by changing D's density (DDST; see the file comment).
class DensityBalancer {
 public:
  /// ArgumentError unless lower and upper are set with lower < upper, 0 <= min_density <= max_density <= 1,
  /// step > 0 and every >= 1.
  explicit DensityBalancer(DensityBalanceOptions o) : o_(o), rng_(o.seed) {
    require(o.min_density >= 0 && o.min_density <= o.max_density && o.max_density <= 1,
            "DensityBalancer: need 0 <= min_density <= max_density <= 1, got ", o.min_density, " and ", o.max_density);
    require(std::isfinite(o.lower) && std::isfinite(o.upper), "DensityBalancer: set the balance ratio's band "
                                                              "(lower, upper), e.g. around the dense pair's BR");
    require(o.lower < o.upper && o.step > 0 && o.every >= 1, "DensityBalancer: need lower < upper, step > 0 and "
                                                             "every >= 1");
  }

  /// On adjustment steps (step > 0, a multiple of every, the window full), moves `discriminator`'s
  /// density by one step toward the band; returns whether it changed the masks. Call after the
  /// generator's step, before the next discriminator step.
  template <class Net>
  bool update(Net& discriminator, std::int64_t step, const BalanceRatio& br) {
    if (step <= 0 || step % o_.every != 0 || !br.full()) return false;
    const auto [active, total] = masked_entries(discriminator);
    require(total > 0, "DensityBalancer: the discriminator has no masked parameter (prune::enable_masks)");
    const double d = static_cast<double>(active) / static_cast<double>(total), ratio = br.value();
    double target = d;
    if (ratio >= o_.upper) target = std::min(o_.max_density, d + o_.step);
    else if (ratio <= o_.lower) target = std::max(o_.min_density, d - o_.step);
    if (std::abs(target - d) * static_cast<double>(total) < 0.5) return false;
    set_global_density(discriminator, target, rng_);
    log_.push_back({step, ratio, d, target});
    return true;
  }

  const std::vector<DensityAdjustment>& log() const { return log_; }  ///< every adjustment so far
  const DensityBalanceOptions& options() const { return o_; }        ///< the settings

 private:
  DensityBalanceOptions o_;
  Rng rng_;
  std::vector<DensityAdjustment> log_;
};

}  // namespace netgrow::prune
