/// \file
/// netgrow/io/checkpoint.hpp: checkpoints of growing networks in the safetensors format, and resuming
/// from them bit for bit.
///
/// ~~~
/// io::TrainingState state;
/// state.optimizer(sgd).rng("grow", rng).sampler("train", sampler).counter("step", step).history(history);
/// io::save_checkpoint("run.safetensors", model.net(), state);
/// ...
/// models::Mlp<float, Cpu> fresh(seed_config, rng2);                  // built at SEED width
/// io::load_checkpoint("run.safetensors", fresh.net(), state2);       // now at the grown widths
/// ~~~
///
/// What a checkpoint holds (names as in PyTorch's nn.Sequential state dicts):
/// ~~~{.unparsed}
/// tensors   "<layer>.<parameter>"            the parameter's value, e.g. "0.weight", "3.0.branch.0.weight"
///                                             (BatchNorm's running statistics are parameters too)
///           "<name>.state.<i>"               optimizer state i (SGD momentum; Adam's two moments)
///           "<name>.lr_scale"                per-element learning-rate factors, when present
///           "<name>.mask"                    the sparsity mask (prune/mask.hpp), when present
///           "netgrow.sampler.<s>.order"      a batch sampler's epoch order (io/training_state.hpp)
/// metadata  "netgrow.format_version"         "1"
///           "netgrow.version", "netgrow.scalar" ("F32"/"F64"), "netgrow.network" (describe())
///           "netgrow.architecture"           JSON list, one entry per layer: {"kind", "describe",
///                                             "config" (io/kind_config.hpp)}, Stacks with "depth"
///                                             and "block_kind"
///           "netgrow.parameters"             JSON object, per parameter: state owner and count,
///                                             lr_multiplier, lr_scale present, trainable, weight_decay,
///                                             mask present with its growth rule and seed ("mask",
///                                             "mask_growth" "dense"/"layer_density", "mask_seed"),
///                                             and its growth-stage tags when it has any ("stage_tags":
///                                             per axis a list of [stage, count] runs; grow/stage_lr.hpp)
///           "netgrow.input_shape"            JSON list, the shape of the network's last forward() input
///                                             (Sequential::input()), when it had run one its layers take
///           "netgrow.optimizer", ".rngs", ".samplers", ".schedules", ".counters", ".growth_history"
///                                             the TrainingState items, when given
///           "netgrow.checksum"               16 hex digits: io::tensors_checksum (io/checksum.hpp) of every
///                                             tensor's name, dtype, shape and bytes, in name order
///           anything else                    the caller's metadata (TrainingState::metadata)
/// ~~~
/// Saving refuses (ArgumentError) a parameter whose optimizer state the load below would refuse (one of
/// netgrow's owners with another number of state tensors, or an owner name that is not a plain name).
/// Gradients are not saved (every step recomputes them).
///
/// Loading into a network of the same type restores the saved shapes whatever the network's widths
/// are now (a network built at seed width grows to the checkpoint's widths; a Stack of another depth
/// is rebuilt from the blocks' settings in the file; settings growth changes that no shape shows,
/// LayerNorm's eps, come from the file's settings). It is all or nothing: the file is parsed and
/// checked completely, and every layer rebuilt aside, before anything in the network or the
/// TrainingState changes; an exception leaves both as they were. Checks, each naming the file, the
/// layer and the parameter:
/// ~~~{.unparsed}
/// IoError            malformed file or netgrow metadata, among them:
///                    - a "netgrow.checksum" the tensors do not hash to (damaged tensor data; checked
///                      first; files without the entry load unchecked)
///                    - a "netgrow.scalar" other than F32 and F64, a malformed "netgrow.input_shape"
///                      (not 1 to 4 positive dimensions, or more than 2^40 elements)
///                    - a parameter record whose "state_owner" is one netgrow's optimizers set
///                      ("" none, "sgd" Sgd, "adam" Adam and AdamW) with a state count that owner
///                      never keeps ("": 0, "sgd": 0 or 1, "adam": 2); any other owner (an optimizer
///                      of the user's) must be a plain name (letters, digits, '_', '-', '.', at most
///                      64) with 1 to 16 state tensors
///                    - a layer's recorded settings ("config") whose widths disagree with the ones its
///                      parameter shapes describe (for a Stack, every block's), i.e. architecture
///                      metadata that contradicts the tensors
///                    - stage tags that list more indices than their parameter's tensor in the file
///                      has along any axis (refused before any list is built), Stack block settings
///                      larger than every dimension of a non-empty tensor in the file
///                    - enum-valued settings (a weight initialiser), a growth history's event kinds
///                      ("width"/"depth"): unknown names
/// ArchitectureError  another layer count or layer kind, a setting growth never changes (kernel,
///                    stride, bias, ...), other parameter names, another scalar type (F64 file into
///                    a float network), a TrainingState item the file lacks or holds for another
///                    optimizer kind or sampler size
/// ShapeError         parameter shapes that no layer of that kind has (a bias not matching its
///                    weight, a kernel of another size, optimizer state of another shape), another
///                    input width of the first layer or output width of the last one (growth never
///                    changes those), or layers that do not fit one another: the input shape is
///                    propagated through the staged layers' output_shape(), and the first layer that
///                    refuses what the one before it gives is named with that one. The input shape is
///                    the file's "netgrow.input_shape", else the shape of the network's own last
///                    forward() input (growth never changes it); when neither exists (a file saved
///                    before its network ran, loaded into a network that has not run) this check is
///                    skipped and a mismatch between layers only shows in forward()
/// ~~~
/// Free-form strings the load does not restrict: the optimizer record's "kind" (optimizers of the
/// user's record their own name; it must equal the kind of the TrainingState's optimizer), the
/// "describe" texts and "netgrow.network" (informative).
///
/// Device-generic: parameters of Cuda networks are staged through the host (include
/// <netgrow/cuda.hpp> first, from .cu files).
///
/// Cost of a load: each layer is built twice aside (once at the network's current widths to learn
/// the kind the file's shapes describe, once at those widths to receive the values), so a load needs
/// memory for the checkpoint plus one copy of the grown network beside the network itself; the
/// checksum reads every tensor byte once more (several GB/s).
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"
#include "netgrow/core/rng.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/io/checksum.hpp"
#include "netgrow/io/kind_config.hpp"
#include "netgrow/io/metadata.hpp"
#include "netgrow/io/safetensors.hpp"
#include "netgrow/io/training_state.hpp"
#include "netgrow/layers/parameter.hpp"
#include "netgrow/network/sequential.hpp"
#include "netgrow/blocks/stack.hpp"

