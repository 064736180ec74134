/// \file
/// netgrow/grow/schedule.hpp: when to grow and by how much.
///
/// GrowthSchedule follows the GradMax reference's Updater: a step is a growth step when
///     step % interval == 0  and  start <= step  and  growths so far < max_growths
/// with start defaulting to interval and max_growths to unlimited; record_growth() counts a growth.
/// Round-robin growth picks one pair per growth step in cyclic order (RoundRobin); all-at-once grows
/// every pair at each growth step (grow_all_at_once) and counts one growth.
/// Neurons per growth: neurons_per_growth(w0, fraction) = max(1, floor(w0 * fraction)) from the seed
/// width (the reference's n_grow_fraction), or split_evenly(target - seed, growths).
///
/// The variance-transfer paper's schedule (Yuan et al., NeurIPS 2023): widths grow by a fraction of the
/// current width, rounded to an even number (geometric_widths: C_t = C_{t-1} + round_even(p_c C_{t-1}),
/// from a quarter of the target), at steps whose intervals lengthen (lengthening_steps: T_t = T_{t-1} +
/// round(p_T T_{t-1})); GrowthSchedule::at_steps runs such a list.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"

namespace netgrow::grow {

/// When to grow: every `interval` steps from `start` (default: interval), at most `max_growths` times
/// (default: unlimited); see the file comment.
class GrowthSchedule {
 public:
  /// Throws for interval <= 0, start < 0 or max_growths < 0.
  explicit GrowthSchedule(std::int64_t interval, std::optional<std::int64_t> start = std::nullopt,
                          std::optional<std::int64_t> max_growths = std::nullopt)
      : interval_(interval), start_(start.value_or(interval)), max_growths_(max_growths) {
    require(interval > 0, "GrowthSchedule: interval must be positive, got ", interval);
    require(start_ >= 0, "GrowthSchedule: start must be non-negative, got ", start_);
    require(!max_growths || *max_growths >= 0, "GrowthSchedule: max_growths must be non-negative");
  }

  /// Growth at the given steps (non-decreasing, >= 0): due(step) when the next listed step has come
  /// (step >= it), so a loop that checks every step grows exactly there. interval() is 0 for it.
  static GrowthSchedule at_steps(std::vector<std::int64_t> steps) {
    for (std::size_t i = 0; i < steps.size(); ++i)
      require(steps[i] >= 0 && (i == 0 || steps[i] >= steps[i - 1]),
              "GrowthSchedule::at_steps: steps must be non-negative and non-decreasing, got ", steps[i], " at ", i);
    GrowthSchedule s(1, 0, static_cast<std::int64_t>(steps.size()));
    s.start_ = steps.empty() ? 0 : steps[0];
    s.steps_ = std::move(steps);
    s.listed_ = true;
    return s;
  }

  /// True when `step` is a growth step given the growths recorded so far.
  bool due(std::int64_t step) const {
    if (listed_)
      return growths_ < static_cast<std::int64_t>(steps_.size()) && step >= steps_[static_cast<std::size_t>(growths_)];
    return step % interval_ == 0 && start_ <= step && (!max_growths_ || growths_ < *max_growths_);
  }
  void record_growth() { ++growths_; }  ///< counts one growth (call after growing at a due() step)

  std::int64_t growths() const { return growths_; }  ///< growths recorded so far
  /// Sets the growth count (resuming from a checkpoint); throws for n < 0.
  void set_growths(std::int64_t n) {
    require(n >= 0, "GrowthSchedule::set_growths: negative count ", n);
    growths_ = n;
  }
  std::int64_t interval() const { return listed_ ? 0 : interval_; }         ///< steps between growths
  const std::vector<std::int64_t>& steps() const { return steps_; }         ///< at_steps: the listed steps
  std::int64_t start() const { return start_; }                             ///< the first growth step
  std::optional<std::int64_t> max_growths() const { return max_growths_; }  ///< the cap, if any

