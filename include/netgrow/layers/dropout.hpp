/// \file
/// netgrow/layers/dropout.hpp: dropout (Srivastava et al., JMLR 2014), inverted: in training mode each
/// element is zeroed with probability p and the others are scaled by 1 / (1 - p); in evaluation mode the
/// layer is the identity. Any input rank; no parameters.
///
/// The mask is a function of each element's coordinates (core/dropout_mask.hpp), not a stream of draws:
/// - growth keeps the function in training mode too: widening the features, channels or context a
///   Dropout sees leaves every old element's decision as it was, so a grown network with the same mask
///   computes what it computed before (new channels get decisions of their own);
/// - the CPU and the GPU drop the same elements (kernels/dropout.cuh hashes the same way);
/// - a run resumes bit for bit: the stream (`seed`) and the count of masks drawn (`draws`) are the kind's
///   fields, so checkpoints record them (FieldRole::state) and a load restores them.
///
/// Each training-mode forward() draws the next mask of the stream (PyTorch's convention: one mask per
/// forward call); backward() uses the mask of the last forward(). hold_mask(true) keeps the current mask
/// for the following forwards instead (gradient checks by finite differences; comparing a network before
/// and after a growth in training mode). Under data parallelism every rank's rows start at 0: with
/// set_row_offset(rank * local_batch) the ranks draw the masks one process would draw for the global batch.
///
/// Between a grown pair (Dense -> Relu1 -> Dropout -> Dense) new channels pass through it; GradMax's data
/// (ChannelRoute) treats it as the identity, its expectation, so GradMax's predicted gradient is exact in
/// evaluation mode and the expected one in training mode. In a transformer's residual stream (after the
/// embeddings) it takes masked growth of the model width (grow::Msg: the new features are faded out, so
/// their masks change nothing) and refuses LEMON's expansion before anything changes: LEMON's copies of a
/// feature would be dropped independently of it, and the expanded network would compute another function
/// in training mode.
#pragma once

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>

#include "netgrow/core/dropout_mask.hpp"
#include "netgrow/core/fields.hpp"
#include "netgrow/layers/channel_route.hpp"
#include "netgrow/layers/layer.hpp"
#include "netgrow/ops/blas.hpp"
#include "netgrow/ops/dropout.hpp"

namespace netgrow {

template <class S, class D>
class DropoutLayer;

/// Layer kind: Dropout{.p = 0.1}. `seed` 0 draws the mask stream from the network's Rng when the layer is
/// built; `draws` counts the masks drawn so far (both change as the network trains: checkpoints restore them).
struct Dropout {
  static constexpr std::string_view name = "Dropout";  ///< the kind's name (checkpoint configs, messages)
  double p = 0.1;   ///< probability that an element is dropped, in [0, 1)
  Index seed = 0;   ///< the mask stream (> 0), or 0: drawn from the Rng the layer is built with
  Index draws = 0;  ///< masks drawn so far: the next training-mode forward uses mask number `draws`

  /// The configuration fields: p is a setting; the stream and the counter are state.
  static constexpr auto fields() {
    return std::tuple{field("p", &Dropout::p), field("seed", &Dropout::seed, FieldRole::state),
                      field("draws", &Dropout::draws, FieldRole::state)};
  }

  /// The layer this kind names: DropoutLayer<S, D>.
  template <class S, class D>
  using layer_type = DropoutLayer<S, D>;
};

/// The Dropout layer for scalar S on device D (see the file comment).
template <class S, class D>
class DropoutLayer {
 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = Dropout;
  ///@}

  /// Builds the layer; draws the stream from `rng` when kind.seed is 0. ArgumentError for p outside
  /// [0, 1) or a negative seed or counter.
  DropoutLayer(const Dropout& kind, Rng& rng) : kind_(kind) {
    require(std::isfinite(kind.p) && kind.p >= 0 && kind.p < 1, "Dropout: p must be in [0, 1), got ", kind.p);
    require(kind.seed >= 0 && kind.draws >= 0, "Dropout: seed and draws must not be negative, got ", kind.seed, " and ",
            kind.draws);
    if (kind_.seed == 0) kind_.seed = static_cast<Index>((rng.next_u64() >> 1) | 1);
    mask_.seed = static_cast<std::uint64_t>(kind_.seed);
    mask_.threshold = static_cast<std::uint32_t>(std::floor(std::ldexp(kind_.p, 32)));
    scale_ = static_cast<S>(1.0 / (1.0 - kind_.p));
  }