namespace netgrow::io {

/// The checkpoint layout this header writes; loads accept exactly this version.
inline constexpr int checkpoint_format_version = 1;

/// What a checkpoint says about itself.
struct CheckpointInfo {
  int format_version = 0;       ///< the checkpoint layout (checkpoint_format_version)
  std::string netgrow_version;  ///< of the netgrow that wrote it
  std::string scalar;           ///< "F32" or "F64"
  std::string network;          ///< the saved network's describe()
  std::string optimizer;        ///< its kind ("Sgd", "Adam", ...), empty when none saved
  /// The optimizer's step counter; 0 when none saved.
  std::int64_t optimizer_steps = 0;
  std::map<std::string, std::string> metadata;  ///< the caller's metadata (keys not starting with "netgrow.")
  /// The shape of the saved network's last forward() input ("netgrow.input_shape"); nullopt when the
  /// file does not record one (the network had not run, or an older file).
  std::optional<Shape> input_shape;
};

namespace detail {

template <class L>
struct is_stack_layer : std::false_type {};
template <class K, class S, class D>
struct is_stack_layer<StackLayer<K, S, D>> : std::true_type {};

/// A host tensor on device D: moved on the Cpu, copied over (backend/cuda/transfer.hpp, found by
/// argument lookup) otherwise.
template <class D, class S>
Tensor<S, D> on_device(Tensor<S, Cpu>&& host) {
  if constexpr (std::same_as<D, Cpu>) {
    return std::move(host);
  } else {
    Tensor<S, D> t = Tensor<S, D>::uninitialized(host.shape());
    copy(host.cview(), t.view());
    return t;
  }
}

/// The architecture entry of one layer.
template <class L>
nlohmann::json describe_layer(const L& layer) {
  using K = typename L::kind_type;
  nlohmann::json j = {{"kind", std::string(K::name)}, {"describe", layer.describe()}};
  if constexpr (RecordedKind<K>) j["config"] = KindConfig<K>::save(layer.kind());
  if constexpr (is_stack_layer<L>::value) {
    j["depth"] = layer.size();
    j["block_kind"] = std::string(L::block_type::kind_type::name);
  }
  return j;
}

inline std::string version_string() {
  return std::to_string(NETGROW_VERSION_MAJOR) + "." + std::to_string(NETGROW_VERSION_MINOR) + "." +
         std::to_string(NETGROW_VERSION_PATCH);
}

/// What "netgrow.parameters" says about one parameter.
struct ParameterRecord {
  std::string state_owner;
  std::size_t states = 0;
  double lr_multiplier = 1.0;
  bool lr_scale = false;
  bool trainable = true;
  bool weight_decay = true;
  bool mask = false;
  MaskGrowth mask_growth = MaskGrowth::dense;
  std::uint64_t mask_seed = 0;
  std::array<std::vector<std::int32_t>, 2> stage_tags;
};

/// Stage tags as runs: per axis a list of [stage, count] (a grown layer has a few runs, not one tag per row).
inline nlohmann::json stage_runs(const std::array<std::vector<std::int32_t>, 2>& tags) {
  nlohmann::json axes = nlohmann::json::array();
  for (const auto& axis : tags) {
    nlohmann::json runs = nlohmann::json::array();
    for (std::size_t i = 0; i < axis.size();) {
      std::size_t j = i;
      while (j < axis.size() && axis[j] == axis[i]) ++j;
      runs.push_back({axis[i], j - i});
      i = j;
    }
    axes.push_back(std::move(runs));
  }
  return axes;
}

/// The inverse of stage_runs; IoError for a malformed list. `bound` caps the total count per axis.
inline std::array<std::vector<std::int32_t>, 2> stage_tags_from_runs(const nlohmann::json& j, Index bound,
                                                                     const std::string& where) {
  require<IoError>(j.is_array() && j.size() == 2, where, ": 'stage_tags' must list two axes of [stage, count] runs");
  std::array<std::vector<std::int32_t>, 2> tags;
  for (std::size_t a = 0; a < 2; ++a) {
    require<IoError>(j[a].is_array(), where, ": 'stage_tags' axis ", a, " is not a list");
    for (const nlohmann::json& run : j[a]) {
      require<IoError>(run.is_array() && run.size() == 2 && run[0].is_number_unsigned() && run[1].is_number_unsigned(),
                       where, ": 'stage_tags' runs must be [stage, count] with non-negative integers");
      const std::uint64_t stage = run[0].get<std::uint64_t>(), count = run[1].get<std::uint64_t>();
      require<IoError>(stage <= static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()) &&
                           count <= static_cast<std::uint64_t>(bound) - std::min<std::uint64_t>(tags[a].size(), bound),
                       where, ": 'stage_tags' run [", stage, ", ", count, "] is out of range");
      tags[a].insert(tags[a].end(), static_cast<std::size_t>(count), static_cast<std::int32_t>(stage));
    }
  }
  return tags;
}

/// Everything the layers' staging shares: the file, its parameter records, and what has been used.
struct LoadContext {
  const Safetensors& file;
  std::map<std::string, ParameterRecord> records;
  std::set<std::string> used_tensors;
  /// Bound on widths read from settings: the largest dimension of a non-empty tensor (nothing in the
  /// file is larger; largest_backed_dimension).
  Index largest_dimension = 1;

