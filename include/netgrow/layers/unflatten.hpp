/// \file
/// netgrow/layers/unflatten.hpp: (N, C H W) -> (N, C, H, W), the inverse of Flatten: a generator's
/// step from a Dense layer's features to the feature maps its transposed convolutions upsample. No
/// parameters; row-major storage makes it a plain copy. Not a growth site's in-between layer.
#pragma once

#include <string>
#include <tuple>

#include "netgrow/core/fields.hpp"
#include "netgrow/layers/layer.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow {

template <class S, class D>
class UnflattenLayer;

/// Layer kind: Unflatten{.channels = 64, .height = 7, .width = 7}.
struct Unflatten {
  static constexpr std::string_view name = "Unflatten";  ///< the kind's name (checkpoint configs, messages)
  Index channels = 1;  ///< C
  Index height = 1;    ///< H
  Index width = 1;     ///< W

  /// The configuration fields (core/fields.hpp).
  static constexpr auto fields() {
    return std::tuple{field("channels", &Unflatten::channels), field("height", &Unflatten::height),
                      field("width", &Unflatten::width)};
  }

  /// The layer this kind names: UnflattenLayer<S, D>.
  template <class S, class D>
  using layer_type = UnflattenLayer<S, D>;
};

/// The Unflatten layer for scalar S on device D: (N, C H W) -> (N, C, H, W), no parameters.
template <class S, class D>
class UnflattenLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = Unflatten;
  ///@}

  /// ArgumentError for a non-positive C, H or W.
  UnflattenLayer(const Unflatten& kind, Rng&) : kind_(kind) {
    require(kind.channels > 0 && kind.height > 0 && kind.width > 0, "Unflatten: C, H and W must be positive, got ",
            kind.channels, ", ", kind.height, ", ", kind.width);
  }

  /// (N, C, H, W) for an input (N, C H W); ShapeError for any other input.
  Shape output_shape(const Shape& in) const {
    const Index features = kind_.channels * kind_.height * kind_.width;
    require<ShapeError>(in.rank() == 2 && in[1] == features, describe(), " expects input (N, ", features, "), got ",
                        in);
    return Shape{in[0], kind_.channels, kind_.height, kind_.width};
  }

  /// out = in, a plain copy.
  void forward(ConstView<S, D> in, TensorView<S, D> out, Mode) { ops::copy<S>(in, out); }

  /// grad_in = grad_out, a plain copy (skipped when grad_in is empty).
  void backward(ConstView<S, D>, ConstView<S, D>, ConstView<S, D> grad_out, TensorView<S, D> grad_in, bool) {
    if (!grad_in.empty()) ops::copy<S>(grad_out, grad_in);
  }

  /// No parameters: f is never called.
  template <class F>
  void visit_parameters(F&&) {}

  double forward_flops(const Shape&) const { return 0.0; }  ///< a copy: 0 FLOPs
  Unflatten kind() const { return kind_; }                  ///< the configuration
  /// E.g. "Unflatten(64, 7, 7)".
  std::string describe() const {
    return "Unflatten(" + std::to_string(kind_.channels) + ", " + std::to_string(kind_.height) + ", " +
           std::to_string(kind_.width) + ")";
  }

 private:
  Unflatten kind_;
};

static_assert(Layer<UnflattenLayer<float, Cpu>> && LayerKind<Unflatten>);

}  // namespace netgrow
