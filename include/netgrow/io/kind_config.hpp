/// \file
/// netgrow/io/kind_config.hpp: layer kinds as JSON, so a checkpoint records each layer's settings
/// (kernel sizes, strides, BatchNorm momentum, ...) beside its weights, can tell a network of another
/// architecture from a grown copy of its own, and can rebuild the blocks of a Stack whose depth grew.
///
/// KindConfig<K> describes kind K:
/// ~~~{.unparsed}
/// static Json save(const K&)      a JSON object with one field per setting
/// static K load(const Json&)      the inverse; IoError naming the kind and field when a field is
///                                 missing or of the wrong type
/// static constexpr widths         names of the fields that width growth changes ("in", "out",
///                                 "channels", ...); the others must match between a checkpoint and
///                                 the network it is loaded into
/// static constexpr unshaped_widths
///                                 optional: the width fields that no parameter shape determines
///                                 (the eps of LayerNorm, which its growth rescales, and of BatchNorm,
///                                 which variance transfer rescales); a checkpoint load
///                                 takes them from the file's settings, the other widths from the
///                                 parameter shapes
/// ~~~
/// Every kind netgrow defines has one; a kind without fields (Relu1, Flatten, ...) gets one
/// automatically. Specialise KindConfig for kinds of your own to give them the same checks; kinds
/// without one are matched by name and parameter shapes only.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <concepts>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "netgrow/core/error.hpp"
#include "netgrow/core/init.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/avg_pool2d.hpp"
#include "netgrow/layers/batch_norm.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/depthwise_conv2d.hpp"
#include "netgrow/layers/layer_norm.hpp"
#include "netgrow/layers/max_pool2d.hpp"
#include "netgrow/layers/wide_block.hpp"
#include "netgrow/network/stack.hpp"

namespace netgrow::io {

using Json = nlohmann::json;  ///< the JSON type of layer settings

/// How checkpoints record layer kind K (see above); not defined for kinds without a record.
template <class K>
struct KindConfig;

/// A kind with a KindConfig: save, load and widths.
template <class K>
concept RecordedKind = requires(const K& k, const Json& j) {
  { KindConfig<K>::save(k) } -> std::same_as<Json>;
  { KindConfig<K>::load(j) } -> std::same_as<K>;
  KindConfig<K>::widths;
};

namespace detail {

/// The WeightInit named `name` (to_string's spelling), or nullopt.
inline std::optional<WeightInit> parse_weight_init(std::string_view name) {
  for (const WeightInit w :
       {WeightInit::zeros, WeightInit::glorot_uniform, WeightInit::glorot_normal, WeightInit::he_uniform,
        WeightInit::he_normal, WeightInit::lecun_normal, WeightInit::torch_default})
    if (to_string(w) == name) return w;
  return std::nullopt;
}

/// Reads typed fields of one kind's JSON object, with messages naming the kind and the field.
class ConfigReader {
 public:
  ConfigReader(const Json& j, std::string_view kind) : j_(j), kind_(kind) {
    require<IoError>(j.is_object(), "layer settings of ", kind, ": expected a JSON object, got ", j.dump());
  }

  Index integer(const char* key) const {
    const Json& v = field(key);
    const bool fits = v.is_number_unsigned()
                          ? v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<Index>::max())
                          : v.is_number_integer();
    require<IoError>(fits, "layer settings of ", kind_, ": field '", key, "' is not an integer (", v.dump(), ")");
    return v.is_number_unsigned() ? static_cast<Index>(v.get<std::uint64_t>())
                                  : static_cast<Index>(v.get<std::int64_t>());
  }
  double number(const char* key) const {
    const Json& v = field(key);
    require<IoError>(v.is_number(), "layer settings of ", kind_, ": field '", key, "' is not a number (", v.dump(),
                     ")");
    return v.get<double>();
  }
  bool boolean(const char* key) const {
    const Json& v = field(key);
    require<IoError>(v.is_boolean(), "layer settings of ", kind_, ": field '", key, "' is not true or false (",
                     v.dump(), ")");
    return v.get<bool>();
  }
  WeightInit init(const char* key) const {
    const Json& v = field(key);
    const auto w = v.is_string() ? parse_weight_init(v.get_ref<const std::string&>()) : std::nullopt;
    require<IoError>(w.has_value(), "layer settings of ", kind_, ": field '", key, "' is not a weight initialiser (",
                     v.dump(), ")");
    return *w;
  }
  const Json& field(const char* key) const {
    const auto it = j_.find(key);
    require<IoError>(it != j_.end(), "layer settings of ", kind_, ": field '", key, "' is missing");
    return *it;
  }

 private:
  const Json& j_;
  std::string_view kind_;
};

}  // namespace detail