  /// The input shape (element-wise); ShapeError for a rank-0 input.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() >= 1, describe(), " expects an input with a batch dimension, got ", in);
    return in;
  }

  /// Training mode: out = in * mask / (1 - p) with the next mask (or the held one); evaluation mode or
  /// p = 0: out = in. out may alias in.
  void forward(ConstView<S, D> in, TensorView<S, D> out, Mode mode) {
    applied_ = mode == Mode::train && kind_.p > 0;
    if (!applied_) {
      if (in.data() != out.data()) ops::copy<S>(in, out);
      return;
    }
    if (!held_ || !drawn_) {
      mask_.draw = static_cast<std::uint64_t>(kind_.draws++);
      drawn_ = true;
    }
    ops::dropout<S>(mask_, scale_, in, out);
  }

  /// grad_in = grad_out through the last forward's mask and scale (skipped when grad_in is empty); no
  /// parameter gradients.
  void backward(ConstView<S, D>, ConstView<S, D>, ConstView<S, D> grad_out, TensorView<S, D> grad_in, bool) {
    if (grad_in.empty()) return;
    if (applied_) ops::dropout<S>(mask_, scale_, grad_out, grad_in);
    else if (grad_in.data() != grad_out.data()) ops::copy<S>(grad_out, grad_in);
  }

  /// No parameters: f is never called.
  template <class F>
  void visit_parameters(F&&) {}

  /// Element-wise: 0 FLOPs (layers/layer.hpp counts multiply-adds only).
  double forward_flops(const Shape&) const { return 0.0; }

  /// Width growth between a grown pair (layers/layer.hpp): element-wise and keyed by coordinates, so
  /// identity growth has nothing to do; GradMax's route takes it as the identity (its expectation).
  ///@{
  static constexpr bool keeps_layout = true;
  void grow_channels(Index) {}
  void route_new_channel(ChannelRoute&) const {}
  DropoutLayer new_channels_layer(Index) const { return *this; }
  ///@}

  /// Model-width growth (grow::expand_stream) with this layer in the stream: masked growth only (see the
  /// file comment); ArchitectureError for LEMON's copies and averages.
  template <class E>
  void check_stream(const E& e) const {
    require<ArchitectureError>(e.masked() || kind_.p == 0, describe(), " in the residual stream: LEMON's expansion "
                               "copies features that the mask would drop independently, so the function would change in "
                               "training mode; grow the stream with grow::Msg");
  }

  /// true: the following training-mode forwards reuse the current mask (the first one draws it if none
  /// was drawn yet); false: each draws the next (the default).
  void hold_mask(bool hold) { held_ = hold; }
  /// Rows of this process's batch start at global row `offset` (data parallelism; see the file comment).
  void set_row_offset(Index offset) {
    require(offset >= 0, "Dropout: the row offset must not be negative, got ", offset);
    mask_.row_offset = static_cast<std::uint64_t>(offset);
  }
  /// The mask of the last training-mode forward (which elements it kept: core/dropout_mask.hpp).
  const DropoutMask& mask() const { return mask_; }
  /// The drop probability.
  double p() const { return kind_.p; }

  /// The configuration: p, the stream and the masks drawn so far.
  const Dropout& kind() const { return kind_; }
  /// e.g. "Dropout(p = 0.1)".
  std::string describe() const {
    std::ostringstream s;
    s << "Dropout(p = " << kind_.p << ")";
    return s.str();
  }

 private:
  Dropout kind_;
  DropoutMask mask_;
  S scale_ = S(1);
  bool applied_ = false;  // the last forward applied a mask (training mode, p > 0)
  bool held_ = false;
  bool drawn_ = false;    // a mask was drawn since the layer was built
};

static_assert(Layer<DropoutLayer<float, Cpu>> && LayerKind<Dropout>);

}  // namespace netgrow
