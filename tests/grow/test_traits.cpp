// Tests grow/traits.hpp: which layers can produce, consume or pass through grown neurons, and the
// activation facts a pair exposes to initializers. Illegal pairs are compile errors, covered by the
// compile-fail tests (tests/compile_fail/*grow*).
#include <doctest/doctest.h>

#include "netgrow/netgrow.hpp"

using namespace netgrow;

TEST_CASE("Dense produces and consumes neurons; activations grow by identity; Flatten does not") {
  static_assert(grow::WidthProducer<DenseLayer<float, Cpu>>);
  static_assert(grow::WidthConsumer<DenseLayer<float, Cpu>>);
  static_assert(!grow::IdentityGrowable<DenseLayer<float, Cpu>>);
  static_assert(grow::IdentityGrowable<ActivationLayer<Relu1, float, Cpu>>);
  static_assert(grow::ActivationBetween<ActivationLayer<Tanh, float, Cpu>>);
  static_assert(!grow::WidthProducer<ActivationLayer<Relu1, float, Cpu>>);
  static_assert(!grow::IdentityGrowable<FlattenLayer<float, Cpu>>);
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

  using D = Sequential<float, Cpu, Dense, Relu1, Flatten, Dense>;
  static_assert(!grow::PairTraits<D, 0, 3>::between_ok);

  using E = Sequential<float, Cpu, Dense, Relu1, Dense>;
  static_assert(!grow::PairTraits<E, 1, 2>::producer_ok);
  CHECK(true);
}