/// Dense: in, out, bias, init.
template <>
struct KindConfig<Dense> {
  /// The fields width growth changes, and the kind to and from JSON (see the file comment).
  ///@{
  static constexpr std::array<std::string_view, 2> widths{"in", "out"};
  static Json save(const Dense& k) {
    return {{"in", k.in}, {"out", k.out}, {"bias", k.bias}, {"init", std::string(to_string(k.init))}};
  }
  static Dense load(const Json& j) {
    const detail::ConfigReader r(j, Dense::name);
    return Dense{.in = r.integer("in"), .out = r.integer("out"), .bias = r.boolean("bias"), .init = r.init("init")};
  }
  ///@}
};

/// Conv2d: in, out, kernel, stride, padding, bias, init.
template <>
struct KindConfig<Conv2d> {
  /// The fields width growth changes, and the kind to and from JSON (see the file comment).
  ///@{
  static constexpr std::array<std::string_view, 2> widths{"in", "out"};
  static Json save(const Conv2d& k) {
    return {{"in", k.in},
            {"out", k.out},
            {"kernel", k.kernel},
            {"stride", k.stride},
            {"padding", k.padding},
            {"bias", k.bias},
            {"init", std::string(to_string(k.init))}};
  }
  static Conv2d load(const Json& j) {
    const detail::ConfigReader r(j, Conv2d::name);
    return Conv2d{.in = r.integer("in"),
                  .out = r.integer("out"),
                  .kernel = r.integer("kernel"),
                  .stride = r.integer("stride"),
                  .padding = r.integer("padding"),
                  .bias = r.boolean("bias"),
                  .init = r.init("init")};
  }
  ///@}
};

/// DepthwiseConv2d: channels, kernel, stride, padding, bias, init.
template <>
struct KindConfig<DepthwiseConv2d> {
  /// The fields width growth changes, and the kind to and from JSON (see the file comment).
  ///@{
  static constexpr std::array<std::string_view, 1> widths{"channels"};
  static Json save(const DepthwiseConv2d& k) {
    return {{"channels", k.channels}, {"kernel", k.kernel}, {"stride", k.stride},
            {"padding", k.padding},   {"bias", k.bias},     {"init", std::string(to_string(k.init))}};
  }
  static DepthwiseConv2d load(const Json& j) {
    const detail::ConfigReader r(j, DepthwiseConv2d::name);
    return DepthwiseConv2d{.channels = r.integer("channels"),
                           .kernel = r.integer("kernel"),
                           .stride = r.integer("stride"),
                           .padding = r.integer("padding"),
                           .bias = r.boolean("bias"),
                           .init = r.init("init")};
  }
  ///@}
};

/// BatchNorm: channels, momentum, eps (growth changes eps when variance transfer rescales the input).
template <>
struct KindConfig<BatchNorm> {
  /// The fields growth changes, those of them shapes do not show, and the kind to and from JSON (see the
  /// file comment).
  ///@{
  static constexpr std::array<std::string_view, 2> widths{"channels", "eps"};
  static constexpr std::array<std::string_view, 1> unshaped_widths{"eps"};
  static Json save(const BatchNorm& k) { return {{"channels", k.channels}, {"momentum", k.momentum}, {"eps", k.eps}}; }
  static BatchNorm load(const Json& j) {
    const detail::ConfigReader r(j, BatchNorm::name);
    return BatchNorm{.channels = r.integer("channels"), .momentum = r.number("momentum"), .eps = r.number("eps")};
  }
  ///@}
};

/// LayerNorm: features, eps. Growth changes both (grow_channels_from rescales eps); eps shows in no
/// parameter shape, so a checkpoint load reads it from the file.
template <>
struct KindConfig<LayerNorm> {
  /// The fields width growth changes, those of them no parameter shape determines, and the kind to and
  /// from JSON (see the file comment).
  ///@{
  static constexpr std::array<std::string_view, 2> widths{"features", "eps"};
  static constexpr std::array<std::string_view, 1> unshaped_widths{"eps"};
  static Json save(const LayerNorm& k) { return {{"features", k.features}, {"eps", k.eps}}; }
  static LayerNorm load(const Json& j) {
    const detail::ConfigReader r(j, LayerNorm::name);
    return LayerNorm{.features = r.integer("features"), .eps = r.number("eps")};
  }
  ///@}
};

/// MaxPool2d and AvgPool2d: kernel, stride, padding.
template <class Pool>
  requires(std::same_as<Pool, MaxPool2d> || std::same_as<Pool, AvgPool2d>)
