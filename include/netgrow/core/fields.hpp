/// \file
/// netgrow/core/fields.hpp: a layer kind's configuration fields, declared once next to the kind, so
/// that code which must read or write every setting of every kind (checkpoints, messages) needs no list
/// of kinds.
///
/// ~~~
///   struct Dense {
///     Index in = 0, out = 0;
///     bool bias = true;
///     WeightInit init = WeightInit::glorot_uniform;
///     static constexpr auto fields() {
///       return std::tuple{field("in", &Dense::in, FieldRole::width), field("out", &Dense::out, FieldRole::width),
///                         field("bias", &Dense::bias), field("init", &Dense::init)};
///     }
///   };
/// ~~~
/// A field's member is an integer (Index), a double, a bool, an enum with `enum_values(E)` and
/// `to_string(E)` found by argument lookup (WeightInit), another kind with fields, a std::vector of
/// such kinds (Stack's blocks), or a std::vector of integers (Dropout's feature keys). Kinds without
/// settings (Relu1, Flatten) need no fields(): an empty
/// struct has none. io/kind_config.hpp derives the checkpoint record from fields().
#pragma once

#include <concepts>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace netgrow {

/// What growth does to a field.
enum class FieldRole {
  setting,         ///< never changed by growth: must match between a checkpoint and the network it loads into
  width,           ///< changed by growth and shown by the parameter shapes (Dense::out, BatchNorm::channels)
  unshaped_width,  ///< changed by growth and shown by no parameter shape (LayerNorm::eps, rescaled by growth)
  state,           ///< changed by training and shown by no parameter shape (Dropout's mask stream, counter and
                   ///< feature keys): a checkpoint load restores it from the file
};

/// One configuration field of kind Kind: its name in records and messages, the member, and its role.
template <class Kind, class Member>
struct KindField {
  using kind_type = Kind;      ///< the kind the field belongs to
  using member_type = Member;  ///< the member's type
  std::string_view name;       ///< e.g. "in"
  Member Kind::*member;        ///< e.g. &Dense::in
  FieldRole role;              ///< what growth does to it
  bool added_later = false;    ///< a record without it (written before the field existed) means the default
};

/// field("in", &Dense::in, FieldRole::width): a field declaration for a kind's fields().
template <class Kind, class Member>
constexpr KindField<Kind, Member> field(std::string_view name, Member Kind::*member,
                                        FieldRole role = FieldRole::setting) {
  return {name, member, role};
}

/// A field added to a kind after checkpoints of it were written: a record without it loads the kind's
/// default value (TransformerBlock's dropout fields).
template <class Kind, class Member>
constexpr KindField<Kind, Member> added_field(std::string_view name, Member Kind::*member,
                                              FieldRole role = FieldRole::setting) {
  return {name, member, role, true};
}

/// A kind that declares its fields (static constexpr fields() returning a tuple of KindField).
template <class K>
concept DeclaresFields = requires { K::fields(); };

/// A kind whose configuration is known field by field: it declares fields(), or it has no settings at
/// all (an empty, default-constructible struct such as Relu1).
template <class K>
concept DescribedKind = DeclaresFields<K> || (std::is_empty_v<K> && std::default_initializable<K>);

/// The fields of a described kind (an empty tuple for kinds without settings).
template <DescribedKind K>
constexpr auto kind_fields() {
  if constexpr (DeclaresFields<K>) return K::fields();
  else return std::tuple<>{};
}

/// Calls f(field) for each field of K, in declaration order.
template <DescribedKind K, class F>
constexpr void for_each_field(F&& f) {
  std::apply([&](const auto&... fs) { (f(fs), ...); }, kind_fields<K>());
}

/// The number of K's fields whose role is `role`.
template <DescribedKind K>
constexpr std::size_t count_fields(FieldRole role) {
  std::size_t n = 0;
  for_each_field<K>([&](const auto& f) { n += f.role == role ? 1 : 0; });
  return n;
}

}  // namespace netgrow
