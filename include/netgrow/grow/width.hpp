/// \file
/// netgrow/grow/width.hpp: width growth of a network, one pair of weight layers at a time.
///
/// ~~~
///   // after a forward/backward on a grow batch:
///   auto data = grow::data_from_last_backward<0, 2>(net);             // h and dL/dz of that batch
///   grow::grow_width<0, 2>(net, 4, grow::GradMax{}, rng, data);       // 4 neurons between 0 and 2
/// ~~~
///
/// grow_width<P, C> appends k output neurons to layer P (their incoming weights and bias), grows every
/// layer between P and C by identity (activations: nothing to do), and appends k inputs to layer C
/// (the new neurons' outgoing weights), with gradients and optimizer state (momentum, Adam moments)
/// extended by zeros in the same step. Which pairs may grow is checked at compile time (grow/traits.hpp):
/// an illegal pair, or an initializer whose assumptions the activations between the pair break
/// (GradMax with the standard Relu), does not compile and says why.
///
/// Several pairs: grow_pair(net, PairList<Pair<0, 2>, Pair<2, 4>>{}, index, ...) grows one chosen at
/// run time (round-robin schedules); grow_all_at_once grows each in network order. Both take a
/// `refresh` callable that runs forward, loss and backward on the grow batch; it is called before each
/// data-driven growth, so each pair sees the gradients of the network as it is at that moment.
#pragma once

#include <cmath>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "netgrow/ops/layout.hpp"
#include "netgrow/core/clock.hpp"
#include "netgrow/grow/initializer.hpp"
#include "netgrow/grow/pair_data.hpp"
#include "netgrow/layers/parameter_growth.hpp"
#include "netgrow/grow/traits.hpp"

namespace netgrow::grow {

/// What one growth of a pair did.
struct GrowthReport {
  /// The pair's layer indices.
  ///@{
  std::size_t producer = 0, consumer = 0;
  ///@}
  /// The producer's width before and after.
  ///@{
  Index old_width = 0, new_width = 0;
  ///@}
  std::vector<double> singular_values;  ///< GradMax: the top singular values of M
  double consumer_scale = 1;            ///< the factor on the consumer's existing weights (variance transfer)
  double seconds = 0;                   ///< wall time of the growth (initializer included)
};

namespace detail {

template <class Net, std::size_t P, std::size_t C, class F>
void for_each_between(Net& net, F&& f) {
  [&]<std::size_t... Is>(std::index_sequence<Is...>) {
    (f(net.template layer<P + 1 + Is>()), ...);
  }(std::make_index_sequence<C - P - 1>{});
}

// The consumer weight of pair (P, C) seen as (outer, width, rest): neuron j owns the slice [:, j, :].
template <class Net, std::size_t P, std::size_t C>
Shape consumer_blocks(Net& net, Index width) {
  using Consumer = typename Net::template layer_type<C>;
  const auto& w_out = net.template layer<C>().weight().value;
  Index outer = 1;
  for (int a = 0; a < Consumer::input_axis; ++a) outer *= w_out.dim(a);
  return Shape{outer, width, w_out.numel() / (outer * width)};
}

// Product of f'(0) over the activations between the pair.
template <class Net, std::size_t P, std::size_t C>
double slope_between(Net& net) {
  double slope = 1;
  for_each_between<Net, P, C>(net, [&](auto& layer) {
    if constexpr (ActivationBetween<std::remove_cvref_t<decltype(layer)>>) slope *= layer.activation().slope_at_zero();
  });
  return slope;
}

// True when layer C + 1 of Net exists and absorbs a factor on its input (rescale_input: BatchNorm), so
// a factor on the consumer's output keeps the network's function.
template <class Net, std::size_t C>
constexpr bool rescalable_after() {
  if constexpr (C + 1 < Net::size)
    return requires(typename Net::template layer_type<C + 1>& l) { l.rescale_input(1.0); };
  else return false;
}

inline double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// Runs the layers between the pair forward on new channels' values (R, k) — rows are samples, or
// samples x positions for convolutions — keeping intermediates. New channels see each in-between layer
// as it will act on them after identity growth: its new_channels_layer(k) (layers/layer.hpp; an
// activation as it is, BatchNorm as a fresh identity BatchNorm over the k new channels, normalising each
// over the rows in training mode). On the network's device D.
template <class Net, std::size_t P, std::size_t C>
struct BetweenRunner {
  using S = typename Net::scalar_type;
  using D = typename Net::device_type;
  // One in-between layer restricted to the new channels: forward and backward (in, out, grad_out, grad_in).
  struct Step {
    std::function<void(ConstView<S, D>, TensorView<S, D>)> forward;
    std::function<void(ConstView<S, D>, ConstView<S, D>, ConstView<S, D>, TensorView<S, D>)> backward;
  };
  Net* net;
  std::vector<Tensor<S, D>> values;  // values[i]: output of the i-th layer between
  std::vector<Step> steps;           // steps[i]: the i-th layer between, on the new channels

