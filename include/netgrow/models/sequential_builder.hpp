/// \file
/// netgrow/models/sequential_builder.hpp: building long Sequential types from repeated groups of
/// layer kinds (VGG and MobileNet repeat the same few layers many times).
///
/// ~~~
///   using Block = kind_list<Conv2d, Relu1>;
///   using Net = sequential_from_t<float, Cpu, concat_t<repeat_t<8, Block>, kind_list<Conv2d, Flatten>>>;
///   Net net = build_sequential<Net>(rng, std::tuple_cat(kinds...));   // one kind value per layer
/// ~~~
#pragma once

#include <tuple>
#include <utility>

#include "netgrow/network/sequential.hpp"

namespace netgrow::models {

/// A compile-time list of layer kinds.
template <class... Kinds>
struct kind_list {};

/// The kind_lists `Lists` joined in order (at least one list).
template <class... Lists>
struct concat;
/// One list: itself.
template <class... A>
struct concat<kind_list<A...>> {
  using type = kind_list<A...>;  ///< the joined list
};
/// Two or more lists: the first two joined, then the rest.
template <class... A, class... B, class... Rest>
struct concat<kind_list<A...>, kind_list<B...>, Rest...> {
  using type = typename concat<kind_list<A..., B...>, Rest...>::type;  ///< the joined list
};
/// The kind_lists `Lists` joined in order.
template <class... Lists>
using concat_t = typename concat<Lists...>::type;

/// `List` repeated N times (N >= 1).
template <std::size_t N, class List>
struct repeat {
  using type = concat_t<List, typename repeat<N - 1, List>::type>;  ///< the repeated list
};
/// `List` once: itself.
template <class List>
struct repeat<1, List> {
  using type = List;  ///< the list
};
/// `List` repeated N times (N >= 1).
template <std::size_t N, class List>
using repeat_t = typename repeat<N, List>::type;

/// The Sequential of scalar S on device D whose layers are the kinds of `List`.
template <class S, class D, class List>
struct sequential_from;
/// The Sequential of scalar S on device D whose layers are Kinds...
template <class S, class D, class... Kinds>
struct sequential_from<S, D, kind_list<Kinds...>> {
  using type = Sequential<S, D, Kinds...>;  ///< the network type
};
/// The Sequential of scalar S on device D whose layers are the kinds of `List`.
template <class S, class D, class List>
using sequential_from_t = typename sequential_from<S, D, List>::type;

/// Builds Net from a tuple holding one kind value per layer, in order.
template <class Net, class Tuple>
Net build_sequential(Rng& rng, const Tuple& kinds) {
  return std::apply([&](const auto&... k) { return Net(rng, k...); }, kinds);
}

}  // namespace netgrow::models
