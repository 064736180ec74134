/// \file
/// netgrow/blocks/stack.hpp: Stack<Kind>, a run-time number of same-typed layers (residual blocks)
/// applied one after another, usable as one layer in a Sequential.
///
/// ~~~
///   Stack<WideBlock>{.blocks = {WideBlock{.in = 16, .inner = 4, .out = 32, .stride = 2},
///                               WideBlock{.in = 32, .inner = 4, .out = 32}}}
/// ~~~
///
/// A Sequential's type list fixes the *kinds*; a Stack fixes only the kind of its blocks, so depth
/// can change at run time: insert() adds a block (depth growth), and block(i) gives access to each one
/// (width growth inside a block). Each block keeps its own output and gradient buffer, like the layers
/// of a Sequential, so growth methods can read the activations and gradients of the last step.
#pragma once

#include <cstdint>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "netgrow/core/fields.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

template <class K, class S, class D>
class StackLayer;

/// Layer kind: the blocks' kinds in order (at least one).
template <class K>
struct Stack {
  static constexpr std::string_view name = "Stack";  ///< the kind's name (checkpoint configs, messages)
  std::vector<K> blocks;                             ///< one kind per block, in order

  /// The configuration fields (core/fields.hpp): the blocks, whose number depth growth changes.
  static constexpr auto fields() { return std::tuple{field("blocks", &Stack::blocks, FieldRole::width)}; }

  /// The layer this kind names: StackLayer<K, S, D>.
  template <class S, class D>
  using layer_type = StackLayer<K, S, D>;
};

/// The Stack layer for scalar S on device D: its blocks applied in order (see the file comment).
template <class K, class S, class D>
class StackLayer {
  static_assert(LayerKind<K>, "netgrow::Stack<K>: K must be a layer kind (a block such as WideBlock)");

 public:
  /// Layer concept types (layers/layer.hpp): scalar, device and kind.
  ///@{
  using scalar_type = S;
  using device_type = D;
  using kind_type = Stack<K>;
  ///@}
  using block_type = layer_t<K, S, D>;  ///< the layer each block is

  /// Builds the blocks in order, each drawing from `rng`; throws for an empty list.
  StackLayer(const Stack<K>& kind, Rng& rng) {
    require(!kind.blocks.empty(), "Stack: needs at least one block");
    blocks_.reserve(kind.blocks.size());
    for (const K& k : kind.blocks) blocks_.emplace_back(k, rng);
    outputs_.resize(blocks_.size());
    grads_.resize(blocks_.size());
  }

  std::size_t size() const { return blocks_.size(); }  ///< number of blocks
  /// Block i (std::out_of_range past the last one).
  ///@{
  block_type& block(std::size_t i) { return blocks_.at(i); }
  const block_type& block(std::size_t i) const { return blocks_.at(i); }
  ///@}

  /// Model-width growth (layers/stream_expansion.hpp), when the blocks take part: every block in order
  /// (each checks the expansion first; a transformer block's own checks run before it changes).
  template <class E>
  void grow_stream(const E& e)
    requires requires(block_type& b) { b.grow_stream(e); }
  {
    for (auto& b : blocks_) b.grow_stream(e);
  }
  /// Every block's refusal of a stream expansion (grow::expand_stream asks before anything changes).
  template <class E>
  void check_stream(const E& e) const
    requires requires(const block_type& b) { b.check_stream(e); }
  {
    for (const auto& b : blocks_) b.check_stream(e);
  }

  /// Masked growth (layers/fade_mask.hpp): moves every block's fades `steps` steps on; true while one
  /// is still in progress. Blocks without fades are skipped.
  bool advance_fades(std::int64_t steps = 1) {
    bool any = false;
    if constexpr (requires(block_type& b) { b.advance_fades(steps); })
      for (auto& b : blocks_) any = b.advance_fades(steps) || any;
    return any;
  }
  /// True while a block's fade is in progress.
  bool fading() const {
    if constexpr (requires(const block_type& b) { b.fading(); })
      for (const auto& b : blocks_)
        if (b.fading()) return true;
    return false;
  }

  /// Inserts `block` at position i (0 = first, size() = last); the caller makes sure it maps its
  /// input shape to the same output shape, so the network's other shapes are unchanged.
  void insert(std::size_t i, block_type block) {
    require(i <= blocks_.size(), "Stack::insert: position ", i, " in a stack of ", blocks_.size(), " blocks");
    blocks_.insert(blocks_.begin() + static_cast<std::ptrdiff_t>(i), std::move(block));
    outputs_.insert(outputs_.begin() + static_cast<std::ptrdiff_t>(i), Tensor<S, D>());
    grads_.insert(grads_.begin() + static_cast<std::ptrdiff_t>(i), Tensor<S, D>());
    forwarded_ = backwarded_ = false;  // the stored activations no longer line up with the blocks
  }