  void forward(ConstView<S, D> z, TensorView<S, D> h) {
    values.resize(C - P - 1);
    steps.clear();
    ConstView<S, D> in = z;
    std::size_t i = 0;
    for_each_between<Net, P, C>(*net, [&](auto& layer) {
      using L = std::remove_cvref_t<decltype(layer)>;
      if constexpr (requires { layer.new_channels_layer(Index{1}); }) {
        auto fresh = std::make_shared<L>(layer.new_channels_layer(in.dim(1)));
        steps.push_back(Step{
            [fresh](ConstView<S, D> x, TensorView<S, D> y) { fresh->forward(x, y, Mode::train); },
            [fresh](ConstView<S, D> x, ConstView<S, D> y, ConstView<S, D> dy, TensorView<S, D> dx) {
              fresh->backward(x, y, dy, dx, false);
            }});
      } else {
        require(false, "grow: initializers that evaluate new neurons on the batch (FireflyOpt, InverseGradMaxOpt) "
                       "need every layer between the pair to say how it acts on new channels "
                       "(new_channels_layer: activations, BatchNorm), not ", layer.describe());
      }
      values[i].resize(in.shape());
      steps[i].forward(in, values[i].view());
      in = values[i++].cview();
    });
    ops::copy<S>(in, h);
  }
  void backward(ConstView<S, D> z, ConstView<S, D>, ConstView<S, D> dh, TensorView<S, D> dz) {
    Tensor<S, D> grad(dh.shape());
    ops::copy<S>(dh, grad.view());
    for (std::size_t j = steps.size(); j-- > 0;) {
      const ConstView<S, D> in = j == 0 ? z : values[j - 1].cview();
      Tensor<S, D> below(in.shape());
      steps[j].backward(in, values[j].cview(), grad.cview(), below.view());
      grad = std::move(below);
    }
    ops::copy<S>(grad.cview(), dz);
  }
};

// PairView's between_forward / between_backward (host views) for the pair of `net`: the runner itself on
// the Cpu; on a device, the host values copied over, the runner run there, the results copied back.
template <class Net, std::size_t P, std::size_t C, class S = typename Net::scalar_type>
void set_between_functions(Net& net, PairView<S, typename Net::device_type>& view) {
  using D = typename Net::device_type;
  auto between = std::make_shared<BetweenRunner<Net, P, C>>();
  between->net = &net;
  if constexpr (std::same_as<D, Cpu>) {
    view.between_forward = [between](ConstView<S, Cpu> z, TensorView<S, Cpu> h) { between->forward(z, h); };
    view.between_backward = [between](ConstView<S, Cpu> z, ConstView<S, Cpu> h, ConstView<S, Cpu> dh,
                                      TensorView<S, Cpu> dz) { between->backward(z, h, dh, dz); };
  } else {
    // The forward's input stays on the device for the backward that follows it.
    auto z_device = std::make_shared<Tensor<S, D>>();
    const auto upload = [](ConstView<S, Cpu> host, Tensor<S, D>& device) {
      device.resize(host.shape());
      copy_between<S>(host, device.view());
    };
    view.between_forward = [between, z_device, upload](ConstView<S, Cpu> z, TensorView<S, Cpu> h) {
      upload(z, *z_device);
      Tensor<S, D> out(h.shape());
      between->forward(z_device->cview(), out.view());
      copy_between<S>(out.cview(), h);
    };
    view.between_backward = [between, z_device, upload](ConstView<S, Cpu> z, ConstView<S, Cpu> h,
                                                        ConstView<S, Cpu> dh, TensorView<S, Cpu> dz) {
      require<ShapeError>(z_device->shape() == z.shape(), "grow: between_backward needs the between_forward of the "
                          "same values first");
      Tensor<S, D> h_device, dh_device, out(dz.shape());
      upload(h, h_device);
      upload(dh, dh_device);
      between->backward(z_device->cview(), h_device.cview(), dh_device.cview(), out.view());
      copy_between<S>(out.cview(), dz);
    };
  }
}

// grow_width's work, for a pair and an initializer that passed its compile-time checks.
template <std::size_t P, std::size_t C, class Net, class Init>
GrowthReport grow_checked_pair(Net& net, Index k, const Init& init, Rng& rng,
                               const GrowthData<typename Net::scalar_type, typename Net::device_type>& data) {
  using S = typename Net::scalar_type;
  using D = typename Net::device_type;
  using Traits = PairTraits<Net, P, C>;
  constexpr bool staged = runs_host_staged<Init, S, D>;

  using Producer = typename Traits::Producer;
  using Consumer = typename Traits::Consumer;
  static_assert(Producer::output_axis == 0, "netgrow::grow: producers keep their output neurons along axis 0");

  const double start = monotonic_seconds();
  auto& producer = net.template layer<P>();
  auto& consumer = net.template layer<C>();
  const Tensor<S, D>& w_in = producer.weight().value;
  const Tensor<S, D>& w_out = consumer.weight().value;
  const Index width = w_in.dim(Producer::output_axis);
  require(k >= 0, "grow_width: cannot add ", k, " neurons");
  // Each producer channel may feed several consumer inputs (m = H W after a Flatten).
  Index multiplier = 1;
  detail::for_each_between<Net, P, C>(net, [&](auto& layer) {
    if constexpr (requires { layer.channel_multiplier(); }) multiplier *= layer.channel_multiplier();
  });
  require<ShapeError>(w_out.dim(Consumer::input_axis) == width * multiplier, "grow_width<", P, ", ", C, ">: layer ",
                      P, " produces ", width, " neurons", (multiplier > 1 ? " (x " + std::to_string(multiplier) + ")" : ""),
                      " but layer ", C, " consumes ", w_out.dim(Consumer::input_axis));
  // Non-finite weights or data (after a NaN loss, say) make every initializer's new neurons meaningless:
  // NaN norms, an undefined SVD. Refuse before anything changes.
  require<NumericError>(ops::all_finite<S>(w_in) && ops::all_finite<S>(w_out) &&
                            (!producer.has_bias() || ops::all_finite<S>(producer.bias().value)),
                        "grow_width<", P, ", ", C, ">: the weights of layers ", P, " and ", C,
                        " hold NaN or infinity; growth refused, the network is unchanged");
  require<NumericError>(data.all_finite(), "grow_width<", P, ", ", C, ">: the grow data (GradMax's matrix or the "
                        "batch's activations and gradients) holds NaN or infinity; growth refused, the network is "
                        "unchanged");
  const Shape consumer_shape = detail::consumer_blocks<Net, P, C>(net, width);

  GrowthReport report;
  report.producer = P;
  report.consumer = C;
  report.old_width = width;
  report.new_width = width + k;
  if (k == 0) return report;

  PairView<S, D> view;
  view.incoming = w_in.cview().reshape(Shape{width, w_in.numel() / width});
  if (producer.has_bias()) view.bias = producer.bias().value.cview();
  view.fan_out_size = w_out.numel() / width;
  view.mean_incoming_norm = detail::mean_of(ops::axis_norms<S>(w_in.cview(), Producer::output_axis));
  view.mean_outgoing_norm = detail::mean_of(ops::axis_norms<S>(w_out.cview().reshape(consumer_shape), 1));
  view.outgoing = [&w_out, width, consumer_shape] {
    Tensor<S, D> rows(Shape{width, w_out.numel() / width});
    ops::axis_to_rows<S>(w_out.cview().reshape(consumer_shape), 1, rows.view());
    return rows;
  };
  view.slope_at_zero = detail::slope_between<Net, P, C>(net);
  view.zero_at_zero = Traits::zero_at_zero;
  view.consumer_outputs = w_out.dim(Consumer::output_axis);
  view.consumer_fan_in = w_out.numel() / view.consumer_outputs;
  view.mixing_between = !Traits::identity_between;
  view.normalized_after_consumer = detail::rescalable_after<Net, C>();
  detail::set_between_functions<Net, P, C>(net, view);

  NewNeurons<S, D> n;
  try {
    if constexpr (staged) n = host_staged_growth(init, view, k, data, rng);
    else n = init.initialize(view, k, data, rng);
  } catch (const NumericError& e) {
    throw NumericError(netgrow::detail::concat("grow_width<", P, ", ", C, ">: ", e.what(), "; the network is unchanged"));
  }
  require<ShapeError>(n.incoming.shape() == Shape{k, view.fan_in()} && n.outgoing.shape() == Shape{k, view.fan_out()},
                      "grow_width: the initializer returned incoming ", n.incoming.shape(), " and outgoing ",
                      n.outgoing.shape(), " for ", k, " neurons with fan_in ", view.fan_in(), " and fan_out ",
                      view.fan_out());
  require<NumericError>(ops::all_finite<S>(n.incoming) && ops::all_finite<S>(n.outgoing) && ops::all_finite<S>(n.bias) &&
                            ops::all_finite<S>(n.existing_outgoing) && ops::all_finite<S>(n.existing_outgoing_scale) &&
                            std::isfinite(n.consumer_scale),
                        "grow_width<", P, ", ", C, ">: the initializer gave NaN or infinite weights; growth refused, "
                        "the network is unchanged");

  // Layers that mix channels check their sources before anything changes.
  detail::for_each_between<Net, P, C>(net, [&](auto& layer) {
    if constexpr (requires { layer.check_sources(std::span<const Index>(n.duplicate_of)); })
      layer.check_sources(std::span<const Index>(n.duplicate_of));
  });
  // The existing neurons' new outgoing weights (host values, Split and Lemon), checked before any change.
  require<ShapeError>(n.existing_outgoing_scale.empty() || n.existing_outgoing_scale.numel() == width,
                      "grow_width: existing_outgoing_scale of ", n.existing_outgoing_scale.numel(), " entries for width ",
                      width);
  require<ShapeError>(n.existing_outgoing.empty() || n.existing_outgoing.shape() == Shape{width, view.fan_out()},
                      "grow_width: existing_outgoing ", n.existing_outgoing.shape(), " for ", width,
                      " neurons with fan_out ", view.fan_out());
  if (!n.existing_outgoing_scale.empty()) {
    Tensor<S, Cpu> outgoing;  // (width, fan_out), gathered on the device, scaled on the host
    if constexpr (std::same_as<D, Cpu>) outgoing = view.outgoing();
    else outgoing = host_copy(view.outgoing().cview());
    auto rows = matrix(outgoing);
    for (Index j = 0; j < width; ++j) rows.row(j) *= n.existing_outgoing_scale[j];
    ops::rows_to_axis<S>(host_to<D>(std::move(outgoing)).cview(), 1, consumer.weight().value.view().reshape(consumer_shape));
  }
  if (!n.existing_outgoing.empty())
    ops::rows_to_axis<S>(host_to<D>(std::move(n.existing_outgoing)).cview(), 1,
                         consumer.weight().value.view().reshape(consumer_shape));
  if (n.consumer_scale != 1.0) {
    require(std::isfinite(n.consumer_scale) && n.consumer_scale > 0, "grow_width: consumer_scale must be positive "
            "and finite, got ", n.consumer_scale);
    require(view.normalized_after_consumer, "grow_width<", P, ", ", C, ">: rescaling the consumer's weights keeps the "
            "network's function only with a BatchNorm right after the consumer, and layer ", C + 1,
            " does not absorb it (rescale_input, e.g. a BatchNorm); grow this pair without rescaling");
    ops::scale<S>(consumer.weight().value.view(), static_cast<S>(n.consumer_scale));
    if (consumer.has_bias()) ops::scale<S>(consumer.bias().value.view(), static_cast<S>(n.consumer_scale));
    if constexpr (detail::rescalable_after<Net, C>()) net.template layer<C + 1>().rescale_input(n.consumer_scale);
  }
  producer.grow_outputs(n.incoming.cview(), n.bias.cview());
  detail::for_each_between<Net, P, C>(net, [&](auto& layer) {
    using L = std::remove_cvref_t<decltype(layer)>;
    if constexpr (!IdentityGrowable<L>) {  // mixes channels (LayerNorm): copies only (checked at compile time)
      require(!n.duplicate_of.empty(), "grow_width: ", layer.describe(), " between the pair needs copied neurons");
      layer.grow_channels_from(std::span<const Index>(n.duplicate_of));
    } else if (n.duplicate_of.empty()) {
      layer.grow_channels(k);
    } else if constexpr (requires { layer.grow_channels_from(std::span<const Index>(n.duplicate_of)); }) {
      layer.grow_channels_from(std::span<const Index>(n.duplicate_of));
    } else {
      require(netgrow::parameter_count(layer) == 0, "grow_width: the initializer copies neurons, but ",
              layer.describe(), " between the pair cannot copy channels");
      layer.grow_channels(k);  // no per-channel state: identity growth is a copy
    }
  });
  consumer.grow_inputs(n.outgoing.cview());

  if constexpr (requires(RefineContext<S, D>& c) { init.refine(c); }) {
    RefineContext<S, D> context{producer.weight(), Producer::output_axis, consumer.weight(), Consumer::input_axis,
                             multiplier, width, k, data};
    init.refine(context);
  }
  report.singular_values = std::move(n.singular_values);
  report.consumer_scale = n.consumer_scale;
  report.seconds = monotonic_seconds() - start;
  return report;
}

}  // namespace detail

/// Grows k neurons between layers P and C of net with initializer `init`.
/// On a device network (Cuda) the growth runs on the device: the initializer's work (GradMax's SVD
/// included), the appends to weights, gradients and optimizer state. Initializers written for the
/// Cpu only (Split, Lemon, GradMax-Opt) run on the host with the pair copied over (host_staged_growth);
/// FireflyOpt trains its new neurons on the device.
template <std::size_t P, std::size_t C, class Net, class Init>
GrowthReport grow_width(Net& net, Index k, const Init& init, Rng& rng,
                        const GrowthData<typename Net::scalar_type, typename Net::device_type>& data = {}) {
  using S = typename Net::scalar_type;
  using D = typename Net::device_type;
  using Traits = PairTraits<Net, P, C>;
  using InitTraits = initializer_traits<Init>;
  [[maybe_unused]] constexpr PairCheck<Net, P, C> pair_check{};  // first, so that its message comes first
  constexpr bool fits = runs_on<Init, S, D> || runs_host_staged<Init, S, D>;
  static_assert(fits || Initializer<Init>,
                "netgrow::grow: Init is not a width-growth initializer: it needs a const member `NewNeurons<S, D> "
                "initialize(const PairView<S, D>&, Index k, const GrowthData<S, D>&, Rng&)` (grow/initializer.hpp)");
  static_assert(fits || !Initializer<Init>,
                "netgrow::grow: this initializer has no initialize() for the network's scalar type (it is written "
                "for the other scalar type); see grow::runs_on");
  // What the layers between the pair allow, asked only of a pair that can grow (PairCheck reports the others).
  static_assert(!Traits::growable || !InitTraits::needs_zero_at_zero || Traits::zero_at_zero,
                "netgrow::grow: this initializer gives new neurons zero incoming weights, which keeps the network's "
                "function only if every activation between the pair has f(0) = 0");
  static_assert(!Traits::growable || !InitTraits::needs_nonzero_slope || Traits::nonzero_slope,
                "netgrow::grow: GradMax-style initializers need f'(0) != 0 between the pair; with the standard Relu "
                "(f'(0) = 0) the new neurons' gradient is exactly zero. Use Relu1 (ReLU with slope 1 at 0)");
  static_assert(!Traits::growable || Traits::identity_between || InitTraits::copies_neurons,
                "netgrow::grow: a LayerNorm between the pair mixes channels, so only new neurons that copy or "
                "average existing ones keep the function: grow this pair with grow::Lemon (LEMON's expansion)");
  // Only a pair and an initializer that passed go on, so a failed check is the only error the call causes.
  if constexpr (Traits::growable && fits) return detail::grow_checked_pair<P, C>(net, k, init, rng, data);
  else return {};
}

/// Reserves the memory pair (P, C) needs at `target_width` neurons (weights, bias, gradients and the
/// optimizer state that exists now), so that growing up to it moves elements but never allocates.
template <std::size_t P, std::size_t C, class Net>
void reserve_width(Net& net, Index target_width) {
  [[maybe_unused]] constexpr PairCheck<Net, P, C> pair_check{};
  if constexpr (PairTraits<Net, P, C>::growable) {  // else PairCheck's message is the only error
    auto& producer = net.template layer<P>();
    auto& consumer = net.template layer<C>();
    using Producer = typename PairTraits<Net, P, C>::Producer;
    using Consumer = typename PairTraits<Net, P, C>::Consumer;
    const Index width = producer.weight().value.dim(Producer::output_axis);
    require(target_width >= width, "reserve_width: target width ", target_width, " is below the current width ",
            width);
    grow::reserve_parameter(producer.weight(), producer.weight().numel() / width * target_width);
    if (producer.has_bias()) grow::reserve_parameter(producer.bias(), target_width);
    grow::reserve_parameter(consumer.weight(), consumer.weight().numel() /
                                                   consumer.weight().value.dim(Consumer::input_axis) * target_width);
  }
}

/// A pair of layer indices, and a list of pairs a schedule chooses from.
template <std::size_t P, std::size_t C>
struct Pair {
  static constexpr std::size_t producer = P;  ///< the producer's layer index
  static constexpr std::size_t consumer = C;  ///< the consumer's layer index
};
/// A list of Pair types (a schedule picks one by its position).
template <class... Pairs>
struct PairList {
  static constexpr std::size_t size = sizeof...(Pairs);  ///< number of pairs
};

/// Grows pair number `index` of the list by k neurons. For data-driven initializers, calls refresh()
/// first and takes the grow batch from the network (data_from_last_backward), with refresh as the
/// recompute step (FireflyOpt).
template <class Net, class Init, class... Pairs>
GrowthReport grow_pair(Net& net, PairList<Pairs...>, std::size_t index, Index k, const Init& init, Rng& rng,
                       const std::function<void()>& refresh = {}) {
  require(index < sizeof...(Pairs), "grow_pair: pair index ", index, " out of range for ", sizeof...(Pairs),
          " pairs");
  GrowthReport report;
  std::size_t i = 0;
  auto one = [&]<class Pr>(Pr) {
    if (i++ != index) return;
    using S = typename Net::scalar_type;
    if constexpr (initializer_traits<Init>::needs_data) {
      require(static_cast<bool>(refresh), "grow_pair: this initializer needs the grow batch; pass refresh");
      refresh();
      GrowthData<S, typename Net::device_type> data = data_from_last_backward<Pr::producer, Pr::consumer>(net);
      data.with_recompute(refresh);
      report = grow_width<Pr::producer, Pr::consumer>(net, k, init, rng, data);
    } else {
      report = grow_width<Pr::producer, Pr::consumer>(net, k, init, rng);
    }
  };
  (one(Pairs{}), ...);
  return report;
}

/// Grows every pair of the list in network order, pair i by ks[i] neurons (the GradMax reference's
/// AllAtOnce updater).
template <class Net, class Init, class... Pairs>
std::vector<GrowthReport> grow_all_at_once(Net& net, PairList<Pairs...> pairs, std::span<const Index> ks,
                                           const Init& init, Rng& rng, const std::function<void()>& refresh = {}) {
  require(ks.size() == sizeof...(Pairs), "grow_all_at_once: ", ks.size(), " neuron counts for ", sizeof...(Pairs),
          " pairs");
  std::vector<GrowthReport> reports;
  for (std::size_t i = 0; i < sizeof...(Pairs); ++i) reports.push_back(grow_pair(net, pairs, i, ks[i], init, rng, refresh));
  return reports;
}

}  // namespace netgrow::grow
