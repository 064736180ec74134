// netgrow/layers/avg_pool2d.hpp: 2-D average pooling over k x k windows (stride s, zero padding p;
// the average always divides by k * k, PyTorch's count_include_pad = true).
//
// Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo). Channel-wise and linear, so it grows by identity between
// a grown pair. The math is the op facade's ops::avg_pool2d_* (backend/cpu/pool.hpp; backend/cuda/pool.hpp
// for Cuda).
#pragma once

#include <string>

#include "netgrow/backend/cpu/pool.hpp"
#include "netgrow/layers/layer.hpp"
#if defined(__CUDACC__)
#include "netgrow/backend/cuda/pool.hpp"  // the Cuda overloads of the ops:: calls below
#endif

namespace netgrow {

template <class S, class D>
class AvgPool2dLayer;

struct AvgPool2d {
  static constexpr std::string_view name = "AvgPool2d";
  Index kernel = 2;
  Index stride = 2;
  Index padding = 0;

  template <class S, class D>
  using layer_type = AvgPool2dLayer<S, D>;
};

template <class S, class D>
class AvgPool2dLayer {
 public:
  using scalar_type = S;
  using device_type = D;
  using kind_type = AvgPool2d;

  AvgPool2dLayer(const AvgPool2d& kind, Rng&) : kind_(kind) {
    require(kind.kernel >= 1 && kind.stride >= 1 && kind.padding >= 0 && 2 * kind.padding <= kind.kernel,
            "AvgPool2d: kernel ", kind.kernel, ", stride ", kind.stride, ", padding ", kind.padding,
            " are invalid (padding may be at most half the kernel)");
  }

  ops::ConvGeometry geometry(const Shape& in) const {
    return ops::ConvGeometry{1, in[2], in[3], kind_.kernel, kind_.stride, kind_.padding};
  }

  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4, "AvgPool2d expects input (N, C, H, W), got ", in);
    const auto g = geometry(in);
    g.check("AvgPool2d");
    return Shape{in[0], in[1], g.out_height(), g.out_width()};
  }

  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) {
    ops::avg_pool2d_forward<S>(x, geometry(x.shape()), y);
  }

  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool) {
    if (dx.empty()) return;
    ops::avg_pool2d_backward<S>(dy, geometry(x.shape()), dx);
  }

  void grow_channels(Index) {}

  template <class F>
  void visit_parameters(F&&) {}

  AvgPool2d kind() const { return kind_; }
  std::string describe() const {
    return "AvgPool2d(" + std::to_string(kind_.kernel) + "x" + std::to_string(kind_.kernel) + ", stride " +
           std::to_string(kind_.stride) + ")";
  }

 private:
  AvgPool2d kind_;
};

static_assert(Layer<AvgPool2dLayer<float, Cpu>> && LayerKind<AvgPool2d>);

}  // namespace netgrow