  /// The input of block i in the last forward() (i = size(): the stack's output), e.g. a depth-growth
  /// insertion point: a view of the network's buffers, valid until the next forward(). Throws StateError
  /// before a forward() or after an insert().
  ConstView<S, D> block_input(std::size_t i) const {
    require(i <= blocks_.size(), "Stack::block_input: position ", i, " in a stack of ", blocks_.size(), " blocks");
    require<StateError>(forwarded_, "Stack::block_input: run forward() first (an insert() discards the stored "
                                    "activations)");
    if (i == 0) return input_;
    if (i == blocks_.size()) return output_;
    return outputs_[i - 1].cview();
  }
  /// dLoss/d(input of block i) from the last backward() (i = size(): dLoss/d(stack output)). Throws
  /// StateError before a backward() of the last forward(), or for i = 0 when the stack's input gradient
  /// was not computed (a Sequential skips it for its first layer with parameters unless
  /// BackwardOptions::input_grad is set).
  ConstView<S, D> block_input_grad(std::size_t i) const {
    require(i <= blocks_.size(), "Stack::block_input_grad: position ", i, " in a stack of ", blocks_.size(),
            " blocks");
    require<StateError>(backwarded_, "Stack::block_input_grad: run forward() and backward() first (an insert() "
                                     "discards the stored gradients)");
    if (i == blocks_.size()) return grad_output_;
    if (i > 0) return grads_[i - 1].cview();
    require<StateError>(!input_grad_.empty(), "Stack::block_input_grad: the gradient at the stack's input was not "
                                              "computed; run the network's backward() with input_grad = true");
    return input_grad_;
  }

  /// The shape after every block; a ShapeError names the block that refused its input.
  Shape output_shape(Shape in) const {
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
      try {
        in = blocks_[i].output_shape(in);
      } catch (const ShapeError& e) {
        throw ShapeError("block " + std::to_string(i) + " (" + blocks_[i].describe() + "): " + e.what());
      }
    }
    return in;
  }

  /// y = the blocks applied in order; each block's output is kept for backward() and growth.
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode mode) {
    input_ = x;
    output_ = y;
    forwarded_ = true;
    backwarded_ = false;
    ConstView<S, D> in = x;
    for (std::size_t i = 0; i + 1 < blocks_.size(); ++i) {
      outputs_[i].resize(blocks_[i].output_shape(in.shape()));
      blocks_[i].forward(in, outputs_[i].view(), mode);
      in = outputs_[i].cview();
    }
    blocks_.back().forward(in, y, mode);  // the last block writes straight into y
  }

  /// Back-propagates dy through the blocks in reverse: parameter gradients assigned or accumulated, dx
  /// assigned (skipped when empty). Needs the forward() of this x.
  void backward(ConstView<S, D> x, ConstView<S, D> y, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    grad_output_ = dy;
    input_grad_ = dx;
    backwarded_ = true;
    const std::size_t n = blocks_.size();
    ConstView<S, D> grad = dy;
    for (std::size_t i = n; i-- > 0;) {
      const ConstView<S, D> in = i == 0 ? x : outputs_[i - 1].cview();
      const ConstView<S, D> out = i + 1 == n ? y : outputs_[i].cview();
      if (i == 0) {
        blocks_[0].backward(in, out, grad, dx, accumulate);
      } else {
        grads_[i - 1].resize(in.shape());
        blocks_[i].backward(in, out, grad, grads_[i - 1].view(), accumulate);
        grad = grads_[i - 1].cview();
      }
    }
  }

  /// The blocks' FLOPs, each at its input shape.
  double forward_flops(Shape in) const {
    double flops = 0;
    for (const auto& b : blocks_) {
      flops += b.forward_flops(in);
      in = b.output_shape(in);
    }
    return flops;
  }

  /// Parameters named "<block>.<name>".
  template <class F>
  void visit_parameters(F&& f) {
    for (std::size_t i = 0; i < blocks_.size(); ++i)
      blocks_[i].visit_parameters([&](std::string_view name, Parameter<S, D>& p) {
        f(std::string_view(std::to_string(i) + "." + std::string(name)), p);
      });
  }

  /// The current configuration: every block's kind.
  Stack<K> kind() const {
    Stack<K> k;
    for (const auto& b : blocks_) k.blocks.push_back(b.kind());
    return k;
  }

  /// "Stack[n](block, block, ...)".
  std::string describe() const {
    std::string s = "Stack[" + std::to_string(blocks_.size()) + "](";
    for (std::size_t i = 0; i < blocks_.size(); ++i) s += (i ? ", " : "") + blocks_[i].describe();
    return s + ")";
  }

 private:
  std::vector<block_type> blocks_;
  std::vector<Tensor<S, D>> outputs_;  // outputs_[i]: output of block i (the last one unused: y)
  std::vector<Tensor<S, D>> grads_;    // grads_[i]: dLoss/d outputs_[i]
  // Views of the last forward()/backward()'s x, y, dy and dx (the caller's buffers), for growth.
  ConstView<S, D> input_, output_, grad_output_, input_grad_;
  bool forwarded_ = false, backwarded_ = false;
};

}  // namespace netgrow
