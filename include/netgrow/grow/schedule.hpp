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
#pragma once

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

  /// True when `step` is a growth step given the growths recorded so far.
  bool due(std::int64_t step) const {
    return step % interval_ == 0 && start_ <= step && (!max_growths_ || growths_ < *max_growths_);
  }
  void record_growth() { ++growths_; }  ///< counts one growth (call after growing at a due() step)

  std::int64_t growths() const { return growths_; }  ///< growths recorded so far
  /// Sets the growth count (resuming from a checkpoint); throws for n < 0.
  void set_growths(std::int64_t n) {
    require(n >= 0, "GrowthSchedule::set_growths: negative count ", n);
    growths_ = n;
  }
  std::int64_t interval() const { return interval_; }                       ///< steps between growths
  std::int64_t start() const { return start_; }                             ///< the first growth step
  std::optional<std::int64_t> max_growths() const { return max_growths_; }  ///< the cap, if any

 private:
  std::int64_t interval_;
  std::int64_t start_;
  std::optional<std::int64_t> max_growths_;
  std::int64_t growths_ = 0;
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

}  // namespace netgrow::grow
