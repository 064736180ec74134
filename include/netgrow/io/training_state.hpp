/// \file
/// netgrow/io/training_state.hpp: what a checkpoint saves besides the network, so that a resumed run
/// continues bit for bit: the optimizer's step counter (the learning-rate schedules are functions of
/// it), random generators, batch samplers, growth schedules, integer counters (the training step), the
/// growth history, and free-form metadata.
///
/// ~~~
/// io::TrainingState state;
/// state.optimizer(adam).rng("grow", grow_rng).sampler("train", sampler).schedule("growth", schedule)
///      .counter("step", step).history(history).metadata("run", "wrn-28 seed 3");
/// io::save_checkpoint(path, net, state);   // records each item
/// io::load_checkpoint(path, net, state);   // restores each item (all or nothing, with the network)
/// ~~~
///
/// A TrainingState refers to the caller's objects (it stores pointers): they must outlive it. Optimizer
/// state tensors (momentum, Adam moments) belong to the parameters and travel with the network.
#pragma once

#include <nlohmann/json.hpp>

#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "netgrow/core/error.hpp"
#include "netgrow/core/rng.hpp"
#include "netgrow/data/batches.hpp"
#include "netgrow/grow/schedule.hpp"
#include "netgrow/io/growth_history.hpp"
#include "netgrow/io/metadata.hpp"
#include "netgrow/io/safetensors.hpp"
#include "netgrow/optim/adam.hpp"
#include "netgrow/optim/optimizer.hpp"
#include "netgrow/optim/sgd.hpp"

namespace netgrow::io {

namespace detail {

/// The optimizer a checkpoint records: its step counter, and its kind and options to check on resume.
struct OptimizerSlot {
  OptimizerClock* clock = nullptr;
  std::string kind;  ///< "Sgd", "Adam", "AdamW", or the optimizer's `name` for other types
  nlohmann::json options = nlohmann::json::object();
};

template <class O>
OptimizerSlot describe_optimizer(O& o) {
  OptimizerSlot s;
  s.clock = &o;
  if constexpr (std::derived_from<O, Adam>) {
    const AdamOptions& a = o.options();
    s.kind = a.decoupled_weight_decay ? "AdamW" : "Adam";
    // An explicit json{...}: assigning the bare braced list leaks the previous value under clang 14
    // (LeakSanitizer, checkpoint_fuzzer); gcc does not.
    s.options =
        nlohmann::json{{"beta1", a.beta1}, {"beta2", a.beta2}, {"eps", a.eps}, {"weight_decay", a.weight_decay}};
  } else if constexpr (std::derived_from<O, Sgd>) {
    const SgdOptions& g = o.options();
    s.kind = "Sgd";
    s.options = nlohmann::json{{"momentum", g.momentum}, {"nesterov", g.nesterov}, {"weight_decay", g.weight_decay}};
  } else if constexpr (requires { std::string(O::name); }) {
    s.kind = std::string(O::name);
  } else {
    s.kind = "optimizer";
  }
  return s;
}

inline nlohmann::json rng_to_json(const Rng& r) {
  const Rng::State& s = r.state();
  return nlohmann::json::array({s[0], s[1], s[2], s[3]});
}

inline Rng::State rng_from_json(const nlohmann::json& j, const std::string& where) {
  require<IoError>(j.is_array() && j.size() == 4, where, ": a generator state is a list of four 64-bit words");
  Rng::State s{};
  for (std::size_t i = 0; i < 4; ++i) {
    require<IoError>(j[i].is_number_unsigned(), where, ": generator word ", i, " is not a 64-bit unsigned integer");
    s[i] = j[i].get<std::uint64_t>();
  }
  require<IoError>((s[0] | s[1] | s[2] | s[3]) != 0, where, ": the all-zero generator state is invalid");
  return s;
}

inline std::string sampler_order_name(const std::string& name) {
  return std::string(reserved_prefix) + "sampler." + name + ".order";
}

}  // namespace detail

/// The items a checkpoint saves and restores besides the network, each the caller's object (see the file
/// comment). Items are added by the chained calls below; names must be non-empty and distinct per item kind
/// (ArgumentError otherwise).
class TrainingState {
 public:
  /// The optimizer whose step counter (the schedule's position) is saved and restored; on load its
  /// kind (Sgd, Adam, AdamW) must be the one saved. Its options are recorded but not checked, so a
  /// resumed run may change them.
  template <class Optimizer>
    requires std::derived_from<Optimizer, OptimizerClock>
  TrainingState& optimizer(Optimizer& o) {
    require(!optimizer_, "TrainingState::optimizer: a checkpoint records one optimizer");
    optimizer_ = detail::describe_optimizer(o);
    return *this;
  }
  /// A random generator: its full state.
  TrainingState& rng(std::string name, Rng& r) { return add(rngs_, std::move(name), r, "rng"); }
  /// A batch sampler: its position and current epoch's order (BatchSampler::State).
  TrainingState& sampler(std::string name, BatchSampler& s) { return add(samplers_, std::move(name), s, "sampler"); }
  /// A growth schedule: its count of growths so far (its settings are the caller's).
  TrainingState& schedule(std::string name, grow::GrowthSchedule& s) {
    return add(schedules_, std::move(name), s, "schedule");
  }
  /// An integer counter, e.g. the training step.
  TrainingState& counter(std::string name, std::int64_t& value) {
    return add(counters_, std::move(name), value, "counter");
  }
  /// The growth history; at most one (ArgumentError for a second).
  TrainingState& history(GrowthHistory& h) {
    require(history_ == nullptr, "TrainingState::history: a checkpoint records one growth history");
    history_ = &h;
    return *this;
  }
  /// Free-form metadata written with the checkpoint (load returns it in CheckpointInfo::metadata).
  /// Keys starting with "netgrow." are reserved.
  TrainingState& metadata(std::string key, std::string value) {
    require(!is_reserved_name(key), "TrainingState::metadata: keys starting with '", reserved_prefix,
            "' are reserved, got '", key, "'");
    metadata_[std::move(key)] = std::move(value);
    return *this;
  }

