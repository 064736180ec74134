/// \file
/// netgrow/network/sequential.hpp: a network as a flat compile-time list of layer kinds.
///
/// ~~~
///   Rng rng(42);
///   auto net = make_sequential<float, Cpu>(rng, Dense{.in = 784, .out = 1024}, Relu1{},
///                                          Dense{.in = 1024, .out = 10});
///   auto logits = net.forward(x);            // (N, 10); x must stay alive until backward()
///   net.backward(grad_logits);               // fills every parameter's .grad
///   optimizer.step(net);
/// ~~~
///
/// Layer kinds are types (checked at compile time); widths are run-time values (checked at forward
/// time, with messages naming the layer). The network owns one output buffer and one gradient buffer
/// per layer; both are reused across steps and exposed (output<I>(), output_grad<I>()) because growth
/// methods such as GradMax read the stored activations and back-propagated gradients.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "netgrow/ops/blas.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow {

namespace detail {

// Fails with a message naming the offending entry when a type in a network's list is not a layer kind.
template <class K, std::size_t Position>
constexpr bool check_layer_kind() {
  if constexpr (requires { typename K::template layer_type<float, Cpu>; }) {
    using L = typename K::template layer_type<float, Cpu>;
    static_assert(requires(const L& l, const Shape& s) {
      { l.forward_flops(s) } -> std::convertible_to<double>;
    }, "netgrow::Sequential: a layer kind's layer must declare its FLOPs, `double forward_flops(const Shape& in) "
       "const` (2 x the multiply-adds of one forward pass; 0 for layers without products). See the template "
       "arguments of check_layer_kind for the kind and its position.");
  }
  static_assert(LayerKind<K>,
                "netgrow::Sequential: every entry of the layer list must be a layer kind such as Dense, Relu1 "
                "or Flatten (a type with `template <class S, class D> using layer_type = ...` naming a class "
                "that satisfies netgrow::Layer). See the template arguments of check_layer_kind for the "
                "offending type and its position.");
  return true;
}

template <class... Kinds, std::size_t... Is>
constexpr bool check_layer_kinds(std::index_sequence<Is...>) {
  return (check_layer_kind<Kinds, Is>() && ...);
}

}  // namespace detail

/// What backward() computes besides the parameter gradients.
struct BackwardOptions {
  bool accumulate = false;  ///< add to the parameter gradients instead of assigning them
  bool input_grad = false;  ///< also compute dLoss/dinput (input_grad())
  /// Stop once dLoss/d(output of layer `down_to`) is known: only layers after it run backward (and
  /// write their parameter gradients). GradMax uses this to get dL/dz of a consumer layer cheaply.
  std::optional<std::size_t> down_to = std::nullopt;
};

/// A network of scalar S on device D whose layers are the kinds Kinds..., applied in order (see the file
/// comment). Move-only.
template <class S, class D, class... Kinds>
class Sequential {
  static_assert(sizeof...(Kinds) >= 1, "netgrow::Sequential needs at least one layer");
  static_assert(detail::check_layer_kinds<Kinds...>(std::index_sequence_for<Kinds...>{}));

 public:
  using scalar_type = S;                                    ///< element type
  using device_type = D;                                    ///< where every tensor lives
  using layer_tuple = std::tuple<layer_t<Kinds, S, D>...>;  ///< the layers, one per kind
  /// The type of layer I.
  template <std::size_t I>
  using layer_type = std::tuple_element_t<I, layer_tuple>;
  /// The kind of layer I.
  template <std::size_t I>
  using kind_type = std::tuple_element_t<I, std::tuple<Kinds...>>;
  static constexpr std::size_t size = sizeof...(Kinds);  ///< number of layers

  /// Builds every layer from its kind, drawing initial weights from rng in layer order (braces: the
  /// elements of a braced list are evaluated left to right, the arguments of a call are not).
  explicit Sequential(Rng& rng, const Kinds&... kinds) : layers_{layer_t<Kinds, S, D>(kinds, rng)...} {}
  /// Takes over layers built elsewhere, e.g. another network's layers moved into a deeper network type
  /// (grow::insert_identity_layer); nothing is drawn.
  explicit Sequential(layer_tuple layers) : layers_(std::move(layers)) {}

