// netgrow/layers/flatten.hpp: (N, d1, d2, ...) -> (N, d1 * d2 * ...). No parameters; row-major
// storage makes it a plain copy (the element order does not change).
#pragma once

#include <string>

#include "netgrow/backend/cpu/blas.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

template <class S, class D>
class FlattenLayer;

struct Flatten {
  static constexpr std::string_view name = "Flatten";
  template <class S, class D>
  using layer_type = FlattenLayer<S, D>;
};

template <class S, class D>
class FlattenLayer {
 public:
  using scalar_type = S;
  using device_type = D;
  using kind_type = Flatten;

  FlattenLayer(const Flatten&, Rng&) {}

  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() >= 1, "Flatten expects an input with a batch dimension, got ", in);
    return Shape{in[0], in.rank() == 1 ? Index{1} : in.inner_numel()};
  }

  void forward(ConstView<S, D> in, TensorView<S, D> out, Mode) { ops::copy<S>(in, out); }

  void backward(ConstView<S, D>, ConstView<S, D>, ConstView<S, D> grad_out, TensorView<S, D> grad_in, bool) {
    if (!grad_in.empty()) ops::copy<S>(grad_out, grad_in);
  }

  template <class F>
  void visit_parameters(F&&) {}

  Flatten kind() const { return {}; }
  std::string describe() const { return "Flatten"; }
};

static_assert(Layer<FlattenLayer<float, Cpu>> && LayerKind<Flatten>);

}  // namespace netgrow