 private:
  std::int64_t interval_;
  std::int64_t start_;
  std::optional<std::int64_t> max_growths_;
  std::int64_t growths_ = 0;
  std::vector<std::int64_t> steps_;  // at_steps: the growth steps
  bool listed_ = false;
};

/// Cycles through n pairs: 0, 1, ..., n - 1, 0, ...
class RoundRobin {
 public:
  /// Cycles through `pairs` (> 0) pairs, starting at pair 0.
  explicit RoundRobin(std::size_t pairs) : pairs_(pairs) {
    require(pairs > 0, "RoundRobin: needs at least one pair");
  }
  std::size_t next() { return counter_++ % pairs_; }      ///< the pair to grow now; advances
  std::size_t peek() const { return counter_ % pairs_; }  ///< the pair next() returns, without advancing
  std::size_t counter() const { return counter_; }        ///< next() calls so far
  void set_counter(std::size_t c) { counter_ = c; }       ///< sets the call count (resuming from a checkpoint)

 private:
  std::size_t pairs_;
  std::size_t counter_ = 0;
};

/// max(1, floor(initial_width * fraction)): neurons a pair gains per growth.
inline Index neurons_per_growth(Index initial_width, double fraction) {
  require(initial_width > 0 && fraction > 0, "neurons_per_growth: width and fraction must be positive, got ",
          initial_width, " and ", fraction);
  const auto n = static_cast<Index>(static_cast<double>(initial_width) * fraction);
  return n < 1 ? 1 : n;
}

/// `total` neurons over `growths` growths, the remainder going to the earliest ones.
inline std::vector<Index> split_evenly(Index total, Index growths) {
  require(total >= 0 && growths > 0, "split_evenly: need total >= 0 and growths > 0, got ", total, " and ", growths);
  std::vector<Index> ks(static_cast<std::size_t>(growths), total / growths);
  for (Index i = 0; i < total % growths; ++i) ++ks[static_cast<std::size_t>(i)];
  return ks;
}

/// x rounded to the nearest even integer (ties away from zero on the halves: 3 -> 4, 5 -> 6).
inline Index round_to_even(double x) {
  return 2 * static_cast<Index>(std::llround(x / 2));
}

/// The variance-transfer paper's widths from `seed` to `target`: C_t = C_{t-1} + max(step, r(fraction
/// C_{t-1})) with r rounding to the nearest even number (any integer when even = false) and step 2 (1),
/// capped at target. Returns the widths after each growth (the last is target; empty when seed ==
/// target). With the paper's fraction 0.2 a quarter-width seed reaches its target in about 8 growths.
inline std::vector<Index> geometric_widths(Index seed, Index target, double fraction, bool even = true) {
  require(seed > 0 && target >= seed, "geometric_widths: need 0 < seed <= target, got ", seed, " and ", target);
  require(fraction > 0 && std::isfinite(fraction), "geometric_widths: fraction must be positive, got ", fraction);
  std::vector<Index> widths;
  const Index min_step = even ? 2 : 1;
  for (Index w = seed; w < target;) {
    const double grow = fraction * static_cast<double>(w);
    const Index step = std::max(min_step, even ? round_to_even(grow) : static_cast<Index>(std::llround(grow)));
    w = std::min(target, w + step);
    widths.push_back(w);
  }
  return widths;
}

/// `count` growth steps whose intervals lengthen: T_0 = first, T_t = T_{t-1} + max(1, round(rate T_{t-1}))
/// (the variance-transfer paper's rule, in steps instead of epochs; rate 0 gives consecutive steps, so a
/// fixed interval is GrowthSchedule's job).
inline std::vector<std::int64_t> lengthening_steps(std::int64_t first, double rate, std::int64_t count) {
  require(first >= 0 && count >= 0, "lengthening_steps: need first >= 0 and count >= 0, got ", first, " and ", count);
  require(rate >= 0 && std::isfinite(rate), "lengthening_steps: rate must be non-negative, got ", rate);
  std::vector<std::int64_t> steps;
  std::int64_t t = first;
  for (std::int64_t i = 0; i < count; ++i) {
    steps.push_back(t);
    t += std::max<std::int64_t>(1, std::llround(rate * static_cast<double>(t)));
  }
  return steps;
}

}  // namespace netgrow::grow
