// netgrow/layers/global_avg_pool.hpp: the mean of each channel over its spatial positions.
//
// Shapes: x (N, C, H, W) -> y (N, C). Channel-wise, so it grows by identity between a grown pair, and a
// convolution before it feeds a Dense layer one input per channel. The math is the op facade's
// ops::global_avg_pool_* (backend/cpu/pool.hpp; backend/cuda/pool.hpp for Cuda).
#pragma once

#include <string>

#include "netgrow/backend/cpu/pool.hpp"
#include "netgrow/layers/layer.hpp"
#if defined(__CUDACC__)
#include "netgrow/backend/cuda/pool.hpp"  // the Cuda overloads of the ops:: calls below
#endif

namespace netgrow {

template <class S, class D>
class GlobalAvgPoolLayer;

struct GlobalAvgPool {
  static constexpr std::string_view name = "GlobalAvgPool";
  template <class S, class D>
  using layer_type = GlobalAvgPoolLayer<S, D>;
};

template <class S, class D>
class GlobalAvgPoolLayer {
 public:
  using scalar_type = S;
  using device_type = D;
  using kind_type = GlobalAvgPool;

  GlobalAvgPoolLayer(const GlobalAvgPool&, Rng&) {}

  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4, "GlobalAvgPool expects input (N, C, H, W), got ", in);
    return Shape{in[0], in[1]};
  }

  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) { ops::global_avg_pool_forward<S>(x, y); }

  void backward(ConstView<S, D>, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool) {
    if (!dx.empty()) ops::global_avg_pool_backward<S>(dy, dx);
  }

  void grow_channels(Index) {}

  template <class F>
  void visit_parameters(F&&) {}

  GlobalAvgPool kind() const { return {}; }
  std::string describe() const { return "GlobalAvgPool"; }
};

static_assert(Layer<GlobalAvgPoolLayer<float, Cpu>> && LayerKind<GlobalAvgPool>);

}  // namespace netgrow
