/// \file
/// netgrow/io/growth_history.hpp: the record of how a network grew: which neurons (or blocks) were
/// added where, at which training step. A training loop appends to it after each growth, and
/// checkpoints save and restore it (io/checkpoint.hpp) beside the weights, so a resumed run knows
/// which slices of each weight are original and which were grown when.
///
/// ~~~
/// GrowthHistory history;
/// auto report = site.grow(k, grow::GradMax{}, rng, refresh);    // grow::GrowthReport
/// history.record(step, report, site.name);
/// // per-slice analysis: columns [e.old_width, e.new_width) of the consumer are the new neurons
/// for (const GrowthEvent& e : history.events()) ...
/// ~~~
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"
#include "netgrow/grow/controller.hpp"

namespace netgrow::io {

/// What grew: a producer/consumer pair's width, a Stack's depth, an attention layer's heads, or a
/// transformer's model width (its residual stream).
enum class GrowthKind { width, depth, heads, stream };

/// "width", "depth", "heads", "stream".
inline const char* growth_kind_name(GrowthKind k) {
  switch (k) {
    case GrowthKind::width: return "width";
    case GrowthKind::depth: return "depth";
    case GrowthKind::heads: return "heads";
    case GrowthKind::stream: return "stream";
  }
  return "width";
}

/// One growth.
struct GrowthEvent {
  std::int64_t step = 0;  ///< the training step after which the network grew
  std::string site;       ///< the growth site's name ("fc1", "group1.block0"); may be empty
  /// Width or depth growth.
  GrowthKind kind = GrowthKind::width;
  /// width: the layer indices of the grown pair (in the Sequential that holds them); outputs
  ///        [old_width, new_width) of the producer and the same inputs of the consumer are new.
  /// depth: producer == consumer == the position of the inserted block; old_width and new_width
  ///        are the block counts before and after.
  /// heads: producer == consumer == the block whose attention grew (0 for a lone layer); old_width
  ///        and new_width are the head counts.
  /// stream: producer == consumer == 0; old_width and new_width are the model widths d.
  ///@{
  std::size_t producer = 0, consumer = 0;
  Index old_width = 0, new_width = 0;
  ///@}

  /// Member-wise equality.
  friend bool operator==(const GrowthEvent&, const GrowthEvent&) = default;
};

/// The growths of a run, in the order they were recorded; saved in checkpoints (TrainingState::history).
class GrowthHistory {
 public:
  /// Records a width growth from its report: grow::GrowthReport, or anything with producer, consumer,
  /// old_width and new_width.
  template <class Report>
    requires requires(const Report& r) {
      r.producer;
      r.consumer;
      r.old_width;
      r.new_width;
    }
  void record(std::int64_t step, const Report& report, std::string site = {}) {
    record(GrowthEvent{step, std::move(site), GrowthKind::width, static_cast<std::size_t>(report.producer),
                       static_cast<std::size_t>(report.consumer), static_cast<Index>(report.old_width),
                       static_cast<Index>(report.new_width)});
  }

  /// Records a block inserted at `position` of a Stack, which then has new_depth blocks.
  void record_depth(std::int64_t step, std::string site, std::size_t position, Index old_depth, Index new_depth) {
    record(GrowthEvent{step, std::move(site), GrowthKind::depth, position, position, old_depth, new_depth});
  }

  /// Records a head growth of the attention in block `block` (grow::HeadReport: old_heads, new_heads).
  template <class Report>
    requires requires(const Report& r) {
      r.old_heads;
      r.new_heads;
    }
  void record_heads(std::int64_t step, std::string site, std::size_t block, const Report& report) {
    record(GrowthEvent{step, std::move(site), GrowthKind::heads, block, block, report.old_heads, report.new_heads});
  }

  /// Records a model-width growth (grow::StreamReport: old_width, new_width), by LEMON or MSG.
  template <class Report>
    requires requires(const Report& r) {
      r.old_width;
      r.new_width;
      r.averages;
    }
  void record_stream(std::int64_t step, const Report& report, std::string site = "stream") {
    record(GrowthEvent{step, std::move(site), GrowthKind::stream, 0, 0, report.old_width, report.new_width});
  }