  /// The metadata given so far.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  /// Records every item into `st` (metadata "netgrow.<item>" and, for samplers, one tensor each).
  void save(Safetensors& st) const {
    using nlohmann::json;
    if (optimizer_)
      st.metadata[key("optimizer")] = detail::dump_json(
          {{"kind", optimizer_->kind}, {"steps", optimizer_->clock->steps()}, {"options", optimizer_->options}});
    if (!rngs_.empty()) {
      json j = json::object();
      for (const auto& [name, r] : rngs_) j[name] = detail::rng_to_json(*r);
      st.metadata[key("rngs")] = detail::dump_json(j);
    }
    if (!samplers_.empty()) {
      json j = json::object();
      for (const auto& [name, s] : samplers_) {
        BatchSampler::State state = s->state();
        j[name] = {{"samples", s->size()},
                   {"position", state.position},
                   {"epoch", state.epoch},
                   {"rng", json::array({state.rng[0], state.rng[1], state.rng[2], state.rng[3]})}};
        const std::vector<std::int64_t> order(state.order.begin(), state.order.end());
        st.tensors[detail::sampler_order_name(name)] =
            SafeTensor::from_values<std::int64_t>({static_cast<std::int64_t>(order.size())}, order);
      }
      st.metadata[key("samplers")] = detail::dump_json(j);
    }
    if (!schedules_.empty()) {
      json j = json::object();
      for (const auto& [name, s] : schedules_)
        j[name] = {{"growths", s->growths()},
                   {"interval", s->interval()},
                   {"start", s->start()},
                   {"max_growths", s->max_growths() ? json(*s->max_growths()) : json()}};
      st.metadata[key("schedules")] = detail::dump_json(j);
    }
    if (!counters_.empty()) {
      json j = json::object();
      for (const auto& [name, c] : counters_) j[name] = *c;
      st.metadata[key("counters")] = detail::dump_json(j);
    }
    if (history_) st.metadata[key("growth_history")] = detail::dump_json(history_->to_json());
    for (const auto& [k, v] : metadata_) st.metadata[k] = v;
  }

