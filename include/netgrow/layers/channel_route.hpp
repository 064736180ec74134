/// \file
/// netgrow/layers/channel_route.hpp: how a new channel, added by width growth to a producer, reaches
/// the consumer through the layers between them. GradMax's exact data (grow/pair_data.hpp) follows it.
///
/// A layer that may sit between a grown pair describes itself with a member
/// ~~~
///   void route_new_channel(ChannelRoute& route) const;
/// ~~~
/// that applies what the layer does to a new channel after identity growth, linearised at its zero
/// input: activations nothing (their slope f'(0) is applied by the initializers), BatchNorm a scale and
/// a centring (normalize()), pooling a routing of positions (pool()), Flatten and global average pooling
/// the end of the spatial grid (flatten(), global_average()). A layer without the member cannot sit
/// between a pair whose GradMax data is taken (a compile error says so).
#pragma once

#include <cmath>
#include <utility>
#include <vector>

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"

namespace netgrow {

/// The route of a new channel from the producer's output grid to the consumer (see the file comment).
struct ChannelRoute {
  Index height = 0, width = 0;  ///< the current grid
  /// route[y'] lists (y1, weight): the value at position y' is sum weight * value at producer position y1.
  std::vector<std::vector<std::pair<Index, double>>> route;
  bool centre = false;            ///< BatchNorm in training mode: centred over batch and positions
  double scale = 1.0;             ///< product of the layers' scale factors (BatchNorm: 1 / sqrt(eps))
  bool identity = true;           ///< route is the identity
  Index terminal_multiplier = 0;  ///< Flatten: positions per channel; GlobalAvgPool: 1 (and averaged)
  bool averaged = false;          ///< GlobalAvgPool
  bool pooled = false;            ///< a pooling layer was passed
  bool batch_norm_jacobian = true;  ///< false: BatchNorm is skipped (the GradMax reference's choice)

  /// A route over an h x w producer grid, each position reaching itself.
  static ChannelRoute start(Index h, Index w, bool batch_norm_jacobian = true) {
    ChannelRoute r;
    r.height = h;
    r.width = w;
    r.batch_norm_jacobian = batch_norm_jacobian;
    r.route.assign(static_cast<std::size_t>(h * w), {});
    for (Index y = 0; y < h * w; ++y) r.route[static_cast<std::size_t>(y)] = {{y, 1.0}};
    return r;
  }

  /// Normalisation of each channel: a new channel (zero input, zero variance) leaves BatchNorm in
  /// training mode as (1 / sqrt(eps)) (I - 1 1^T / R), in evaluation mode as 1 / sqrt(1 + eps).
  void normalize(double eps, bool train_mode) {
    require(terminal_multiplier == 0,
            "GradMax data: BatchNorm after Flatten or GlobalAvgPool between a pair is not supported");
    require(!pooled, "GradMax data: BatchNorm after a pooling layer between a pair is not supported");
    if (!batch_norm_jacobian) return;
    centre = centre || train_mode;
    scale *= 1.0 / std::sqrt((train_mode ? 0.0 : 1.0) + eps);
  }

  /// A pooling window (kernel, stride, padding): `first_only` is max pooling's routing of a tied (zero)
  /// window to its first in-bounds element; otherwise the window's average with weight 1 / k^2.
  void pool(Index k, Index s, Index p, bool first_only) {
    const Index ho = (height + 2 * p - k) / s + 1, wo = (width + 2 * p - k) / s + 1;
    std::vector<std::vector<std::pair<Index, double>>> next(static_cast<std::size_t>(ho * wo));
    for (Index oy = 0; oy < ho; ++oy)
      for (Index ox = 0; ox < wo; ++ox) {
        auto& out = next[static_cast<std::size_t>(oy * wo + ox)];
        bool done = false;
        for (Index i = 0; i < k && !done; ++i)
          for (Index j = 0; j < k && !done; ++j) {
            const Index iy = oy * s - p + i, ix = ox * s - p + j;
            if (iy < 0 || iy >= height || ix < 0 || ix >= width) continue;
            const double w = first_only ? 1.0 : 1.0 / static_cast<double>(k * k);
            for (auto [y1, w1] : route[static_cast<std::size_t>(iy * width + ix)]) out.emplace_back(y1, w * w1);
            done = first_only;
          }
      }
    route = std::move(next);
    height = ho;
    width = wo;
    identity = false;
    pooled = true;
  }

  /// Flatten: each channel feeds height x width consecutive consumer inputs.
  void flatten() { terminal_multiplier = height * width; }

  /// Global average pooling: each channel feeds one consumer input, the mean over the grid.
  void global_average() {
    terminal_multiplier = 1;
    averaged = true;
  }
};

}  // namespace netgrow
