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
/// on. A Dense on the stream is read as a reader (the output head). Within a transformer block every
/// reader reads a LayerNorm's output, so the average features' weights are random (LEMON), after the
/// final LayerNorm too; gradients and Adam moments of the new entries start at zero, the existing ones
/// keep theirs. Exact in double up to rounding (the average features' LayerNorm output is a rounding
/// error of the row mean). With d' a multiple of d there are no averages: HyperCloning's integer
/// expansion with LEMON's split. Cpu networks.
#pragma once

#include <cstddef>
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

/// Widens the residual stream of `net` to new_width features (see the file comment); `lemon.spread`
/// sets the random split (0: equal split). Throws, leaving the network unchanged, for a width below the
/// current one, a layer with parameters that cannot widen the stream, or non-finite weights.
template <class S, class... Kinds>
StreamReport expand_stream(Sequential<S, Cpu, Kinds...>& net, Index new_width, const Lemon& lemon, Rng& rng) {
  using Net = Sequential<S, Cpu, Kinds...>;
  const double start = monotonic_seconds();
  using First = typename Net::template layer_type<0>;
  static_assert(requires(First& f, const StreamExpansion<S>& e) { f.grow_stream(e); f.dim(); },
                "netgrow::grow::expand_stream: the network's first layer must write the stream (Embedding, "
                "PatchEmbedding: grow_stream and dim())");
  const Index old = net.template layer<0>().dim();
  require(new_width >= old, "expand_stream: new width ", new_width, " is below the stream's ", old);
  require(lemon.spread >= 0 && std::isfinite(lemon.spread), "expand_stream: spread must be finite and >= 0, got ",
          lemon.spread);
  // Every layer checked before anything changes.
  bool finite = true;
  net.visit_parameters([&](const std::string&, Parameter<S, Cpu>& p) { finite = finite && ops::all_finite<S>(p.value); });
  require<NumericError>(finite, "expand_stream: the network holds NaN or infinity; growth refused, it is unchanged");
  StreamExpansion<S> e{old, Lemon::sources(old, new_width - old, true), lemon.spread, false, &rng};
  std::size_t i = 0;
  net.for_each_layer([&](auto, auto& layer) {
    if constexpr (!requires { layer.grow_stream(e); })
      require(netgrow::parameter_count(layer) == 0, "expand_stream: layer ", i, " (", layer.describe(),
              ") has parameters but cannot widen the stream (no grow_stream)");
    ++i;
  });
  StreamReport report{old, new_width, 0, 0};
  for (Index s : e.sources) report.averages += s == average_source ? 1 : 0;
  if (new_width == old) return report;
  net.for_each_layer([&](auto, auto& layer) {
    using L = std::remove_cvref_t<decltype(layer)>;
    if constexpr (requires { layer.grow_stream(e); }) {
      layer.grow_stream(e);
      e.normalized = requires { requires L::mixes_channels; };  // after a LayerNorm readers see its output
    }
  });
  report.seconds = monotonic_seconds() - start;
  return report;
}

}  // namespace netgrow::grow
