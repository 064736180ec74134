// Tests grow/traits.hpp: which layers can produce, consume or pass through grown neurons, and the
// activation facts a pair exposes to initializers. Illegal pairs are compile errors, covered by the
// compile-fail tests (tests/compile_fail/*grow*).
#include <doctest/doctest.h>

#include "netgrow/netgrow.hpp"

using namespace netgrow;

TEST_CASE("Dense and Conv2d produce and consume neurons; activations, BatchNorm, pooling, Flatten grow by identity") {
  static_assert(grow::WidthProducer<DenseLayer<float, Cpu>>);
  static_assert(grow::WidthConsumer<DenseLayer<float, Cpu>>);
  static_assert(!grow::IdentityGrowable<DenseLayer<float, Cpu>>);
  static_assert(grow::IdentityGrowable<ActivationLayer<Relu1, float, Cpu>>);
  static_assert(grow::ActivationBetween<ActivationLayer<Tanh, float, Cpu>>);
  static_assert(!grow::WidthProducer<ActivationLayer<Relu1, float, Cpu>>);
  static_assert(grow::IdentityGrowable<FlattenLayer<float, Cpu>>);
  static_assert(grow::WidthProducer<Conv2dLayer<float, Cpu>> && grow::WidthConsumer<Conv2dLayer<float, Cpu>>);
  static_assert(grow::IdentityGrowable<BatchNormLayer<float, Cpu>>);
  static_assert(grow::IdentityGrowable<DepthwiseConv2dLayer<float, Cpu>>);
  static_assert(grow::IdentityGrowable<MaxPool2dLayer<float, Cpu>> && grow::IdentityGrowable<AvgPool2dLayer<float, Cpu>>);
  static_assert(grow::IdentityGrowable<GlobalAvgPoolLayer<float, Cpu>>);
  CHECK(true);
}

TEST_CASE("pair traits collect the activations between a pair") {
  using A = Sequential<float, Cpu, Dense, Relu1, Dense>;
  static_assert(grow::PairTraits<A, 0, 2>::producer_ok && grow::PairTraits<A, 0, 2>::consumer_ok);
  static_assert(grow::PairTraits<A, 0, 2>::between_ok);
  static_assert(grow::PairTraits<A, 0, 2>::zero_at_zero && grow::PairTraits<A, 0, 2>::nonzero_slope);

  using B = Sequential<float, Cpu, Dense, Relu, Identity, Dense>;
  static_assert(grow::PairTraits<B, 0, 3>::zero_at_zero);
  static_assert(!grow::PairTraits<B, 0, 3>::nonzero_slope);

  using C = Sequential<float, Cpu, Dense, Dense>;  // adjacent weight layers: nothing between
  static_assert(grow::PairTraits<C, 0, 1>::between_ok && grow::PairTraits<C, 0, 1>::nonzero_slope);

  using D = Sequential<float, Cpu, Dense, Relu1, Dense, Dense>;
  static_assert(!grow::PairTraits<D, 0, 3>::between_ok);  // a weight layer in between
  using F = Sequential<float, Cpu, Conv2d, Relu1, Flatten, Dense>;
  static_assert(grow::PairTraits<F, 0, 3>::between_ok);  // Flatten grows by identity (with a multiplier)

  using E = Sequential<float, Cpu, Dense, Relu1, Dense>;
  static_assert(!grow::PairTraits<E, 1, 2>::producer_ok);
  CHECK(true);
}
