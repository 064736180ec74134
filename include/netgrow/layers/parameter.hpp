/// \file
/// netgrow/layers/parameter.hpp: a trainable tensor together with everything that must change shape
/// with it when a network grows: its gradient, its optimizer state and its learning-rate factors.
///
/// Keeping these in one object is what makes growth safe: an operation that appends rows or columns
/// to `value` extends `grad`, every `state` tensor and `lr_scale` in the same step (old entries kept,
/// new entries zero), so no optimizer can be left holding state of the old shape. A sparsity mask
/// (prune/mask.hpp) is part of the same object and grows with it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "netgrow/core/tensor.hpp"

namespace netgrow {

/// What a width growth appends to a masked parameter's mask (Parameter::mask_growth).
enum class MaskGrowth {
  dense,          ///< the new entries are all 1: new neurons start dense (the default)
  layer_density,  ///< each new entry is 1 with probability the parameter's current density
};

/// A trainable tensor `value` with its gradient, optimizer state and learning-rate factors, which
/// always keep its shape (see the file comment).
template <class S, class D>
struct Parameter {
  using scalar_type = S;  ///< element type
  using device_type = D;  ///< where the tensors live (Cpu or Cuda)

  Parameter() = default;  ///< empty: every tensor of shape (0)
  /// Zero value and gradient of the given shape; no optimizer state yet.
  explicit Parameter(Shape shape) : value(shape), grad(shape) {}

  Tensor<S, D> value;  ///< the weights
  Tensor<S, D> grad;   ///< dLoss/dvalue, written by backward()

  /// Optimizer state (momentum; Adam's first and second moments), same shape as `value` each.
  /// `state_owner` names the optimizer kind that created it; another kind resets it.
  ///@{
  std::vector<Tensor<S, D>> state;
  std::string state_owner;
  ///@}

  /// Learning-rate factors on top of the optimizer's schedule: lr = schedule(step) *
  /// lr_multiplier * lr_scale[i]. `lr_scale` is empty (all ones) or has the shape of `value`; growth
  /// methods use it for per-slice rates (e.g. the variance-transfer paper's per-stage learning rates).
  ///@{
  double lr_multiplier = 1.0;
  Tensor<S, D> lr_scale;
  ///@}

  /// Growth stage of each slice, for per-stage learning rates (grow/stage_lr.hpp): stage_tags[a][i] is the
  /// growth stage that added index i along axis a (a = 0, 1), and an element's stage is the largest tag
  /// over its first two axes. Empty vectors: untagged (grow::tag_stage fills them in after each growth).
  std::array<std::vector<std::int32_t>, 2> stage_tags;

  /// Sparsity mask (prune/mask.hpp): empty = dense; otherwise the shape of `value`, entries 0 or 1.
  /// Invariant where it is 0: the value and every state tensor are 0, and optimizers keep them 0
  /// (backward still writes the dense gradient there: RigL's regrowth reads it). Width growth extends
  /// it by `mask_growth`, drawing layer-density entries from an Rng seeded by `mask_seed` and the size.
  ///@{
  Tensor<S, D> mask;
  MaskGrowth mask_growth = MaskGrowth::dense;
  std::uint64_t mask_seed = 0;
  ///@}

  bool trainable = true;     ///< false: optimizers skip it
  bool weight_decay = true;  ///< false: optimizers apply no weight decay to it (e.g. BatchNorm beta)

  Index numel() const { return value.numel(); }         ///< elements of `value`
  const Shape& shape() const { return value.shape(); }  ///< the shape of `value`
};

/// Sets a layer's weight and bias (bias may be empty) to values that draw(TensorView<S, Cpu> w,
/// TensorView<S, Cpu> b) writes on the host: in place on the Cpu; on a device into host tensors that
/// are then copied over (backend/cuda/transfer.hpp, found by argument lookup), so a device layer starts
/// exactly as the Cpu layer built from the same rng.
template <class S, class D, class Draw>
void draw_on_host(Parameter<S, D>& weight, Parameter<S, D>& bias, Draw&& draw) {
  if constexpr (std::same_as<D, Cpu>) {
    draw(weight.value.view(), bias.value.view());
  } else {
    Tensor<S, Cpu> w(weight.value.shape()), b(bias.value.shape());
    draw(w.view(), b.view());
    copy(w.cview(), weight.value.view());
    if (!bias.value.empty()) copy(b.cview(), bias.value.view());
  }
}

}  // namespace netgrow
