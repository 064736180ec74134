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
/// - on a GPU a training-mode mask cannot be recorded into a CUDA graph (cuda::StepGraph refuses it: a
///   replay would reuse one mask); evaluation mode records fine;
/// - a run resumes bit for bit: the stream (`seed`), the count of masks drawn (`draws`) and the feature keys
///   (`keys`, below) are the kind's fields, so checkpoints record them (FieldRole::state) and a load restores
///   them.
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
/// embeddings, or inside a TransformerBlock) it follows model-width growth (follow_stream): LEMON's copies
/// of a feature take its key (`keys`), so each is dropped exactly where its source is and the expansion keeps
/// the function in training mode; MSG's new features get keys of their own (they are faded out, so their
/// masks change nothing). LEMON's average features (d' not a multiple of d) hold the mean of features that
/// are dropped independently, which no mask of their own reproduces: with p > 0 that expansion is refused
/// before anything changes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "netgrow/core/dropout_mask.hpp"
#include "netgrow/core/fields.hpp"
#include "netgrow/layers/channel_route.hpp"
#include "netgrow/layers/layer.hpp"
#include "netgrow/layers/parameter_growth.hpp"  // average_source, host_to
#include "netgrow/ops/blas.hpp"
#include "netgrow/ops/dropout.hpp"

namespace netgrow {

template <class S, class D>
class DropoutLayer;

/// Layer kind: Dropout{.p = 0.1}. `seed` 0 draws the mask stream from the network's Rng when the layer is
/// built; `draws` counts the masks drawn so far; `keys` name the features (set by stream growth). All three
/// change as the network trains or grows, and checkpoints restore them.
struct Dropout {
  static constexpr std::string_view name = "Dropout";  ///< the kind's name (checkpoint configs, messages)
  double p = 0.1;                                      ///< probability that an element is dropped, in [0, 1)
  Index seed = 0;             ///< the mask stream (> 0), or 0: drawn from the Rng the layer is built with
  Index draws = 0;            ///< masks drawn so far: the next training-mode forward uses mask number `draws`
  std::vector<Index> keys{};  ///< the key of each feature of the last axis (empty: its index); set by stream growth

  /// The configuration fields: p is a setting; the stream, the counter and the keys are state.
  static constexpr auto fields() {
    return std::tuple{field("p", &Dropout::p), field("seed", &Dropout::seed, FieldRole::state),
                      field("draws", &Dropout::draws, FieldRole::state),
                      field("keys", &Dropout::keys, FieldRole::state)};
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

  /// Builds the layer; draws the stream from `rng` when kind.seed is 0 and p > 0 (a layer that drops nothing
  /// needs none). ArgumentError for p outside
  /// [0, 1), a negative seed or counter, or a key outside [0, 2^31).
  DropoutLayer(const Dropout& kind, Rng& rng) : kind_(kind) {
    require(std::isfinite(kind.p) && kind.p >= 0 && kind.p < 1, "Dropout: p must be in [0, 1), got ", kind.p);
    require(kind.seed >= 0 && kind.draws >= 0, "Dropout: seed and draws must not be negative, got ", kind.seed, " and ",
            kind.draws);
    for (const Index k : kind.keys)
      require(k >= 0 && k <= std::numeric_limits<std::int32_t>::max(), "Dropout: feature key ", k,
              " is outside [0, 2^31)");
    if (kind_.seed == 0 && kind_.p > 0) kind_.seed = static_cast<Index>((rng.next_u64() >> 1) | 1);
    mask_.seed = static_cast<std::uint64_t>(kind_.seed);
    mask_.threshold = static_cast<std::uint32_t>(std::floor(std::ldexp(kind_.p, 32)));
    scale_ = static_cast<S>(1.0 / (1.0 - kind_.p));
    publish_keys();
  }

  /// The input shape (element-wise); ShapeError for a rank-0 input, or a last axis other than the keys'
  /// features once stream growth set them.
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() >= 1, describe(), " expects an input with a batch dimension, got ", in);
    require<ShapeError>(
        kind_.keys.empty() || (in.rank() >= 2 && in[in.rank() - 1] == static_cast<Index>(kind_.keys.size())),
        describe(), " keys ", kind_.keys.size(), " features of the stream, got an input ", in);
    return in;
  }

  /// Training mode: out = in * mask / (1 - p) with the next mask (or the held one); evaluation mode or
  /// p = 0: out = in. out may alias in.
  void forward(ConstView<S, D> in, TensorView<S, D> out, Mode mode) {
    applied_ = mode == Mode::train && kind_.p > 0;
    if (!applied_) {
      ops::copy<S>(in, out);  // nothing to do when out aliases in
      return;
    }
    output_shape(in.shape());
    if (!held_ || !drawn_) {
      mask_.draw = static_cast<std::uint64_t>(kind_.draws++);
      drawn_ = true;
    }
    ops::dropout<S>(current_mask(), scale_, in, out);
  }