  /// Moves transfer the layers and their buffers (networks are not copyable).
  ///@{
  Sequential(Sequential&&) noexcept = default;
  Sequential& operator=(Sequential&&) noexcept = default;
  ///@}

  /// Layer I (compile-time index).
  ///@{
  template <std::size_t I>
  layer_type<I>& layer() {
    static_assert(I < size, "Sequential::layer<I>: index out of range");
    return std::get<I>(layers_);
  }
  template <std::size_t I>
  const layer_type<I>& layer() const {
    static_assert(I < size, "Sequential::layer<I>: index out of range");
    return std::get<I>(layers_);
  }
  ///@}

  /// Output shape for an input shape; throws ShapeError naming the first layer that does not fit.
  Shape output_shape(Shape shape) const {
    for_each_layer([&](auto i, const auto& l) { shape = checked_output_shape(i, l, shape); });
    return shape;
  }

  /// Runs every layer; returns a view of the last output, valid until the next forward().
  /// `x` is not copied: it must stay alive and unchanged until backward() has run.
  ConstView<S, D> forward(ConstView<S, D> x, Mode mode = Mode::train) {
    input_ = x;
    ConstView<S, D> in = x;
    for_each_layer([&](auto i, auto& l) {
      Tensor<S, D>& out = outputs_[i];
      out.resize(checked_output_shape(i, l, in.shape()));
      l.forward(in, out.view(), mode);
      in = out.cview();
    });
    forwarded_ = true;
    return in;
  }

  /// Back-propagates dLoss/doutput (shape of the last output) through every layer, writing each
  /// parameter's gradient (assigned, or added with options.accumulate). Layers before the first one
  /// with parameters are skipped unless options.input_grad asks for dLoss/dinput; with
  /// options.down_to = j only layers after j run.
  void backward(ConstView<S, D> grad_output, BackwardOptions options = {}) {
    require<StateError>(forwarded_, "Sequential::backward: call forward() first");
    require<ShapeError>(grad_output.shape() == outputs_[size - 1].shape(), "Sequential::backward: gradient of shape ",
                        grad_output.shape(), " for an output of shape ", outputs_[size - 1].shape());
    require(!options.down_to || *options.down_to < size, "Sequential::backward: down_to = ",
            options.down_to.value_or(0), " is not a layer index (the network has ", size, " layers)");
    grad_output_ = grad_output;
    // Layers first..size-1 run backward; layer i computes its input gradient when i > first, or
    // when the gradient below `first` is wanted (down_to, input_grad).
    const std::size_t first = options.down_to ? *options.down_to + 1
                              : options.input_grad ? 0
                                                   : first_layer_with_parameters();
    const bool gradient_below_first = options.down_to.has_value();
    for_each_layer_reverse([&](auto i, auto& l) {
      if (i < first) return;
      const ConstView<S, D> dy = i + 1 == size ? grad_output : grads_[i].cview();
      if constexpr (i == 0) {
        TensorView<S, D> dx;
        if (options.input_grad) {
          input_grad_.resize(input_.shape());
          dx = input_grad_.view();
        }
        l.backward(input_, outputs_[0].cview(), dy, dx, options.accumulate);
      } else {
        Tensor<S, D>& dx = grads_[i - 1];
        const bool needed = i > first || gradient_below_first;
        if (needed) dx.resize(outputs_[i - 1].shape());
        l.backward(outputs_[i - 1].cview(), outputs_[i].cview(), dy, needed ? dx.view() : TensorView<S, D>(),
                   options.accumulate);
      }
    });
  }

  /// The input of the last forward() (a view of the caller's tensor).
  ConstView<S, D> input() const { return input_; }

  /// dLoss/dinput from the last backward() with options.input_grad.
  ConstView<S, D> input_grad() const { return input_grad_.cview(); }

  /// Output of layer I from the last forward().
  template <std::size_t I>
  ConstView<S, D> output() const {
    static_assert(I < size);
    return outputs_[I].cview();
  }
  /// dLoss/d(output of layer I) from the last backward() (for the last layer: the gradient passed in).
  template <std::size_t I>
  ConstView<S, D> output_grad() const {
    static_assert(I < size);
    if constexpr (I + 1 == size) return grad_output_;
    else return grads_[I].cview();
  }

