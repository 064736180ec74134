/// \file
/// netgrow/layers/patch_embedding.hpp: a Vision Transformer's patch embedding: an image (N, C, H, W)
/// cut into non-overlapping p x p patches (row-major over the grid, each flattened (C, p, p) like a
/// convolution filter), each projected to d: y (N, P, d) with P = (H / p)(W / p), or (N, 1 + P, d) with
/// a learned class token in front.
///
/// ~~~{.unparsed}
///   y[n, (1 +) g] = W patch_g(x[n]) + b       W (d, C p p), b (d)
///   y[n, 0] = class_token                     (d), when class_token is on
/// ~~~
/// H and W must be multiples of p (ShapeError otherwise). Parameters "weight", "bias" and, with a class
/// token, "class_token". Any device: the patches are moved by ops/patches.hpp, the projection is a GEMM;
/// model-width growth needs a Cpu layer.
#pragma once

#include <concepts>
#include <string>
#include <tuple>

#include "netgrow/layers/parameter.hpp"
#include "netgrow/layers/stream_expansion.hpp"
#include "netgrow/ops/patches.hpp"
#include "netgrow/core/fields.hpp"
#include "netgrow/core/init.hpp"
#include "netgrow/layers/layer.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow {

template <class S, class D>
class PatchEmbeddingLayer;

/// Layer kind: PatchEmbedding{.channels = 1, .patch = 7, .dim = 64, .class_token = true}.
struct PatchEmbedding {
  static constexpr std::string_view name = "PatchEmbedding";  ///< the kind's name
  Index channels = 1;                                          ///< C
  Index patch = 1;                                             ///< p, the side of a patch
  Index dim = 0;                                               ///< d
  bool class_token = false;                                    ///< prepend a learned class token
  WeightInit init = WeightInit::glorot_uniform;                ///< how W is drawn (b and the token start at 0)

  /// The configuration fields (core/fields.hpp): growth changes dim.
  static constexpr auto fields() {
    return std::tuple{field("channels", &PatchEmbedding::channels), field("patch", &PatchEmbedding::patch),
                      field("dim", &PatchEmbedding::dim, FieldRole::width),
                      field("class_token", &PatchEmbedding::class_token), field("init", &PatchEmbedding::init)};
  }

  /// The layer this kind names: PatchEmbeddingLayer<S, D>.
  template <class S, class D>
  using layer_type = PatchEmbeddingLayer<S, D>;
};

