/// \file
/// netgrow/grow/traits.hpp: which layers can take part in width growth, as concepts, and the
/// compile-time check that a (producer, consumer) pair of a network can grow.
///
/// A pair P -> C grows k neurons by appending k outputs to layer P (its incoming weights), k inputs to
/// layer C (its outgoing weights), and k channels to every layer between them by identity.
/// ~~~{.unparsed}
///   WidthProducer      has weight() with neurons along output_axis, and grow_outputs(incoming, bias)
///   WidthConsumer      has weight() with neurons along input_axis, and grow_inputs(outgoing)
///   IdentityGrowable   grow_channels(k) keeps its function on the old channels (activations)
///   CopyGrowable       mixes channels, grows only from copied/averaged ones (LayerNorm; grow::Lemon)
/// ~~~
#pragma once

#include <concepts>
#include <cstddef>
#include <span>
#include <utility>

#include "netgrow/layers/activation_functions.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow::grow {

/// A layer that can add output neurons: weight() with neurons along output_axis, grow_outputs(incoming, bias).
template <class L>
concept WidthProducer = requires(L& l, ConstView<typename L::scalar_type, typename L::device_type> v) {
  l.grow_outputs(v, v);
  l.weight();
  { L::output_axis } -> std::convertible_to<int>;
};

/// A layer that can add input neurons: weight() with neurons along input_axis, grow_inputs(outgoing).
template <class L>
concept WidthConsumer = requires(L& l, ConstView<typename L::scalar_type, typename L::device_type> v) {
  l.grow_inputs(v);
  l.weight();
  { L::input_axis } -> std::convertible_to<int>;
};

/// A layer that grows k channels by identity with grow_channels(k), keeping its function on the old ones.
template <class L>
concept IdentityGrowable = requires(L& l, Index k) { l.grow_channels(k); };

/// A layer that mixes channels (LayerNorm: mixes_channels = true), so identity growth would change what it
/// computes on the old ones, but that grows losslessly from copied and averaged channels with
/// grow_channels_from(sources) (LEMON's expansion; grow::Lemon and grow::Split give such sources).
template <class L>
concept CopyGrowable = requires(L& l, std::span<const Index> sources) {
  l.grow_channels_from(sources);
  requires L::mixes_channels;
};

/// The activation of a layer between a grown pair, when it is one.
template <class L>
concept ActivationBetween = IdentityGrowable<L> && Activation<typename L::kind_type>;

namespace detail {

// True when Predicate::holds<L>() for every layer type L strictly between P and C. (Predicates are
// structs with a static member template, not template lambdas, which nvcc warns about.)
template <class Net, std::size_t P, std::size_t C, class Predicate, std::size_t... Is>
constexpr bool all_between(std::index_sequence<Is...>) {
  return (Predicate::template holds<typename Net::template layer_type<P + 1 + Is>>() && ...);
}

struct IsIdentityGrowable {
  template <class L>
  static constexpr bool holds() {
    return IdentityGrowable<L>;
  }
};
struct IsGrowableBetween {
  template <class L>
  static constexpr bool holds() {
    return IdentityGrowable<L> || CopyGrowable<L>;
  }
};
// Activations with f(0) = 0; other layers pass.
struct ZeroAtZero {
  template <class L>
  static constexpr bool holds() {
    if constexpr (ActivationBetween<L>) return L::kind_type::zero_at_zero;
    else return true;
  }
};
// Activations with f'(0) != 0; other layers pass.
struct NonzeroSlope {
  template <class L>
  static constexpr bool holds() {
    if constexpr (ActivationBetween<L>) return L::kind_type::nonzero_slope_at_zero;
    else return true;
  }
};

}  // namespace detail

/// Compile-time facts about the pair (P, C) of network type Net.
template <class Net, std::size_t P, std::size_t C>
struct PairTraits {
  static_assert(P < C, "netgrow::grow: a pair needs producer index P < consumer index C");
  static_assert(C < Net::size, "netgrow::grow: consumer index C is past the last layer");
  // For indices the assertions above refuse, the members below are formed from index 0 and an empty range,
  // so that those assertions are the only errors (not an index sequence of 2^64 - 2 or a tuple index error).
  static constexpr bool indices_ok = P < C && C < Net::size;
  using Producer = typename Net::template layer_type<indices_ok ? P : 0>;  ///< the layer type at index P
  using Consumer = typename Net::template layer_type<indices_ok ? C : 0>;  ///< the layer type at index C
  using Between = std::make_index_sequence<indices_ok ? C - P - 1 : 0>;    ///< offsets of the layers between them

  static constexpr bool producer_ok = WidthProducer<Producer>;  ///< the producer can add output neurons
  static constexpr bool consumer_ok = WidthConsumer<Consumer>;  ///< the consumer can add input neurons
  /// Every layer between the pair grows: by identity, or from copied channels (LayerNorm).
  static constexpr bool between_ok = detail::all_between<Net, P, C, detail::IsGrowableBetween>(Between{});
  /// Every layer between the pair grows by identity (no LayerNorm): any initializer may grow the pair.
  static constexpr bool identity_between = detail::all_between<Net, P, C, detail::IsIdentityGrowable>(Between{});
  /// Every activation between the pair has f(0) = 0 (zero incoming weights give zero output).
  static constexpr bool zero_at_zero = detail::all_between<Net, P, C, detail::ZeroAtZero>(Between{});
  /// Every activation between the pair has f'(0) != 0 (GradMax's new neurons receive a gradient).
  static constexpr bool nonzero_slope = detail::all_between<Net, P, C, detail::NonzeroSlope>(Between{});
  /// The pair can grow at all (what the index assertions above and PairCheck assert).
  static constexpr bool growable = indices_ok && producer_ok && consumer_ok && between_ok;
};

/// Fails compilation with a readable message when the pair (P, C) of Net cannot grow at all. Declare one
/// where a function first uses the pair, `[[maybe_unused]] constexpr PairCheck<Net, P, C> check{};`: a class
/// is checked where it is named, so its message comes before any error the rest of the function would
/// cause (a function's body is checked only at the end of the translation unit, after them).
template <class Net, std::size_t P, std::size_t C>
struct PairCheck {
  using T = PairTraits<Net, P, C>;
  static_assert(T::producer_ok,
                "netgrow::grow: layer P of the pair cannot add output neurons; the producer must be a weight "
                "layer such as Dense");
  static_assert(T::consumer_ok,
                "netgrow::grow: layer C of the pair cannot add input neurons; the consumer must be a weight layer "
                "such as Dense");
  static_assert(T::between_ok,
                "netgrow::grow: a layer between P and C cannot grow; only channel-preserving layers (activations, "
                "BatchNorm, pooling, depthwise convolutions, Flatten) and LayerNorm may sit between a grown pair");
};

}  // namespace netgrow::grow