  /// Reads every item from `st` without changing anything, and returns the function that applies
  /// them (it cannot throw). ArchitectureError when `st` lacks an item or holds it for an
  /// incompatible object (another optimizer kind, a sampler over another number of samples); IoError
  /// when a record is malformed.
  std::function<void()> stage(const Safetensors& st) const {
    std::vector<std::function<void()>> apply;
    const std::string& src = st.source;
    if (optimizer_) {
      const auto j = detail::find_metadata_json(st, key("optimizer"));
      require<ArchitectureError>(j.has_value(), src, ": the checkpoint holds no optimizer state");
      const detail::JsonFields f(*j, src + ": optimizer record");
      const std::string kind = f.string("kind");
      require<ArchitectureError>(kind == optimizer_->kind, src, ": the checkpoint was saved with optimizer ", kind,
                                 ", not ", optimizer_->kind, " (its state would not carry over)");
      const std::int64_t steps = f.integer("steps");
      require<IoError>(steps >= 0, src, ": negative optimizer step count ", steps);
      apply.push_back([clock = optimizer_->clock, steps] { clock->set_steps(steps); });
    }
    if (!rngs_.empty()) {
      const nlohmann::json j = item(st, "rngs", "random generators");
      for (const auto& [name, r] : rngs_) {
        const Rng::State s = detail::rng_from_json(entry(st, j, name, "rng"), src + ": rng '" + name + "'");
        apply.push_back([r = r, s] { r->set_state(s); });
      }
    }
    if (!samplers_.empty()) {
      const nlohmann::json j = item(st, "samplers", "batch samplers");
      for (const auto& [name, s] : samplers_) {
        const std::string where = src + ": sampler '" + name + "'";
        const detail::JsonFields f(entry(st, j, name, "sampler"), where);
        const std::int64_t n = f.integer("samples");
        require<ArchitectureError>(n == s->size(), where, " was over ", n, " samples, this sampler is over ",
                                   s->size());
        BatchSampler::State state;
        state.position = f.integer("position");
        state.epoch = f.integer("epoch");
        state.rng = detail::rng_from_json(f.at("rng"), where);
        const std::string order_name = detail::sampler_order_name(name);
        const SafeTensor& order = st.at(order_name);
        require<IoError>(order.shape.size() == 1 && order.shape[0] == n, where, ": tensor '", order_name,
                         "' is not a list of ", n, " indices");
        const std::vector<std::int64_t> idx = order.values<std::int64_t>(order_name);
        state.order.assign(idx.begin(), idx.end());
        auto staged = std::make_shared<BatchSampler>(*s);
        try {
          staged->set_state(state);
        } catch (const ArgumentError& e) {
          throw IoError(where + ": invalid state: " + e.what());
        }
        apply.push_back([s = s, staged] { *s = std::move(*staged); });
      }
    }
    if (!schedules_.empty()) {
      const nlohmann::json j = item(st, "schedules", "growth schedules");
      for (const auto& [name, s] : schedules_) {
        const detail::JsonFields f(entry(st, j, name, "schedule"), src + ": schedule '" + name + "'");
        const std::int64_t growths = f.integer("growths");
        require<IoError>(growths >= 0, f.where(), ": negative growth count ", growths);
        apply.push_back([s = s, growths] { s->set_growths(growths); });
      }
    }
    if (!counters_.empty()) {
      const nlohmann::json j = item(st, "counters", "counters");
      for (const auto& [name, c] : counters_) {
        const nlohmann::json& v = entry(st, j, name, "counter");
        const bool fits =
            v.is_number_unsigned()
                ? v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                : v.is_number_integer();
        require<IoError>(fits, src, ": counter '", name, "' is not a 64-bit integer");
        apply.push_back([c = c, value = v.get<std::int64_t>()] { *c = value; });
      }
    }
    if (history_) {
      const auto j = detail::find_metadata_json(st, key("growth_history"));
      require<ArchitectureError>(j.has_value(), src, ": the checkpoint holds no growth history");
      auto staged = std::make_shared<GrowthHistory>(GrowthHistory::from_json(*j, src + ": growth history"));
      apply.push_back([h = history_, staged] { *h = std::move(*staged); });
    }
    return [apply = std::move(apply)] {
      for (const auto& f : apply) f();
    };
  }

 private:
  static std::string key(const char* item) { return std::string(reserved_prefix) + item; }

  template <class T>
  TrainingState& add(std::vector<std::pair<std::string, T*>>& items, std::string name, T& object, const char* what) {
    require(!name.empty(), "TrainingState::", what, ": the name must not be empty");
    for (const auto& [n, unused] : items) {
      (void)unused;
      require(n != name, "TrainingState::", what, ": the name '", name, "' is used twice");
    }
    items.emplace_back(std::move(name), &object);
    return *this;
  }

  /// The JSON object of one kind of item ("rngs", ...); ArchitectureError when the file has none.
  static nlohmann::json item(const Safetensors& st, const char* item_key, const char* what) {
    auto j = detail::find_metadata_json(st, key(item_key));
    require<ArchitectureError>(j.has_value(), st.source, ": the checkpoint holds no ", what);
    require<IoError>(j->is_object(), st.source, ": metadata '", key(item_key), "' is not a JSON object");
    return std::move(*j);
  }
  static const nlohmann::json& entry(const Safetensors& st, const nlohmann::json& items, const std::string& name,
                                     const char* what) {
    const auto it = items.find(name);
    require<ArchitectureError>(it != items.end(), st.source, ": the checkpoint holds no ", what, " named '", name, "'");
    return *it;
  }

  std::optional<detail::OptimizerSlot> optimizer_;
  std::vector<std::pair<std::string, Rng*>> rngs_;
  std::vector<std::pair<std::string, BatchSampler*>> samplers_;
  std::vector<std::pair<std::string, grow::GrowthSchedule*>> schedules_;
  std::vector<std::pair<std::string, std::int64_t*>> counters_;
  GrowthHistory* history_ = nullptr;
  std::map<std::string, std::string> metadata_;
};

}  // namespace netgrow::io
