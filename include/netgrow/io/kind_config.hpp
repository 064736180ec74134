/// \file
/// netgrow/io/kind_config.hpp: layer kinds as JSON, so a checkpoint records each layer's settings
/// (kernel sizes, strides, BatchNorm momentum, ...) beside its weights, can tell a network of another
/// architecture from a grown copy of its own, and can rebuild the blocks of a Stack whose depth grew.
///
/// Everything here is derived from the fields a kind declares next to its definition
/// (core/fields.hpp): a kind of the user's that declares fields() is recorded like the library's own,
/// with no list of kinds anywhere. KindConfig<K> describes kind K:
/// ~~~{.unparsed}
/// static Json save(const K&)      a JSON object with one entry per field
/// static K load(const Json&)      the inverse; IoError naming the kind and field when a field is
///                                 missing or of the wrong type
/// static constexpr widths         names of the fields growth or training changes (FieldRole::width,
///                                 unshaped_width and state); the others must match between a checkpoint
///                                 and the network it is loaded into
/// static constexpr unshaped_widths
///                                 those of them that no parameter shape determines (the eps of LayerNorm,
///                                 which its growth rescales, and of BatchNorm, which variance transfer
///                                 rescales; Dropout's mask stream, counter and keys); a checkpoint load takes
///                                 them from the file's settings, the other widths from the parameter shapes
/// ~~~
/// Kinds without fields() and with settings are matched by name and parameter shapes only
/// (RecordedKind is false for them). KindConfig may still be specialised by hand for such a kind.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"
#include "netgrow/core/fields.hpp"

namespace netgrow::io {

using Json = nlohmann::json;  ///< the JSON type of layer settings

/// How checkpoints record layer kind K (see above): derived from K's fields for described kinds, not
/// defined for others (unless specialised by hand).
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

/// An enum whose values and names come from enum_values(E) and to_string(E) (found by argument lookup);
/// enum_name(E), when it exists, names the enum in messages ("weight initialiser").
template <class E>
concept NamedEnum = std::is_enum_v<E> && requires(E e) {
  enum_values(e);
  { to_string(e) } -> std::convertible_to<std::string_view>;
};

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

/// Reads typed fields of one kind's JSON object, with messages naming the kind and the field.
class ConfigReader {
 public:
  ConfigReader(const Json& j, std::string_view kind) : j_(j), kind_(kind) {
    require<IoError>(j.is_object(), "layer settings of ", kind, ": expected a JSON object, got ", j.dump());
  }

  Index integer(std::string_view key) const {
    const Json& v = field(key);
    require<IoError>(fits_index(v), "layer settings of ", kind_, ": field '", key, "' is not an integer (", v.dump(),
                     ")");
    return v.get<Index>();
  }
  /// Whether v is an integer an Index holds.
  static bool fits_index(const Json& v) {
    return v.is_number_unsigned()
               ? v.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<Index>::max())
               : v.is_number_integer();
  }
  double number(std::string_view key) const {
    const Json& v = field(key);
    require<IoError>(v.is_number(), "layer settings of ", kind_, ": field '", key, "' is not a number (", v.dump(),
                     ")");
    return v.get<double>();
  }
  bool boolean(std::string_view key) const {
    const Json& v = field(key);
    require<IoError>(v.is_boolean(), "layer settings of ", kind_, ": field '", key, "' is not true or false (",
                     v.dump(), ")");
    return v.get<bool>();
  }
  template <NamedEnum E>
  E enumerator(std::string_view key, std::string_view what) const {
    const Json& v = field(key);
    if (v.is_string())
      for (const E e : enum_values(E{}))
        if (to_string(e) == v.get_ref<const std::string&>()) return e;
    throw IoError(netgrow::detail::concat("layer settings of ", kind_, ": field '", key, "' is not ", what, " (",
                                          v.dump(), ")"));
  }
  const Json& field(std::string_view key) const {
    const auto it = j_.find(std::string(key));
    require<IoError>(it != j_.end(), "layer settings of ", kind_, ": field '", key, "' is missing");
    return *it;
  }

 private:
  const Json& j_;
  std::string_view kind_;
};

// What an enum field is, for messages: "a weight initialiser" for WeightInit.
template <class E>
std::string enum_description(E e) {
  if constexpr (requires { enum_name(e); }) return "a " + std::string(enum_name(e));
  else return "a known value";
}

template <class M>
Json value_to_json(const M& v);
template <class M>
M value_from_json(const ConfigReader& r, std::string_view key);

}  // namespace detail

/// The record of a described kind (core/fields.hpp): one JSON entry per field.
template <DescribedKind K>
struct KindConfig<K> {
 private:
  template <FieldRole... Roles>
  static constexpr auto names_with() {
    constexpr std::size_t n = (count_fields<K>(Roles) + ... + 0);
    std::array<std::string_view, n> names{};
    std::size_t i = 0;
    for_each_field<K>([&](const auto& f) {
      if (((f.role == Roles) || ...)) names[i++] = f.name;
    });
    return names;
  }

 public:
  /// The fields growth or training changes, those of them shapes do not show (see the file comment).
  ///@{
  static constexpr auto widths = names_with<FieldRole::width, FieldRole::unshaped_width, FieldRole::state>();
  static constexpr auto unshaped_widths = names_with<FieldRole::unshaped_width, FieldRole::state>();
  ///@}
  /// The fields training changes (FieldRole::state): stream seeds and counters, not sizes.
  static constexpr auto states = names_with<FieldRole::state>();