  /// Appends an event; ArgumentError when its sizes are negative or shrink.
  void record(GrowthEvent e) {
    require(e.old_width >= 0 && e.new_width >= e.old_width, "GrowthHistory: growth from ", e.old_width, " to ",
            e.new_width, " at step ", e.step, " is not a growth");
    events_.push_back(std::move(e));
  }

  const std::vector<GrowthEvent>& events() const { return events_; }  ///< oldest first
  std::size_t size() const { return events_.size(); }                 ///< number of events
  bool empty() const { return events_.empty(); }                      ///< no events recorded
  void clear() { events_.clear(); }                                   ///< forgets every event

  /// [{"step": 10, "site": "fc1", "kind": "width", "producer": 0, "consumer": 2, "old_width": 4,
  ///   "new_width": 8}, ...]
  nlohmann::json to_json() const {
    nlohmann::json j = nlohmann::json::array();
    for (const GrowthEvent& e : events_)
      j.push_back({{"step", e.step},
                   {"site", e.site},
                   {"kind", growth_kind_name(e.kind)},
                   {"producer", e.producer},
                   {"consumer", e.consumer},
                   {"old_width", e.old_width},
                   {"new_width", e.new_width}});
    return j;
  }

  /// The inverse of to_json(); IoError naming `source` and the entry when anything is missing, of the
  /// wrong type or out of range.
  static GrowthHistory from_json(const nlohmann::json& j, std::string_view source = "growth history") {
    require<IoError>(j.is_array(), source, ": expected a JSON list of growth events");
    GrowthHistory h;
    for (std::size_t i = 0; i < j.size(); ++i) {
      const nlohmann::json& e = j[i];
      auto fail = [&](const std::string& what) {
        return IoError(netgrow::detail::concat(source, ": event ", i, ": ", what));
      };
      if (!e.is_object()) throw fail("not a JSON object");
      auto integer = [&](const char* key) -> std::int64_t {
        const auto it = e.find(key);
        if (it == e.end() || !it->is_number_integer() ||
            (it->is_number_unsigned() &&
             it->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())))
          throw fail(std::string("field '") + key + "' is missing or not an integer");
        return it->get<std::int64_t>();
      };
      const auto site = e.find("site");
      const auto kind = e.find("kind");
      if (site == e.end() || !site->is_string()) throw fail("field 'site' is missing or not a string");
      GrowthKind parsed = GrowthKind::width;
      bool known = false;
      if (kind != e.end() && kind->is_string())
        for (GrowthKind k : {GrowthKind::width, GrowthKind::depth, GrowthKind::heads, GrowthKind::stream})
          if (*kind == growth_kind_name(k)) parsed = k, known = true;
      if (!known) throw fail("field 'kind' is not \"width\", \"depth\", \"heads\" or \"stream\"");
      GrowthEvent ev;
      ev.step = integer("step");
      ev.site = site->get<std::string>();
      ev.kind = parsed;
      const std::int64_t producer = integer("producer"), consumer = integer("consumer");
      if (producer < 0 || consumer < 0) throw fail("negative layer index");
      ev.producer = static_cast<std::size_t>(producer);
      ev.consumer = static_cast<std::size_t>(consumer);
      ev.old_width = static_cast<Index>(integer("old_width"));
      ev.new_width = static_cast<Index>(integer("new_width"));
      if (ev.old_width < 0 || ev.new_width < ev.old_width) throw fail("the sizes do not grow");
      h.events_.push_back(std::move(ev));
    }
    return h;
  }

  /// The same events in the same order.
  friend bool operator==(const GrowthHistory&, const GrowthHistory&) = default;

 private:
  std::vector<GrowthEvent> events_;
};

/// A growth controller's decisions as JSON (run summaries):
/// [{"step", "site", "k", "wanted", "singular_values", "reference"}, ...]
inline nlohmann::json to_json(const grow::GrowthLog& log) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : log.decisions())
    out.push_back({{"step", d.step},
                   {"site", d.name},
                   {"k", d.k},
                   {"wanted", d.wanted},
                   {"singular_values", d.singular_values},
                   {"reference", d.reference}});
  return out;
}

}  // namespace netgrow::io
