// netgrow/layers/avg_pool2d.hpp: 2-D average pooling over k x k windows (stride s, zero padding p;
// the average always divides by k * k, PyTorch's count_include_pad = true).
//
// Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo). Channel-wise and linear, so it grows by identity between
// a grown pair.
#pragma once

#include <string>

#include "netgrow/backend/cpu/conv.hpp"
#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/layers/layer.hpp"

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
    const auto g = geometry(x.shape());
    const Index maps = x.dim(0) * x.dim(1), hw = g.height * g.width, ohw = g.positions();
    const S scale = S(1) / static_cast<S>(g.kernel * g.kernel);
    ops::parallel_for(maps, [&](Index m, int) {
      const S* in = x.data() + m * hw;
      S* out = y.data() + m * ohw;
      for_each_tap(g, [&](Index o, Index i) { out[o] += in[i]; }, out);
      for (Index o = 0; o < ohw; ++o) out[o] *= scale;
    });
  }

  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool) {
    if (dx.empty()) return;
    const auto g = geometry(x.shape());
    const Index maps = x.dim(0) * x.dim(1), hw = g.height * g.width, ohw = g.positions();
    const S scale = S(1) / static_cast<S>(g.kernel * g.kernel);
    ops::parallel_for(maps, [&](Index m, int) {
      const S* go = dy.data() + m * ohw;
      S* gi = dx.data() + m * hw;
      std::fill_n(gi, hw, S(0));
      for_each_tap(g, [&](Index o, Index i) { gi[i] += scale * go[o]; }, nullptr);
    });
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
  // Zeroes `zero_first` (when given, Ho Wo entries), then calls f(output index, input index) for every
  // in-bounds window element.
  template <class F>
  static void for_each_tap(const ops::ConvGeometry& g, F&& f, S* zero_first) {
    if (zero_first) std::fill_n(zero_first, g.positions(), S(0));
    for (Index oy = 0; oy < g.out_height(); ++oy)
      for (Index ox = 0; ox < g.out_width(); ++ox)
        for (Index i = 0; i < g.kernel; ++i) {
          const Index iy = oy * g.stride - g.padding + i;
          if (iy < 0 || iy >= g.height) continue;
          for (Index j = 0; j < g.kernel; ++j) {
            const Index ix = ox * g.stride - g.padding + j;
            if (ix >= 0 && ix < g.width) f(oy * g.out_width() + ox, iy * g.width + ix);
          }
        }
  }

  AvgPool2d kind_;
};

static_assert(Layer<AvgPool2dLayer<float, Cpu>> && LayerKind<AvgPool2d>);

}  // namespace netgrow