  /// The kind as a JSON object, one entry per field.
  static Json save(const K& k) {
    Json j = Json::object();
    for_each_field<K>([&](const auto& f) { j[std::string(f.name)] = detail::value_to_json(k.*(f.member)); });
    return j;
  }

  /// A record `j` as this version writes it: the fields added later that it lacks, at their defaults;
  /// everything else (unknown entries included) as it is.
  static Json with_added_defaults(const Json& j) {
    Json out = j;
    if (!out.is_object()) return out;
    const K defaults{};
    for_each_field<K>([&](const auto& f) {
      using M = typename std::remove_cvref_t<decltype(f)>::member_type;
      const std::string name(f.name);
      if (!out.contains(name)) {
        if (f.added_later) out[name] = detail::value_to_json(defaults.*(f.member));
        return;
      }
      Json& v = out[name];  // kinds inside (a Stack's blocks) get theirs too
      if constexpr (detail::is_vector<M>::value) {
        using Item = typename M::value_type;
        if constexpr (requires(const Json& x) { KindConfig<Item>::with_added_defaults(x); })
          if (v.is_array())
            for (Json& item : v) item = KindConfig<Item>::with_added_defaults(item);
      } else if constexpr (requires(const Json& x) { KindConfig<M>::with_added_defaults(x); }) {
        v = KindConfig<M>::with_added_defaults(v);
      }
    });
    return out;
  }

  /// The inverse of save(); IoError naming the kind and field when one is missing or mistyped.
  static K load(const Json& j) {
    const detail::ConfigReader r(j, K::name);
    K k{};
    for_each_field<K>([&](const auto& f) {
      using M = typename std::remove_cvref_t<decltype(f)>::member_type;
      if (f.added_later && !j.contains(std::string(f.name))) return;  // an older record: the default
      k.*(f.member) = detail::value_from_json<M>(r, f.name);
    });
    return k;
  }
};

namespace detail {

template <class M>
Json value_to_json(const M& v) {
  if constexpr (std::same_as<M, bool> || std::is_arithmetic_v<M>) {
    return Json(v);
  } else if constexpr (NamedEnum<M>) {
    return Json(std::string(to_string(v)));
  } else if constexpr (is_vector<M>::value) {
    Json list = Json::array();
    for (const auto& item : v) list.push_back(value_to_json(item));
    return list;
  } else {
    static_assert(RecordedKind<M>, "netgrow::io: a kind field must be an integer, a double, a bool, an enum with "
                                   "enum_values() and to_string(), a kind with fields(), or a vector of integers or "
                                   "kinds");
    return KindConfig<M>::save(v);
  }
}

template <class M>
M value_from_json(const ConfigReader& r, std::string_view key) {
  if constexpr (std::same_as<M, bool>) {
    return r.boolean(key);
  } else if constexpr (std::is_integral_v<M>) {
    const Index v = r.integer(key);
    require<IoError>(v >= static_cast<Index>(std::numeric_limits<M>::min()) &&
                         static_cast<std::uint64_t>(v) <= static_cast<std::uint64_t>(std::numeric_limits<M>::max()),
                     "layer settings: field '", key, "' = ", v, " is out of range");
    return static_cast<M>(v);
  } else if constexpr (std::is_floating_point_v<M>) {
    return static_cast<M>(r.number(key));
  } else if constexpr (NamedEnum<M>) {
    return r.template enumerator<M>(key, enum_description(M{}));
  } else if constexpr (is_vector<M>::value && std::is_integral_v<typename M::value_type>) {
    const Json& list = r.field(key);
    require<IoError>(list.is_array(), "layer settings: '", key, "' is not a list");
    M items;
    for (const Json& item : list) {
      require<IoError>(ConfigReader::fits_index(item), "layer settings: '", key, "' holds ", item.dump(),
                       ", not a 64-bit integer");
      items.push_back(static_cast<typename M::value_type>(item.get<Index>()));
    }
    return items;
  } else if constexpr (is_vector<M>::value) {
    using Item = typename M::value_type;
    const Json& list = r.field(key);
    require<IoError>(list.is_array() && !list.empty(), "layer settings: '", key, "' is not a non-empty list");
    M items;
    for (const Json& item : list) items.push_back(KindConfig<Item>::load(item));
    return items;
  } else {
    return KindConfig<M>::load(r.field(key));
  }
}

}  // namespace detail

/// `from_shapes` (a kind whose widths come from parameter shapes) with KindConfig<K>::unshaped_widths, when
/// K has them, taken from `file_config` (a checkpoint's settings of that layer); IoError naming the kind
/// and field when one is missing or mistyped.
template <RecordedKind K>
K with_unshaped_widths(const K& from_shapes, const Json& file_config) {
  if constexpr (requires { KindConfig<K>::unshaped_widths; }) {
    if (KindConfig<K>::unshaped_widths.empty()) return from_shapes;
    Json j = KindConfig<K>::save(from_shapes);
    const detail::ConfigReader r(file_config, K::name);
    for (const std::string_view w : KindConfig<K>::unshaped_widths) {
      if (!file_config.contains(std::string(w))) j.erase(std::string(w));  // load() says whether it may be absent
      else j[std::string(w)] = r.field(w);
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
