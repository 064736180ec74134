// netgrow/layers/max_pool2d.hpp: 2-D max pooling over k x k windows (stride s, padding p with -inf).
//
// Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo), Ho = (H + 2 p - k) / s + 1. The backward pass sends each
// output's gradient to the position that won its window; ties go to the first position in row-major
// window order (so a window of equal values, such as a grown channel's zeros, routes to its first
// in-bounds element). Channel-wise, so it grows by identity between a grown pair.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "netgrow/backend/cpu/conv.hpp"
#include "netgrow/backend/cpu/parallel.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

template <class S, class D>
class MaxPool2dLayer;

struct MaxPool2d {
  static constexpr std::string_view name = "MaxPool2d";
  Index kernel = 2;
  Index stride = 2;
  Index padding = 0;

  template <class S, class D>
  using layer_type = MaxPool2dLayer<S, D>;
};

template <class S, class D>
class MaxPool2dLayer {
 public:
  using scalar_type = S;
  using device_type = D;
  using kind_type = MaxPool2d;

  MaxPool2dLayer(const MaxPool2d& kind, Rng&) : kind_(kind) {
    require(kind.kernel >= 1 && kind.stride >= 1 && kind.padding >= 0 && 2 * kind.padding <= kind.kernel,
            "MaxPool2d: kernel ", kind.kernel, ", stride ", kind.stride, ", padding ", kind.padding,
            " are invalid (padding may be at most half the kernel)");
  }

  ops::ConvGeometry geometry(const Shape& in) const {
    return ops::ConvGeometry{1, in[2], in[3], kind_.kernel, kind_.stride, kind_.padding};
  }

  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4, "MaxPool2d expects input (N, C, H, W), got ", in);
    const auto g = geometry(in);
    g.check("MaxPool2d");
    return Shape{in[0], in[1], g.out_height(), g.out_width()};
  }

  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) {
    const auto g = geometry(x.shape());
    const Index maps = x.dim(0) * x.dim(1), hw = g.height * g.width, ohw = g.positions();
    argmax_.resize(static_cast<std::size_t>(maps * ohw));
    if (g.kernel == 2 && g.stride == 2 && g.padding == 0) {  // the common case, without bounds checks
      ops::parallel_for(maps, [&](Index m, int) {
        const S* in = x.data() + m * hw;
        S* out = y.data() + m * ohw;
        Index* arg = argmax_.data() + m * ohw;
        for (Index oy = 0; oy < g.out_height(); ++oy)
          for (Index ox = 0; ox < g.out_width(); ++ox) {
            const Index base = 2 * oy * g.width + 2 * ox;
            Index where = base;
            for (Index cand : {base + 1, base + g.width, base + g.width + 1})
              if (in[cand] > in[where] || (in[cand] != in[cand] && in[where] == in[where])) where = cand;
            out[oy * g.out_width() + ox] = in[where];
            arg[oy * g.out_width() + ox] = where;
          }
      });
      return;
    }
    ops::parallel_for(maps, [&](Index m, int) {
      const S* in = x.data() + m * hw;
      for (Index oy = 0; oy < g.out_height(); ++oy)
        for (Index ox = 0; ox < g.out_width(); ++ox) {
          S best = -std::numeric_limits<S>::infinity();
          Index where = -1;
          for (Index i = 0; i < g.kernel; ++i) {
            const Index iy = oy * g.stride - g.padding + i;
            if (iy < 0 || iy >= g.height) continue;
            for (Index j = 0; j < g.kernel; ++j) {
              const Index ix = ox * g.stride - g.padding + j;
              if (ix < 0 || ix >= g.width) continue;
              const S v = in[iy * g.width + ix];
              if (where < 0 || v > best || (v != v && best == best)) best = v, where = iy * g.width + ix;
            }
          }
          const Index o = oy * g.out_width() + ox;
          y.data()[m * ohw + o] = best;
          argmax_[static_cast<std::size_t>(m * ohw + o)] = where;
        }
    });
  }

  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool) {
    if (dx.empty()) return;
    const Index maps = x.dim(0) * x.dim(1), hw = x.dim(2) * x.dim(3), ohw = dy.dim(2) * dy.dim(3);
    require<StateError>(static_cast<Index>(argmax_.size()) == maps * ohw, "MaxPool2d::backward: run forward first");
    ops::parallel_for(maps, [&](Index m, int) {
      S* gi = dx.data() + m * hw;
      std::fill_n(gi, hw, S(0));
      for (Index o = 0; o < ohw; ++o) gi[argmax_[static_cast<std::size_t>(m * ohw + o)]] += dy.data()[m * ohw + o];
    });
  }

  void grow_channels(Index) {}

  template <class F>
  void visit_parameters(F&&) {}

  MaxPool2d kind() const { return kind_; }
  std::string describe() const {
    return "MaxPool2d(" + std::to_string(kind_.kernel) + "x" + std::to_string(kind_.kernel) + ", stride " +
           std::to_string(kind_.stride) + ")";
  }

 private:
  MaxPool2d kind_;
  std::vector<Index> argmax_;  // (N C Ho Wo): winning input position within its (H W) map
};

static_assert(Layer<MaxPool2dLayer<float, Cpu>> && LayerKind<MaxPool2d>);

}  // namespace netgrow