  /// grad_in = grad_out through the last forward's mask and scale (skipped when grad_in is empty); no
  /// parameter gradients.
  void backward(ConstView<S, D>, ConstView<S, D>, ConstView<S, D> grad_out, TensorView<S, D> grad_in, bool) {
    if (grad_in.empty()) return;
    if (applied_)
      ops::dropout<S>(current_mask(), scale_, grad_out, grad_in);
    else
      ops::copy<S>(grad_out, grad_in);
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
  DropoutLayer new_channels_layer(Index) const {  // the same stream and mask on the new channels alone
    Rng unused(0);                                // the stream is set: nothing is drawn
    DropoutLayer alone(Dropout{.p = kind_.p, .seed = kind_.seed, .draws = kind_.draws}, unused);
    alone.mask_ = mask_;
    alone.applied_ = applied_;
    alone.held_ = held_;
    alone.drawn_ = drawn_;
    return alone;
  }
  ///@}

  /// Model-width growth (grow::expand_stream, layers/stream_expansion.hpp) with this layer in the stream
  /// (see the file comment). check_stream runs before anything changes: ArchitectureError for LEMON's
  /// average features with p > 0. follow_stream gives the new features their keys: a copy its source's,
  /// an average or a masked feature a new one.
  ///@{
  template <class E>
  void check_stream(const E& e) const {
    bool averages = false;
    for (const Index s : e.sources) averages = averages || s == average_source;
    require<ArchitectureError>(e.masked() || !averages || kind_.p == 0, describe(), ": LEMON's expansion from ",
                               e.old_width, " to ", e.new_width(),
                               " features adds features holding the mean of features "
                               "the mask drops independently, which no mask reproduces; grow to a multiple of ",
                               e.old_width, " (copies only) or with grow::Msg");
  }
  template <class E>
  void follow_stream(const E& e) {
    check_stream(e);
    if (kind_.p == 0) return;  // drops nothing: no keys needed
    std::vector<Index> keys = kind_.keys;
    if (keys.empty())
      for (Index j = 0; j < e.old_width; ++j) keys.push_back(j);
    require<ShapeError>(static_cast<Index>(keys.size()) == e.old_width, describe(), " keys ", keys.size(),
                        " features, the stream has ", e.old_width);
    Index fresh = *std::max_element(keys.begin(), keys.end()) + 1;
    for (const Index s : e.sources) keys.push_back(s == average_source ? fresh++ : keys[static_cast<std::size_t>(s)]);
    kind_.keys = std::move(keys);
    publish_keys();
  }
  ///@}

  /// true: the following training-mode forwards reuse the current mask (the first one draws it if none
  /// was drawn yet); false: each draws the next (the default).
  void hold_mask(bool hold) { held_ = hold; }
  /// Rows of this process's batch start at global row `offset` (data parallelism; see the file comment).
  void set_row_offset(Index offset) {
    require(offset >= 0, "Dropout: the row offset must not be negative, got ", offset);
    mask_.row_offset = static_cast<std::uint64_t>(offset);
  }
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
  // The mask with this layer's feature keys (a pointer into its own memory: set at each use, so copies and
  // moves of the layer never point into another's).
  DropoutMask current_mask() const {
    DropoutMask m = mask_;
    m.feature_keys = device_keys_.empty() ? nullptr : device_keys_.data();
    return m;
  }
  void publish_keys() {
    if (kind_.keys.empty()) {
      device_keys_ = {};
      return;
    }
    Tensor<std::int32_t, Cpu> host(Shape{static_cast<Index>(kind_.keys.size())});
    for (std::size_t j = 0; j < kind_.keys.size(); ++j)
      host[static_cast<Index>(j)] = static_cast<std::int32_t>(kind_.keys[j]);
    device_keys_ = grow::host_to<D>(std::move(host));
  }

  Dropout kind_;
  DropoutMask mask_;
  Tensor<std::int32_t, D> device_keys_;  // kind_.keys on the layer's device (empty: none)
  S scale_ = S(1);
  bool applied_ = false;  // the last forward applied a mask (training mode, p > 0)
  bool held_ = false;
  bool drawn_ = false;  // a mask was drawn since the layer was built
};

static_assert(Layer<DropoutLayer<float, Cpu>> && LayerKind<Dropout>);

}  // namespace netgrow