  const std::string& source() const { return file.source; }
};

/// Optimizer state netgrow's optimizers keep in a parameter: the owner they set (Parameter::state_owner,
/// optim/) and how many state tensors go with it.
struct StateOwner {
  std::string_view owner;
  std::size_t min_states, max_states;
  std::string_view kept_by;
};
inline constexpr std::array<StateOwner, 3> state_owners{{
    {"", 0, 0, "no optimizer"},
    {"sgd", 0, 1, "Sgd (its velocity, with momentum)"},
    {"adam", 2, 2, "Adam and AdamW (the two moments)"},
}};

/// Why `states` state tensors owned by `owner` cannot be a parameter's optimizer state; nullopt when they
/// can. netgrow's own owners must come with the count they keep; an optimizer of the user's may use any
/// other owner name made of letters, digits, '_', '-' and '.' (at most 64 of them), with at most 16 state
/// tensors (the record's own bound).
inline std::optional<std::string> invalid_state(std::string_view owner, std::size_t states) {
  for (const StateOwner& o : state_owners) {
    if (o.owner != owner) continue;
    if (states >= o.min_states && states <= o.max_states) return std::nullopt;
    return netgrow::detail::concat(
        "optimizer state owner '", owner, "' (", o.kept_by, ") with ", states, " state tensors; it keeps ",
        o.min_states == o.max_states ? std::to_string(o.min_states)
                                     : std::to_string(o.min_states) + " or " + std::to_string(o.max_states));
  }
  const bool name_ok = owner.size() <= 64 && std::all_of(owner.begin(), owner.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
  if (!name_ok)
    return netgrow::detail::concat("optimizer state owner '", owner.substr(0, 80), "' is not an optimizer's name "
                                   "(letters, digits, '_', '-' and '.', at most 64)");
  if (states < 1)
    return netgrow::detail::concat("optimizer state owner '", owner, "' with no state tensors (only netgrow's own "
                                   "owners may record none)");
  return std::nullopt;
}

/// The largest dimension of `t`, or 0 when it has no elements: the dimensions of an empty tensor
/// vouch for nothing (shape [0, 2^40] takes no bytes), those of a non-empty one are backed by its data.
inline Index largest_backed_dimension(const SafeTensor& t) {
  Index largest = 0;
  for (const std::int64_t d : t.shape) {
    if (d == 0) return 0;
    largest = std::max<Index>(largest, d);
  }
  return largest;
}

/// The records of "netgrow.parameters". A parameter's stage tags are bounded by the largest dimension
/// of its own tensor in the file (they must match its extents, which is checked when the layer is
/// staged): tags sized by anything else would let a small file claim huge lists.
inline std::map<std::string, ParameterRecord> parse_parameter_records(const Safetensors& st) {
  const nlohmann::json j = metadata_json(st, std::string(reserved_prefix) + "parameters");
  require<IoError>(j.is_object(), st.source, ": metadata 'netgrow.parameters' is not a JSON object");
  std::map<std::string, ParameterRecord> records;
  for (const auto& [name, value] : j.items()) {
    const JsonFields f(value, st.source + ": record of parameter '" + name + "'");
    ParameterRecord r;
    r.state_owner = f.string("state_owner");
    const std::uint64_t states = f.unsigned_integer("states");
    require<IoError>(states <= 16, f.where(), ": ", states, " optimizer state tensors (netgrow's keep at most 2)");
    r.states = static_cast<std::size_t>(states);
    if (const auto why = invalid_state(r.state_owner, r.states)) throw IoError(f.where() + ": " + *why);
    r.lr_multiplier = f.number("lr_multiplier");
    r.lr_scale = f.boolean("lr_scale");
    r.trainable = f.boolean("trainable");
    r.weight_decay = f.boolean("weight_decay");
    if (f.has("mask")) {  // files before masks have none
      r.mask = f.boolean("mask");
      const std::string growth = f.string("mask_growth");
      require<IoError>(growth == "dense" || growth == "layer_density", f.where(), ": mask_growth '", growth,
                       "' (expected dense or layer_density)");
      r.mask_growth = growth == "dense" ? MaskGrowth::dense : MaskGrowth::layer_density;
      r.mask_seed = f.unsigned_integer("mask_seed");
    }
    if (f.has("stage_tags")) {
      const auto t = st.tensors.find(name);
      const Index bound = t == st.tensors.end() ? 0 : largest_backed_dimension(t->second);
      r.stage_tags = stage_tags_from_runs(f.at("stage_tags"), bound, f.where());
    }
    records.emplace(name, std::move(r));
  }
  return records;
}

/// Builds a layer of kind `kind` aside (from a scratch generator: every value is overwritten);
/// ShapeError when the kind is invalid, i.e. the file's shapes describe no such layer.
template <class L>
L build_layer(const typename L::kind_type& kind, const std::string& where) {
  Rng scratch(0);
  try {
    return L(kind, scratch);
  } catch (const Error& e) {
    throw ShapeError(where + ": the checkpoint's parameter shapes describe no valid layer of this kind: " + e.what());
  } catch (const std::bad_alloc&) {
    throw ShapeError(where + ": the checkpoint's parameter shapes describe a layer too large to build");
  }
}

/// Calls f(full name, Parameter&) for each parameter of `layer`, named as Sequential names it.
template <class L, class F>
void visit_layer_parameters(L& layer, const std::string& prefix, F&& f) {
  layer.visit_parameters([&](std::string_view name, auto& p) { f(prefix + std::string(name), p); });
}

/// Names of `layer`'s parameters vs the records of the file's layer: ArchitectureError when they differ.
template <class L>
void check_parameter_names(L& layer, const std::string& prefix, const LoadContext& ctx, const std::string& where) {
  std::set<std::string> mine;
  visit_layer_parameters(layer, prefix, [&](const std::string& name, auto&) { mine.insert(name); });
  std::set<std::string> theirs;
  for (auto it = ctx.records.lower_bound(prefix); it != ctx.records.end() && it->first.starts_with(prefix); ++it)
    theirs.insert(it->first);
  if (mine == theirs) return;
  std::string missing, extra;
  for (const auto& n : mine)
    if (!theirs.count(n)) missing += (missing.empty() ? "" : ", ") + n;
  for (const auto& n : theirs)
    if (!mine.count(n)) extra += (extra.empty() ? "" : ", ") + n;
  throw ArchitectureError(where + ": the parameters differ" +
                          (missing.empty() ? "" : "; not in the checkpoint: " + missing) +
                          (extra.empty() ? "" : "; only in the checkpoint: " + extra));
}

/// The file's tensor `name`, checked to hold scalars of type S; ArchitectureError otherwise.
template <class S>
const SafeTensor& typed_tensor(const LoadContext& ctx, const std::string& name) {
  const SafeTensor& t = ctx.file.at(name);
  require<ArchitectureError>(t.dtype == dtype_v<S>, ctx.source(), ": tensor '", name, "' holds ", dtype_name(t.dtype),
                             ", but the network's scalar type is ", dtype_name(dtype_v<S>));
  return t;
}

/// Resizes a probe layer's parameters to the file's shapes (values unspecified), so that kind()
/// reports the widths the file describes. ShapeError when a rank differs or a dimension is zero.
template <class L>
void take_file_shapes(L& probe, const std::string& prefix, const LoadContext& ctx, const std::string& where) {
  using S = typename L::scalar_type;
  visit_layer_parameters(probe, prefix, [&](const std::string& name, auto& p) {
    const SafeTensor& t = typed_tensor<S>(ctx, name);
    require<ShapeError>(static_cast<int>(t.shape.size()) == p.value.rank(), where, ": parameter '", name,
                        "' has shape ", shape_string(t.shape), " in ", ctx.source(), ", but this layer's has rank ",
                        p.value.rank(), " ", p.value.shape());
    for (const std::int64_t d : t.shape)
      require<ShapeError>(d >= 1, where, ": parameter '", name, "' has shape ", shape_string(t.shape), " in ",
                          ctx.source(), " (empty dimension)");
    p.value.resize(t.netgrow_shape(name));
  });
}

/// Fills the parameters of `staged` (built at the file's widths) from the file. ShapeError when a
/// tensor does not have the shape the layer needs.
template <class L>
void fill_parameters(L& staged, const std::string& prefix, LoadContext& ctx, const std::string& where) {
  using S = typename L::scalar_type;
  using D = typename L::device_type;
  visit_layer_parameters(staged, prefix, [&](const std::string& name, Parameter<S, D>& p) {
    const auto record = ctx.records.find(name);
    require<ArchitectureError>(record != ctx.records.end(), where, ": the checkpoint has no parameter '", name, "'");
    const ParameterRecord& r = record->second;
    auto load = [&](const std::string& tensor_name) {
      const SafeTensor& t = typed_tensor<S>(ctx, tensor_name);
      const Shape shape =
          t.shape.size() <= static_cast<std::size_t>(Shape::max_rank) ? t.netgrow_shape(tensor_name) : Shape{};
      require<ShapeError>(t.shape.size() == static_cast<std::size_t>(p.value.rank()) && shape == p.value.shape(), where,
                          ": tensor '", tensor_name, "' has shape ", shape_string(t.shape), " in ", ctx.source(),
                          ", but the layer its parameters describe, ", staged.describe(), ", needs ", p.value.shape());
      ctx.used_tensors.insert(tensor_name);
      return on_device<D>(t.template to_tensor<S>(tensor_name));
    };
    p.value = load(name);
    p.state.clear();
    for (std::size_t i = 0; i < r.states; ++i) p.state.push_back(load(name + ".state." + std::to_string(i)));
    p.lr_scale = r.lr_scale ? load(name + ".lr_scale") : Tensor<S, D>();
    p.mask = r.mask ? load(name + ".mask") : Tensor<S, D>();
    p.mask_growth = r.mask_growth;
    p.mask_seed = r.mask_seed;
    p.state_owner = r.state_owner;
    p.lr_multiplier = r.lr_multiplier;
    p.trainable = r.trainable;
    p.weight_decay = r.weight_decay;
    for (int a = 0; a < 2; ++a) {
      const auto& tags = r.stage_tags[static_cast<std::size_t>(a)];
      const Index extent = a < std::min(p.value.rank(), 2) ? p.value.dim(a) : 0;
      require<ShapeError>(tags.empty() || static_cast<Index>(tags.size()) == extent, where, ": parameter '", name,
                          "' has ", tags.size(), " stage tags along axis ", a, " in ", ctx.source(), " for ", extent,
                          " indices");
    }
    p.stage_tags = r.stage_tags;
  });
}

inline const nlohmann::json& config_of(const JsonFields& entry) {
  return entry.at("config");
}

/// Settings of `live` that growth never changes vs the file's; ArchitectureError when they differ.
template <RecordedKind K>
void check_fixed_settings(const K& live, const nlohmann::json& file_config, const std::string& where,
                          const std::string& source) {
  const nlohmann::json mine = fixed_settings(live);
  const nlohmann::json theirs = fixed_settings(KindConfig<K>::load(file_config));
  require<ArchitectureError>(mine == theirs, where, ": settings ", theirs.dump(), " in ", source,
                             ", but this layer has ", mine.dump());
}

/// The file's settings of a layer (`file_config`) vs the kind its parameter shapes describe (`staged`,
/// built from them): IoError when a width differs, i.e. the architecture metadata contradicts the
/// tensors (the fixed settings were compared before).
template <RecordedKind K>
void check_recorded_widths(const K& staged, const nlohmann::json& file_config, const std::string& where,
                           const std::string& source) {
  const nlohmann::json shapes = KindConfig<K>::save(staged);
  // The file's record as this version writes it (fields added since take their defaults).
  const nlohmann::json recorded = KindConfig<K>::with_added_defaults(file_config);
  require<IoError>(shapes == recorded, where, ": the settings recorded in ", source, ", ", file_config.dump(),
                   ", disagree with its parameter shapes, which describe ", shapes.dump(),
                   " (the architecture metadata does not match the tensors: a damaged or edited file)");
}

/// Every integer setting of a Stack's blocks (widths, kernel sizes, strides) is at most `bound`, the
/// largest dimension of any tensor in the file: these settings are read before any shape can vouch
/// for them, and absurd values would otherwise build absurdly large layers. The fields named in `states`
/// (FieldRole::state: stream seeds and counters, never sizes) are exempt.
template <class Names>
void check_block_settings_bounded(const nlohmann::json& blocks, Index bound, const std::string& where,
                                  const Names& states) {
  for (const nlohmann::json& b : blocks) {
    if (!b.is_object()) continue;  // load() reports it
    for (const auto& [key, v] : b.items()) {
      if (std::find(states.begin(), states.end(), std::string_view(key)) != states.end()) continue;
      // Non-integers and negative values are left to load() and the layer's constructor.
      const bool bounded = !v.is_number_integer() ||
                           (v.is_number_unsigned() ? v.template get<std::uint64_t>() <= static_cast<std::uint64_t>(bound)
                                                   : v.template get<std::int64_t>() <= bound);
      require<IoError>(bounded, where, ": block setting '", key, "' = ", v.dump(),
                       " exceeds every dimension in the checkpoint");
    }
  }
}

/// Width growth never changes what a network takes in or gives out: the input width of its first
/// layer and the output width of its last one (for layers with a weight() and growth axes) must match.
template <class L>
void check_outer_widths(L& live, L& staged, bool first, bool last, const std::string& where) {
  if constexpr (requires { L::input_axis; L::output_axis; live.weight(); }) {
    const auto& mine = live.weight().value;
    const auto& theirs = staged.weight().value;
    require<ShapeError>(!first || mine.dim(L::input_axis) == theirs.dim(L::input_axis), where,
                        ": the checkpoint's first layer takes ", theirs.dim(L::input_axis), " inputs, this one ",
                        mine.dim(L::input_axis), " (growth never changes a network's input width)");
    require<ShapeError>(!last || mine.dim(L::output_axis) == theirs.dim(L::output_axis), where,
                        ": the checkpoint's last layer gives ", theirs.dim(L::output_axis), " outputs, this one ",
                        mine.dim(L::output_axis), " (growth never changes a network's output width)");
  }
}

/// A copy of the network's layer `live` (layer `index`) at the checkpoint's shapes, filled with its
/// values; throws (see the top of this header) without touching `live`.
template <class L>
L stage_layer(L& live, std::size_t index, bool last, const nlohmann::json& entry_json, LoadContext& ctx) {
  using K = typename L::kind_type;
  const std::string prefix = std::to_string(index) + ".";
  const std::string where = ctx.source() + ": layer " + std::to_string(index) + " (" + live.describe() + ")";
  const JsonFields entry(entry_json, ctx.source() + ": architecture entry of layer " + std::to_string(index));
  const std::string kind = entry.string("kind");
  require<ArchitectureError>(kind == K::name, where, " is a ", kind, " in the checkpoint");

  K template_kind = live.kind();
  if constexpr (is_stack_layer<L>::value) {
    using BlockKind = typename L::block_type::kind_type;
    const std::string block_kind = entry.string("block_kind");
    require<ArchitectureError>(block_kind == BlockKind::name, where, " holds ", block_kind,
                               " blocks in the checkpoint");
    const std::int64_t depth = entry.integer("depth");
    require<IoError>(depth >= 1, where, ": depth ", depth, " in the checkpoint");
    if (static_cast<std::size_t>(depth) != live.size()) {
      // Depth grew (or differs): the blocks' settings come from the file.
      if constexpr (RecordedKind<BlockKind>) {
        const nlohmann::json& config = config_of(entry);
        require<IoError>(config.is_object() && config.contains("blocks") && config["blocks"].is_array() &&
                             config["blocks"].size() == static_cast<std::size_t>(depth),
                         where, ": the settings do not list ", depth, " blocks");
        check_block_settings_bounded(config["blocks"], ctx.largest_dimension, where, KindConfig<BlockKind>::states);
        template_kind = KindConfig<K>::load(config);
      } else {
        throw ArchitectureError(where + ": the checkpoint has " + std::to_string(depth) + " blocks, this stack " +
                                std::to_string(live.size()) + "; changing the depth needs io::KindConfig<" +
                                std::string(BlockKind::name) + "> to rebuild the blocks");
      }
    } else if constexpr (RecordedKind<BlockKind>) {
      if (entry.has("config")) {
        const nlohmann::json& config = config_of(entry);
        require<IoError>(config.is_object() && config.contains("blocks") && config["blocks"].is_array() &&
                             config["blocks"].size() == live.size(),
                         where, ": the settings do not list ", depth, " blocks");
        for (std::size_t b = 0; b < live.size(); ++b)
          check_fixed_settings(live.block(b).kind(), config["blocks"][b], where + ", block " + std::to_string(b),
                               ctx.source());
      }
    }
  } else if constexpr (RecordedKind<K>) {
    if (entry.has("config")) check_fixed_settings<K>(live.kind(), config_of(entry), where, ctx.source());
  }

  // A probe at the template widths, reshaped to the file's shapes, tells the kind those shapes
  // describe; the staged layer is built at that kind, so every shape it needs is checked against the file.
  L probe = build_layer<L>(template_kind, where);
  check_parameter_names(probe, prefix, ctx, where);
  take_file_shapes(probe, prefix, ctx, where);
  K staged_kind(probe.kind());
  if constexpr (RecordedKind<K>) {
    if (entry.has("config")) staged_kind = with_unshaped_widths(staged_kind, config_of(entry));
  }
  if constexpr (is_stack_layer<L>::value) {  // and each block's (a transformer block's LayerNorm eps)
    using BlockKind = typename L::block_type::kind_type;
    if constexpr (RecordedKind<BlockKind>) {
      if (entry.has("config")) {
        const nlohmann::json& config = config_of(entry);
        if (config.is_object() && config.contains("blocks") && config["blocks"].is_array() &&
            config["blocks"].size() == staged_kind.blocks.size())
          for (std::size_t b = 0; b < staged_kind.blocks.size(); ++b)
            staged_kind.blocks[b] = with_unshaped_widths(staged_kind.blocks[b], config["blocks"][b]);
      }
    }
  }
  L staged = build_layer<L>(staged_kind, where);
  check_parameter_names(staged, prefix, ctx, where);
  check_outer_widths(live, staged, index == 0, last, where);
  if constexpr (is_stack_layer<L>::value) {
    using BlockKind = typename L::block_type::kind_type;
    if constexpr (RecordedKind<BlockKind>) {
      if (entry.has("config")) {
        // The number of blocks was checked above (config["blocks"] lists one per block of staged).
        const nlohmann::json& blocks = config_of(entry).at("blocks");
        for (std::size_t b = 0; b < staged.size(); ++b)
          check_recorded_widths(staged.block(b).kind(), blocks[b], where + ", block " + std::to_string(b),
                                ctx.source());
        check_recorded_widths(staged.kind(), config_of(entry), where, ctx.source());  // nothing besides "blocks"
      }
    }
  } else if constexpr (RecordedKind<K>) {
    if (entry.has("config")) check_recorded_widths(staged.kind(), config_of(entry), where, ctx.source());
  }
  fill_parameters(staged, prefix, ctx, where);
  return staged;
}

/// Inputs of more elements than this are refused as implausible (the shape is only propagated, never
/// allocated, but shapes beyond it could overflow 64-bit element counts on the way through).
inline constexpr std::uint64_t max_input_elements = std::uint64_t{1} << 40;

inline Shape shape_of_dims(const std::vector<Index>& d) {
  switch (d.size()) {
    case 1:
      return Shape{d[0]};
    case 2:
      return Shape{d[0], d[1]};
    case 3:
      return Shape{d[0], d[1], d[2]};
    default:
      return Shape{d[0], d[1], d[2], d[3]};
  }
}

/// The metadata "netgrow.input_shape" of `st` (a list of 1 to 4 positive dimensions), nullopt when
/// absent; IoError when malformed.
inline std::optional<Shape> recorded_input_shape(const Safetensors& st) {
  const std::string key = std::string(reserved_prefix) + "input_shape";
  const auto j = find_metadata_json(st, key);
  if (!j) return std::nullopt;
  require<IoError>(j->is_array() && !j->empty() && j->size() <= static_cast<std::size_t>(Shape::max_rank), st.source,
                   ": metadata '", key, "' is not a list of 1 to ", Shape::max_rank, " dimensions");
  std::vector<Index> dims;
  std::uint64_t elements = 1;
  for (const nlohmann::json& d : *j) {
    const bool ok = d.is_number_unsigned() && d.get<std::uint64_t>() >= 1 &&
                    !__builtin_mul_overflow(elements, d.get<std::uint64_t>(), &elements) &&
                    elements <= max_input_elements;
    require<IoError>(ok, st.source, ": metadata '", key, "' = ", j->dump(),
                     " is not a list of positive dimensions of at most 2^40 elements in all");
    dims.push_back(static_cast<Index>(d.get<std::uint64_t>()));
  }
  return shape_of_dims(dims);
}

/// The shape of `net`'s last forward() input, when it ran one that its layers accept (a forward()
/// that threw leaves the refused shape behind); nullopt otherwise.
template <class Net>
std::optional<Shape> last_input_shape(const Net& net) {
  if (net.input().empty()) return std::nullopt;
  const Shape shape = net.input().shape();
  try {
    (void)net.output_shape(shape);
  } catch (const ShapeError&) {
    return std::nullopt;
  }
  return shape;
}

/// Whether the staged layers fit one another: `input` propagated through their output_shape();
/// ShapeError naming the file and the two layers that do not fit.
template <class Staged>
void check_layers_chain(const Staged& staged, const Shape& input, const std::string& input_origin,
                        const std::string& source) {
  Shape shape = input;
  std::string previous;
  std::apply(
      [&](const auto&... layers) {
        std::size_t i = 0;
        auto step = [&](const auto& layer) {
          try {
            const Shape out = layer->output_shape(shape);
            previous = "the output of layer " + std::to_string(i) + " (" + layer->describe() + ")";
            shape = out;
          } catch (const ShapeError& e) {
            throw ShapeError(netgrow::detail::concat(
                source, ": the checkpoint's layers do not fit: layer ", i, " (", layer->describe(), ") does not take ",
                i == 0 ? "the network's input" : previous, ", of shape ", shape,
                i == 0 ? " (" + input_origin + ")" : std::string(), ": ", e.what()));
          }
          ++i;
        };
        (step(layers), ...);
      },
      staged);
}

/// When `st` records a checksum ("netgrow.checksum"), the tensors must hash to it: IoError otherwise.
inline void check_checksum(const Safetensors& st) {
  const std::string key = std::string(reserved_prefix) + "checksum";
  const auto it = st.metadata.find(key);
  if (it == st.metadata.end()) return;  // files written before checksums were recorded
  const auto recorded = parse_checksum_hex(it->second);
  require<IoError>(recorded.has_value(), st.source, ": metadata '", key, "' is not 16 hexadecimal digits");
  const std::uint64_t actual = tensors_checksum(st);
  require<IoError>(actual == *recorded, st.source, ": checksum mismatch (the file records ", it->second,
                   ", its tensors hash to ", checksum_hex(actual), "): the tensor data is damaged");
}

}  // namespace detail

/// What the checkpoint `st` says about itself; IoError when it is not a netgrow checkpoint of this
/// format version.
inline CheckpointInfo checkpoint_info(const Safetensors& st) {
  CheckpointInfo info;
  const std::string p(reserved_prefix);
  const auto get = [&](const std::string& key) -> const std::string& {
    const auto it = st.metadata.find(p + key);
    require<IoError>(it != st.metadata.end(), st.source, ": no metadata '", p, key,
                     "' (not a netgrow checkpoint, or a damaged one)");
    return it->second;
  };
  const std::string& version = get("format_version");
  require<IoError>(version == std::to_string(checkpoint_format_version), st.source, ": checkpoint format version '",
                   version, "'; this netgrow reads version ", checkpoint_format_version);
  info.format_version = checkpoint_format_version;
  info.netgrow_version = get("version");
  info.scalar = get("scalar");
  require<IoError>(info.scalar == dtype_name(Dtype::F32) || info.scalar == dtype_name(Dtype::F64), st.source,
                   ": metadata 'netgrow.scalar' is '", info.scalar, "', neither F32 nor F64");
  info.network = get("network");
  info.input_shape = detail::recorded_input_shape(st);
  if (const auto opt = detail::find_metadata_json(st, p + "optimizer")) {
    const detail::JsonFields f(*opt, st.source + ": optimizer record");
    info.optimizer = f.string("kind");
    info.optimizer_steps = f.integer("steps");
  }
  for (const auto& [k, v] : st.metadata)
    if (!is_reserved_name(k)) info.metadata.emplace(k, v);
  return info;
}

/// The checkpoint of `net` and the items of `state`, in memory (save_checkpoint writes it).
template <class S, class D, class... Kinds>
Safetensors make_checkpoint(Sequential<S, D, Kinds...>& net, const TrainingState& state = {}) {
  static_assert(StorableScalar<S>, "netgrow::io: checkpoints hold float or double networks");
  net.for_each_layer([](auto i, const auto& layer) {
    if constexpr (requires { layer.fading(); })
      require<StateError>(!layer.fading(), "make_checkpoint: layer ", decltype(i)::value, " (", layer.describe(),
                          ") is fading in new units (masked growth); masks are not stored: save when the fade "
                          "is over (grow::fading(net) false)");
  });
  Safetensors st;
  nlohmann::json records = nlohmann::json::object();
  net.visit_parameters([&](const std::string& name, Parameter<S, D>& p) {
    if (const auto why = detail::invalid_state(p.state_owner, p.state.size()))
      throw ArgumentError("make_checkpoint: parameter '" + name + "' holds " + *why +
                          "; restore_checkpoint would refuse the file");
    st.tensors[name] = SafeTensor::from(p.value);
    for (std::size_t i = 0; i < p.state.size(); ++i)
      st.tensors[name + ".state." + std::to_string(i)] = SafeTensor::from(p.state[i]);
    if (!p.lr_scale.empty()) st.tensors[name + ".lr_scale"] = SafeTensor::from(p.lr_scale);
    records[name] = {{"state_owner", p.state_owner},    {"states", p.state.size()}, {"lr_multiplier", p.lr_multiplier},
                     {"lr_scale", !p.lr_scale.empty()}, {"trainable", p.trainable}, {"weight_decay", p.weight_decay}};
    if (!p.mask.empty()) {
      st.tensors[name + ".mask"] = SafeTensor::from(p.mask);
      records[name]["mask"] = true;
      records[name]["mask_growth"] = p.mask_growth == MaskGrowth::dense ? "dense" : "layer_density";
      records[name]["mask_seed"] = p.mask_seed;
    }
    if (!p.stage_tags[0].empty() || !p.stage_tags[1].empty()) records[name]["stage_tags"] = detail::stage_runs(p.stage_tags);
  });
  nlohmann::json architecture = nlohmann::json::array();
  net.for_each_layer([&](auto, const auto& layer) { architecture.push_back(detail::describe_layer(layer)); });
  const std::string p(reserved_prefix);
  st.metadata[p + "format_version"] = std::to_string(checkpoint_format_version);
  st.metadata[p + "version"] = detail::version_string();
  st.metadata[p + "scalar"] = std::string(dtype_name(dtype_v<S>));
  st.metadata[p + "network"] = net.describe();
  st.metadata[p + "architecture"] = detail::dump_json(architecture);
  st.metadata[p + "parameters"] = detail::dump_json(records);
  if (const auto input = detail::last_input_shape(net)) {
    nlohmann::json dims = nlohmann::json::array();
    for (int i = 0; i < input->rank(); ++i) dims.push_back((*input)[i]);
    st.metadata[p + "input_shape"] = detail::dump_json(dims);
  }
  state.save(st);
  st.metadata[p + "checksum"] = checksum_hex(tensors_checksum(st));  // last: the sampler tensors count too
  return st;
}

/// Restores `net` and the items of `state` from the checkpoint `st` (see the top of this header for
/// what is checked). All or nothing: on an exception `net` and `state`'s objects are unchanged.
template <class S, class D, class... Kinds>
CheckpointInfo restore_checkpoint(const Safetensors& st, Sequential<S, D, Kinds...>& net,
                                  const TrainingState& state = {}) {
  using Net = Sequential<S, D, Kinds...>;
  static_assert((std::is_nothrow_move_assignable_v<layer_t<Kinds, S, D>> && ...),
                "netgrow::io::restore_checkpoint commits the staged layers by move assignment, which must not throw");
  CheckpointInfo info = checkpoint_info(st);
  detail::check_checksum(st);
  require<ArchitectureError>(info.scalar == dtype_name(dtype_v<S>), st.source, ": the checkpoint holds ", info.scalar,
                             " parameters, but the network's scalar type is ", dtype_name(dtype_v<S>));
  const nlohmann::json architecture = detail::metadata_json(st, std::string(reserved_prefix) + "architecture");
  require<IoError>(architecture.is_array(), st.source, ": metadata 'netgrow.architecture' is not a JSON list");
  require<ArchitectureError>(architecture.size() == Net::size, st.source, ": the checkpoint's network has ",
                             architecture.size(), " layers, this one ", Net::size, "\ncheckpoint:\n", info.network,
                             "this network:\n", net.describe());

  Index largest_dimension = 1;
  for (const auto& [name, t] : st.tensors)
    largest_dimension = std::max(largest_dimension, detail::largest_backed_dimension(t));
  detail::LoadContext ctx{st, detail::parse_parameter_records(st), {}, largest_dimension};

  // Stage every layer, then every TrainingState item; nothing has changed yet.
  std::tuple<std::optional<layer_t<Kinds, S, D>>...> staged;
  net.for_each_layer([&](auto i, auto& layer) {
    std::get<decltype(i)::value>(staged).emplace(
        detail::stage_layer(layer, i, i + 1 == Net::size, architecture[i], ctx));
  });
  // The staged layers must fit one another (each layer's shapes were checked on their own).
  if (info.input_shape) {
    detail::check_layers_chain(staged, *info.input_shape, "recorded in the checkpoint", st.source);
  } else if (const auto live_input = detail::last_input_shape(net)) {
    detail::check_layers_chain(staged, *live_input, "of this network's last forward()", st.source);
  }
  for (const auto& [name, record] : ctx.records) {
    (void)record;
    require<ArchitectureError>(ctx.used_tensors.count(name) != 0, st.source, ": parameter '", name,
                               "' of the checkpoint belongs to no layer of this network");
  }
  for (const auto& [name, t] : st.tensors) {
    (void)t;
    require<ArchitectureError>(is_reserved_name(name) || ctx.used_tensors.count(name) != 0, st.source, ": tensor '",
                               name, "' belongs to no parameter of this network");
  }
  const std::function<void()> apply_state = state.stage(st);

  // Commit: moves and validated setters only.
  net.for_each_layer([&](auto i, auto& layer) { layer = std::move(*std::get<decltype(i)::value>(staged)); });
  apply_state();
  return info;
}

/// Writes the checkpoint of `net` and `state` to `path` atomically: a crash or an error (IoError)
/// leaves any previous file at `path` intact.
template <class S, class D, class... Kinds>
void save_checkpoint(const std::filesystem::path& path, Sequential<S, D, Kinds...>& net,
                     const TrainingState& state = {}) {
  write_safetensors(path, make_checkpoint(net, state));
}

/// Reads the checkpoint at `path` into `net` and `state` (restore_checkpoint).
template <class S, class D, class... Kinds>
CheckpointInfo load_checkpoint(const std::filesystem::path& path, Sequential<S, D, Kinds...>& net,
                               const TrainingState& state = {}) {
  return restore_checkpoint(read_safetensors(path), net, state);
}

}  // namespace netgrow::io