/// The PatchEmbedding layer for scalar S on device D (see the file comment).
template <class S, class D>
class PatchEmbeddingLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = PatchEmbedding;
  ///@}

  /// Builds W (d, C p p) drawn from `init`, a zero bias and (optionally) a zero class token.
  PatchEmbeddingLayer(const PatchEmbedding& kind, Rng& rng)
      : channels_(kind.channels), patch_(kind.patch), class_token_(kind.class_token), init_(kind.init) {
    require(kind.channels > 0 && kind.patch > 0 && kind.dim > 0, "PatchEmbedding: channels, patch and dim must be "
            "positive, got ", kind.channels, ", ", kind.patch, " and ", kind.dim);
    const Index fan = kind.channels * kind.patch * kind.patch;
    weight_ = Parameter<S, D>(Shape{kind.dim, fan});
    bias_ = Parameter<S, D>(Shape{kind.dim});
    bias_.weight_decay = false;
    draw_on_host(weight_, bias_, [&](TensorView<S, Cpu> w, TensorView<S, Cpu>) { init_weights(w, init_, fan, kind.dim, rng); });
    if (class_token_) {
      token_ = Parameter<S, D>(Shape{kind.dim});
      token_.weight_decay = false;
    }
  }

  Index dim() const { return weight_.value.dim(0); }  ///< current d
  Index patch() const { return patch_; }              ///< p
  /// The projection W (d, C p p), its bias (d) and the class token (d; empty without one).
  ///@{
  Parameter<S, D>& weight() { return weight_; }
  Parameter<S, D>& bias() { return bias_; }
  Parameter<S, D>& class_token() { return token_; }
  ///@}

  /// Model-width growth (layers/stream_expansion.hpp): the projection, its bias and the class token
  /// write the stream: their new rows are copies of their sources or the mean row.
  void grow_stream(const StreamExpansion<S>& e) {
    require<ShapeError>(dim() == e.old_width, describe(), "::grow_stream: a stream of ", e.old_width, " features");
    Tensor<S, Cpu> staging;
    const Tensor<S, D> rows = grow::host_to<D>(e.written_rows(host_view(weight_.value, staging)));
    const Tensor<S, D> bias = grow::host_to<D>(e.written_rows(host_view(bias_.value, staging)));
    Tensor<S, D> token;
    if (class_token_) token = grow::host_to<D>(e.written_rows(host_view(token_.value, staging)));
    grow::append_to_parameter(weight_, 0, rows.cview());
    grow::append_to_parameter(bias_, 0, bias.cview().reshape(Shape{e.added()}));
    if (class_token_) grow::append_to_parameter(token_, 0, token.cview().reshape(Shape{e.added()}));
  }

  /// (N, [1 +] P, d) for images (N, C, H, W) with H and W multiples of p; ShapeError otherwise.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 4 && in[1] == channels_, describe(), " expects images (N, ", channels_,
                        ", H, W), got ", in);
    require<ShapeError>(in[2] % patch_ == 0 && in[3] % patch_ == 0 && in[2] > 0 && in[3] > 0, describe(), ": ",
                        in[2], " x ", in[3], " images do not divide into ", patch_, " x ", patch_, " patches");
    return Shape{in[0], (class_token_ ? 1 : 0) + (in[2] / patch_) * (in[3] / patch_), dim()};
  }

  /// The projected patches (and the class token in front).
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) {
    const Shape out = output_shape(x.shape());
    const Index n = x.dim(0), grid = (x.dim(2) / patch_) * (x.dim(3) / patch_), fan = weight_.value.dim(1);
    patches_.resize(Shape{n * grid, fan});
    gather(x, patches_.view());
    projected_.resize(Shape{n * grid, dim()});
    ops::gemm<S>(ops::Trans::no, ops::Trans::yes, S(1), patches_.cview(), weight_.value.cview(), S(0), projected_.view());
    ops::add_row_vector<S>(projected_.view(), bias_.value.cview());
    const Index first = class_token_ ? 1 : 0;
    for (Index i = 0; i < n; ++i) {
      const TensorView<S, D> yi = y.rows(i, 1).reshape(Shape{out[1], dim()});
      if (class_token_) ops::copy<S>(token_.value.cview(), yi.rows(0, 1));
      ops::copy<S>(projected_.cview().rows(i * grid, grid), yi.rows(first, grid));
    }
  }

  /// dW, db and the class token's gradient assigned (or added to with `accumulate`); dx (the images'
  /// gradient, patches scattered back) assigned when asked for.
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    const Index n = x.dim(0), grid = (x.dim(2) / patch_) * (x.dim(3) / patch_), fan = weight_.value.dim(1);
    const Index tokens = dy.dim(1), first = class_token_ ? 1 : 0;
    require<StateError>(patches_.shape() == Shape{n * grid, fan}, describe(), "::backward: run forward first");
    dprojected_.resize(Shape{n * grid, dim()});
    for (Index i = 0; i < n; ++i)
      ops::copy<S>(dy.rows(i, 1).reshape(Shape{tokens, dim()}).rows(first, grid), dprojected_.view().rows(i * grid, grid));
    const S beta = accumulate ? S(1) : S(0);
    ops::gemm<S>(ops::Trans::yes, ops::Trans::no, S(1), dprojected_.cview(), patches_.cview(), beta, weight_.grad.view());
    ops::sum_rows<S>(dprojected_.cview(), beta, bias_.grad.view());
    if (class_token_) {
      if (!accumulate) token_.grad.fill_zero();
      for (Index i = 0; i < n; ++i)
        ops::axpy<S>(S(1), dy.rows(i, 1).reshape(Shape{tokens, dim()}).rows(0, 1), token_.grad.view());
    }
    if (dx.empty()) return;
    dpatches_.resize(Shape{n * grid, fan});
    ops::gemm<S>(ops::Trans::no, ops::Trans::no, S(1), dprojected_.cview(), weight_.value.cview(), S(0), dpatches_.view());
    scatter(dpatches_.cview(), dx);
  }

  /// 2 C p^2 d FLOPs per patch.
  double forward_flops(const Shape& in) const {
    const Index grid = (in[2] / patch_) * (in[3] / patch_);
    return 2.0 * static_cast<double>(in[0] * grid) * static_cast<double>(weight_.value.numel());
  }

  /// Calls f("weight", W), f("bias", b) and, with a class token, f("class_token", token).
  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view("weight"), weight_);
    f(std::string_view("bias"), bias_);
    if (class_token_) f(std::string_view("class_token"), token_);
  }

  /// The current configuration (d after growth).
  PatchEmbedding kind() const { return {channels_, patch_, dim(), class_token_, init_}; }
  /// E.g. "PatchEmbedding(1 x 7 x 7 -> 64, class token)".
  std::string describe() const {
    return "PatchEmbedding(" + std::to_string(channels_) + " x " + std::to_string(patch_) + " x " +
           std::to_string(patch_) + " -> " + std::to_string(dim()) + (class_token_ ? ", class token)" : ")");
  }

 private:
  // patches (N P, C p p) from images (N, C, H, W), grid row-major, each patch (c, i, j).
  void gather(ConstView<S, D> x, TensorView<S, D> patches) const { ops::patches_from_images<S>(x, patch_, patches); }
  // images (N, C, H, W) = the patches put back (the adjoint of gather: patches do not overlap).
  void scatter(ConstView<S, D> patches, TensorView<S, D> x) const { ops::images_from_patches<S>(patches, patch_, x); }

  Parameter<S, D> weight_, bias_, token_;
  Index channels_, patch_;
  bool class_token_;
  WeightInit init_;
  Tensor<S, D> patches_, projected_, dprojected_, dpatches_;
};

static_assert(Layer<PatchEmbeddingLayer<float, Cpu>> && LayerKind<PatchEmbedding>);

}  // namespace netgrow