struct KindConfig<Pool> {
  /// The fields width growth changes, and the kind to and from JSON (see the file comment).
  ///@{
  static constexpr std::array<std::string_view, 0> widths{};
  static Json save(const Pool& k) { return {{"kernel", k.kernel}, {"stride", k.stride}, {"padding", k.padding}}; }
  static Pool load(const Json& j) {
    const detail::ConfigReader r(j, Pool::name);
    return Pool{.kernel = r.integer("kernel"), .stride = r.integer("stride"), .padding = r.integer("padding")};
  }
  ///@}
};

/// LeakyRelu: slope.
template <>
struct KindConfig<LeakyRelu> {
  /// The fields width growth changes, and the kind to and from JSON (see the file comment).
  ///@{
  static constexpr std::array<std::string_view, 0> widths{};
  static Json save(const LeakyRelu& k) { return {{"slope", k.slope}}; }
  static LeakyRelu load(const Json& j) {
    LeakyRelu k;
    k.slope = detail::ConfigReader(j, LeakyRelu::name).number("slope");
    return k;
  }
  ///@}
};

/// Kinds without settings (Relu1, Relu, Tanh, Identity, Gelu, CenteredLogistic, Flatten,
/// GlobalAvgPool, ...): an empty object.
template <class K>
  requires(std::is_empty_v<K> && std::default_initializable<K>)
struct KindConfig<K> {
  /// The fields width growth changes, and the kind to and from JSON (see the file comment).
  ///@{
  static constexpr std::array<std::string_view, 0> widths{};
  static Json save(const K&) { return Json::object(); }
  static K load(const Json& j) {
    require<IoError>(j.is_object(), "layer settings of ", K::name, ": expected a JSON object, got ", j.dump());
    return K{};
  }
  ///@}
};

/// WideBlock and WideBlockBN: in, inner, out, stride, bn_momentum, bn_eps.
template <bool InnerNorm>
struct KindConfig<WideBlockKind<InnerNorm>> {
  using K = WideBlockKind<InnerNorm>;  ///< the block kind
  /// The fields width growth changes, and the kind to and from JSON (see the file comment).
  ///@{
  static constexpr std::array<std::string_view, 3> widths{"in", "inner", "out"};
  static Json save(const K& k) {
    return {
        {"in", k.in},        {"inner", k.inner}, {"out", k.out}, {"stride", k.stride}, {"bn_momentum", k.bn_momentum},
        {"bn_eps", k.bn_eps}};
  }
  static K load(const Json& j) {
    const detail::ConfigReader r(j, K::name);
    return K{.in = r.integer("in"),
             .inner = r.integer("inner"),
             .out = r.integer("out"),
             .stride = r.integer("stride"),
             .bn_momentum = r.number("bn_momentum"),
             .bn_eps = r.number("bn_eps")};
  }
  ///@}
};

/// A Stack records its blocks' kinds in order: {"blocks": [{...}, ...]}. Its depth can grow, so it has
/// no fixed width fields of its own; checkpoints compare its blocks one by one when depths agree.
template <RecordedKind K>
struct KindConfig<Stack<K>> {
  /// The fields width growth changes, and the kind to and from JSON (see the file comment).
  ///@{
  static constexpr std::array<std::string_view, 0> widths{};
  static Json save(const Stack<K>& k) {
    Json blocks = Json::array();
    for (const K& b : k.blocks) blocks.push_back(KindConfig<K>::save(b));
    return {{"blocks", blocks}};
  }
  static Stack<K> load(const Json& j) {
    const Json& blocks = detail::ConfigReader(j, "Stack").field("blocks");
    require<IoError>(blocks.is_array() && !blocks.empty(), "layer settings of Stack: 'blocks' is not a non-empty list");
    Stack<K> s;
    for (const Json& b : blocks) s.blocks.push_back(KindConfig<K>::load(b));
    return s;
  }
  ///@}
};

/// `from_shapes` (a kind whose widths come from parameter shapes) with KindConfig<K>::unshaped_widths, when
/// K has them, taken from `file_config` (a checkpoint's settings of that layer); IoError naming the kind
/// and field when one is missing or mistyped.
template <RecordedKind K>
K with_unshaped_widths(const K& from_shapes, const Json& file_config) {
  if constexpr (requires { KindConfig<K>::unshaped_widths; }) {
    Json j = KindConfig<K>::save(from_shapes);
    const detail::ConfigReader r(file_config, K::name);
    for (const std::string_view w : KindConfig<K>::unshaped_widths) {
      const std::string key(w);
      j[key] = r.field(key.c_str());
    }
    return KindConfig<K>::load(j);
  } else {
    return from_shapes;
  }
}

/// The settings of `k` that growth never changes: save(k) without the width fields.
template <RecordedKind K>
Json fixed_settings(const K& k) {
  Json j = KindConfig<K>::save(k);
  for (const std::string_view w : KindConfig<K>::widths) j.erase(std::string(w));
  return j;
}

}  // namespace netgrow::io
