/// \file
/// netgrow/layers/sequence_pool.hpp: from a sequence (N, T, d) to one vector per sample (N, d): the first
/// token (a class token prepended by PatchEmbedding) or the mean over the tokens. A classifier's head
/// (Dense) follows it.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <tuple>

#include "netgrow/core/fields.hpp"
#include "netgrow/layers/layer.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow {

template <class S, class D>
class SequencePoolLayer;

/// How SequencePool reduces the tokens.
enum class SequencePooling {
  first,  ///< the first token (the class token of a ViT)
  mean,   ///< the mean over all tokens
};

/// The pooling's name: "first" or "mean".
constexpr std::string_view to_string(SequencePooling p) { return p == SequencePooling::first ? "first" : "mean"; }
/// Every SequencePooling (for records and messages; found by argument lookup).
constexpr std::array<SequencePooling, 2> enum_values(SequencePooling) {
  return {SequencePooling::first, SequencePooling::mean};
}
/// The enum's name in messages.
constexpr std::string_view enum_name(SequencePooling) { return "sequence pooling"; }

/// Layer kind: SequencePool{.pooling = SequencePooling::mean}.
struct SequencePool {
  static constexpr std::string_view name = "SequencePool";  ///< the kind's name
  SequencePooling pooling = SequencePooling::first;          ///< which reduction

  /// The configuration fields (core/fields.hpp).
  static constexpr auto fields() { return std::tuple{field("pooling", &SequencePool::pooling)}; }

  /// The layer this kind names: SequencePoolLayer<S, D>.
  template <class S, class D>
  using layer_type = SequencePoolLayer<S, D>;
};

/// The SequencePool layer for scalar S on device D: (N, T, d) -> (N, d), no parameters.
template <class S, class D>
class SequencePoolLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = SequencePool;
  ///@}

  /// No parameters; `rng` is not used.
  SequencePoolLayer(const SequencePool& kind, Rng&) : kind_(kind) {}

  /// (N, d) for (N, T, d) with T >= 1; ShapeError otherwise.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 3 && in[1] >= 1, describe(), " expects (N, T, d) with T >= 1, got ", in);
    return Shape{in[0], in[2]};
  }

  /// y[n] = x[n, 0] or the mean of x[n, :].
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) {
    const Index n = x.dim(0), t = x.dim(1), d = x.dim(2);
    if (kind_.pooling == SequencePooling::first) {
      for (Index i = 0; i < n; ++i) ops::copy<S>(x.rows(i, 1).reshape(Shape{t, d}).rows(0, 1), y.rows(i, 1));
      return;
    }
    // mean over tokens: y (N, d) = (1/T) sum_t x[:, t] as an (N, T d) -> per-sample row sum via GEMM with ones.
    ones_.resize(Shape{t, 1});
    ops::fill<S>(ones_.view(), S(1) / static_cast<S>(t));
    for (Index i = 0; i < n; ++i)
      ops::gemm<S>(ops::Trans::yes, ops::Trans::no, S(1), x.rows(i, 1).reshape(Shape{t, d}), ones_.cview(), S(0),
                   y.rows(i, 1).reshape(Shape{d, 1}));
  }

  /// dx: dy at the first token and zero elsewhere, or dy / T at every token (assigned; skipped when empty).
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool) {
    if (dx.empty()) return;
    const Index n = x.dim(0), t = x.dim(1), d = x.dim(2);
    if (kind_.pooling == SequencePooling::first) {
      ops::fill<S>(dx, S(0));
      for (Index i = 0; i < n; ++i) ops::copy<S>(dy.rows(i, 1), dx.rows(i, 1).reshape(Shape{t, d}).rows(0, 1));
      return;
    }
    ones_.resize(Shape{t, 1});
    ops::fill<S>(ones_.view(), S(1) / static_cast<S>(t));
    for (Index i = 0; i < n; ++i)  // dx[i] (T, d) = ones/T (T, 1) dy[i] (1, d)
      ops::gemm<S>(ops::Trans::no, ops::Trans::no, S(1), ones_.cview(), dy.rows(i, 1), S(0),
                   dx.rows(i, 1).reshape(Shape{t, d}));
  }

  /// A copy or a mean: 0 FLOPs (no products counted).
  double forward_flops(const Shape&) const { return 0.0; }

  /// No parameters: f is never called.
  template <class F>
  void visit_parameters(F&&) {}

  SequencePool kind() const { return kind_; }  ///< the configuration
  /// "SequencePool(first)" or "SequencePool(mean)".
  std::string describe() const { return "SequencePool(" + std::string(to_string(kind_.pooling)) + ")"; }

 private:
  SequencePool kind_;
  Tensor<S, D> ones_;  // (T, 1) filled with 1/T
};

static_assert(Layer<SequencePoolLayer<float, Cpu>> && LayerKind<SequencePool>);

}  // namespace netgrow