  /// Calls f(name, Parameter&) for every parameter, in layer order; names are "<layer index>.<name>",
  /// as in PyTorch's nn.Sequential state dicts ("0.weight", "0.bias", "2.weight", ...).
  template <class F>
  void visit_parameters(F&& f) {
    for_each_layer([&](auto i, auto& l) {
      l.visit_parameters([&](std::string_view name, Parameter<S, D>& p) {
        f(std::to_string(i) + "." + std::string(name), p);
      });
    });
  }

  /// Number of scalars in all parameters (running statistics included).
  Index parameter_count() {
    Index n = 0;
    visit_parameters([&](const std::string&, Parameter<S, D>& p) { n += p.numel(); });
    return n;
  }

  /// Sets every parameter gradient to zero (only needed before accumulating backward passes).
  void zero_grad() {
    visit_parameters([](const std::string&, Parameter<S, D>& p) { p.grad.fill_zero(); });
  }

  /// Names the first parameter gradient or layer output holding NaN or infinity, or nullopt.
  std::optional<std::string> find_non_finite() {
    std::optional<std::string> found;
    for_each_layer([&](auto i, const auto& l) {
      if (!found && forwarded_ && !ops::all_finite<S>(outputs_[i].cview()))
        found = "output of layer " + std::to_string(i) + " (" + l.describe() + ")";
    });
    visit_parameters([&](const std::string& name, Parameter<S, D>& p) {
      if (!found && !ops::all_finite<S>(p.value.cview())) found = "parameter " + name;
      if (!found && !ops::all_finite<S>(p.grad.cview())) found = "gradient of parameter " + name;
    });
    return found;
  }

  /// One line per layer: "0: Dense(784 -> 1024)".
  std::string describe() const {
    std::string s;
    for_each_layer([&](auto i, const auto& l) { s += std::to_string(i) + ": " + l.describe() + "\n"; });
    return s;
  }

  /// Calls f(std::integral_constant<std::size_t, I>, layer) for each layer in order.
  ///@{
  template <class F>
  void for_each_layer(F&& f) {
    for_each_impl(f, std::make_index_sequence<size>{});
  }
  template <class F>
  void for_each_layer(F&& f) const {
    for_each_impl(f, std::make_index_sequence<size>{});
  }
  ///@}

 private:
  template <class F, std::size_t... Is>
  void for_each_impl(F& f, std::index_sequence<Is...>) {
    (f(std::integral_constant<std::size_t, Is>{}, std::get<Is>(layers_)), ...);
  }
  template <class F, std::size_t... Is>
  void for_each_impl(F& f, std::index_sequence<Is...>) const {
    (f(std::integral_constant<std::size_t, Is>{}, std::get<Is>(layers_)), ...);
  }
  template <class F>
  void for_each_layer_reverse(F&& f) {
    reverse_impl(f, std::make_index_sequence<size>{});
  }
  template <class F, std::size_t... Is>
  void reverse_impl(F& f, std::index_sequence<Is...>) {
    (f(std::integral_constant<std::size_t, size - 1 - Is>{}, std::get<size - 1 - Is>(layers_)), ...);
  }

  template <class L>
  static Shape checked_output_shape(std::size_t i, const L& l, const Shape& in) {
    try {
      return l.output_shape(in);
    } catch (const ShapeError& e) {
      throw ShapeError("layer " + std::to_string(i) + " (" + l.describe() + "): " + e.what());
    }
  }

  std::size_t first_layer_with_parameters() {
    std::size_t first = size;
    for_each_layer([&](auto i, auto& l) {
      if (first == size && netgrow::parameter_count(l) > 0) first = i;
    });
    return first;
  }

  layer_tuple layers_;
  std::array<Tensor<S, D>, size> outputs_;  // outputs_[i]: output of layer i
  std::array<Tensor<S, D>, size> grads_;    // grads_[i]: dLoss/d outputs_[i] (the last one unused)
  Tensor<S, D> input_grad_;
  ConstView<S, D> input_;
  ConstView<S, D> grad_output_;
  bool forwarded_ = false;
};

/// Builds a Sequential whose layer list is deduced from the kinds: make_sequential<float, Cpu>(rng,
/// Dense{...}, Relu1{}, Dense{...}).
template <class S, class D, class... Kinds>
Sequential<S, D, Kinds...> make_sequential(Rng& rng, const Kinds&... kinds) {
  return Sequential<S, D, Kinds...>(rng, kinds...);
}

}  // namespace netgrow
