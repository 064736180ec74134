/// \file
/// netgrow/grow/stream.hpp: model-width growth of a transformer: the residual stream's d features
/// become d' without changing the network's function (LEMON's expansion through LayerNorm; the
/// per-layer rules are in layers/stream_expansion.hpp).
///
/// ~~~
///   // Embedding, PositionalEmbedding, Stack<TransformerBlock>, LayerNorm, Dense: d 64 -> 128
///   grow::expand_stream(net, 128, grow::Lemon{}, rng);
/// ~~~
///
/// Every layer with parameters must take part (declare grow_stream): the first layer writes the stream
/// (Embedding, PatchEmbedding) and gives d; parameter-free layers (SequencePool, activations) pass it
/// on, and those that key its features declare `follow_stream(e)` (Dropout: a copy is dropped where its
/// source is). A layer that can refuse an expansion declares `check_stream(e)`, called before anything
/// changes (Dropout refuses LEMON's average features). A Dense on the stream is read as a reader (the
/// output head). Within a transformer block every
/// reader reads a LayerNorm's output, so the average features' weights are random (LEMON), after the
/// final LayerNorm too; gradients and Adam moments of the new entries start at zero, the existing ones
/// keep theirs. Exact in double up to rounding (the average features' LayerNorm output is a rounding
/// error of the row mean). With d' a multiple of d there are no averages: HyperCloning's integer
/// expansion with LEMON's split. Any device (each layer works out its new rows and columns on the host and
/// copies them over). `expand_stream(net, d', grow::Msg{...}, rng)` grows by masked structural growth
/// instead (below; on any device too).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "netgrow/core/clock.hpp"
#include "netgrow/grow/lemon.hpp"
#include "netgrow/layers/stream_expansion.hpp"
#include "netgrow/network/sequential.hpp"

namespace netgrow::grow {

/// What one model-width growth did.
struct StreamReport {
  Index old_width = 0, new_width = 0;  ///< d and d'
  Index averages = 0;                  ///< new features that hold the mean (d' not a multiple of d)
  double seconds = 0;                  ///< wall time
};

/// Masked structural growth's settings (MSG, Yao et al., ICLR 2024): new units faded in by a gain
/// rising linearly from 0 to 1 over `fade_steps` steps (layers/fade_mask.hpp); the training loop calls
/// grow::advance_fades(net) once per optimizer step (grow/msg.hpp).
struct Msg {
  std::int64_t fade_steps = 100;  ///< steps from gain 0 to gain 1, >= 1
};

namespace detail {

template <class S, class D, class... Kinds>
StreamReport expand_stream(Sequential<S, D, Kinds...>& net, Index new_width, StreamExpansion<S> e) {
  using Net = Sequential<S, D, Kinds...>;
  const double start = monotonic_seconds();
  using First = typename Net::template layer_type<0>;
  static_assert(requires(First& f, const StreamExpansion<S>& x) { f.grow_stream(x); f.dim(); },
                "netgrow::grow::expand_stream: the network's first layer must write the stream (Embedding, "
                "PatchEmbedding: grow_stream and dim())");
  const Index old = net.template layer<0>().dim();
  require(new_width >= old, "expand_stream: new width ", new_width, " is below the stream's ", old);
  // Every layer checked before anything changes.
  bool finite = true;
  net.visit_parameters([&](const std::string&, Parameter<S, D>& p) { finite = finite && ops::all_finite<S>(p.value); });
  require<NumericError>(finite, "expand_stream: the network holds NaN or infinity; growth refused, it is unchanged");
  e.old_width = old;
  e.sources = e.masked() ? std::vector<Index>(static_cast<std::size_t>(new_width - old), average_source)
                         : Lemon::sources(old, new_width - old, true);
  std::size_t i = 0;
  bool normalized = false;
  net.for_each_layer([&](auto, auto& layer) {
    using L = std::remove_cvref_t<decltype(layer)>;
    if constexpr (requires { layer.check_stream(e); }) layer.check_stream(e);  // a layer's own refusal
    if constexpr (!requires { layer.grow_stream(e); }) {
      require(netgrow::parameter_count(layer) == 0, "expand_stream: layer ", i, " (", layer.describe(),
              ") has parameters but cannot widen the stream (no grow_stream)");
    } else {
      if constexpr (requires { layer.in_features(); layer.fade_inputs(0, 1, 1); })
        require(!e.masked() || i == 0 || normalized, "expand_stream: masked growth (MSG) needs every reader of the "
                "stream after a LayerNorm, and layer ", i, " (", layer.describe(), ") reads it directly");
      normalized = requires { requires L::mixes_channels; };
    }
    ++i;
  });
  StreamReport report{old, new_width, 0, 0};
  for (Index s : e.sources) report.averages += s == average_source && !e.masked() ? 1 : 0;
  if (new_width == old) return report;
  e.normalized = false;
  net.for_each_layer([&](auto, auto& layer) {
    using L = std::remove_cvref_t<decltype(layer)>;
    if constexpr (requires { layer.grow_stream(e); }) {
      layer.grow_stream(e);
      e.normalized = requires { requires L::mixes_channels; };  // after a LayerNorm readers see its output
    } else if constexpr (requires { layer.follow_stream(e); }) {
      layer.follow_stream(e);  // a parameter-free layer that keys the stream's features (Dropout)
    }
  });
  report.seconds = monotonic_seconds() - start;
  return report;
}

}  // namespace detail

/// Widens the residual stream of `net` to new_width features (see the file comment); `lemon.spread`
/// sets the random split (0: equal split). Throws, leaving the network unchanged, for a width below the
/// current one, a layer with parameters that cannot widen the stream, or non-finite weights.
template <class S, class D, class... Kinds>
StreamReport expand_stream(Sequential<S, D, Kinds...>& net, Index new_width, const Lemon& lemon, Rng& rng) {
  require(lemon.spread >= 0 && std::isfinite(lemon.spread), "expand_stream: spread must be finite and >= 0, got ",
          lemon.spread);
  return detail::expand_stream(net, new_width, StreamExpansion<S>{.old_width = 0, .sources = {}, .spread = lemon.spread, .normalized = false, .rng = &rng, .fade_steps = 0});
}

/// Masked growth of the stream (MSG): the existing weights untouched, the new rows and columns random
/// (layers/stream_expansion.hpp), every LayerNorm fading its new features in over msg.fade_steps steps,
/// so the function is unchanged now and the new features enter gradually. Needs every reader of the
/// stream behind a LayerNorm (a pre-LN network: throws otherwise, the network unchanged).
template <class S, class D, class... Kinds>
StreamReport expand_stream(Sequential<S, D, Kinds...>& net, Index new_width, const Msg& msg, Rng& rng) {
  require(msg.fade_steps >= 1, "expand_stream: MSG needs fade_steps >= 1, got ", msg.fade_steps);
  return detail::expand_stream(net, new_width,
                               StreamExpansion<S>{.old_width = 0, .sources = {}, .spread = 0, .normalized = false, .rng = &rng,
                                                  .fade_steps = msg.fade_steps});
}

}  // namespace netgrow::grow
