// An activation functor without the traits growth code relies on (zero_at_zero, ...) is rejected
// with a message naming the missing concept.
#include <netgrow/netgrow.hpp>

struct Square {
  template <class S, class D>
  using layer_type = netgrow::ActivationLayer<Square, S, D>;
  static constexpr std::string_view name = "Square";
#ifndef NETGROW_SHOULD_FAIL
  static constexpr bool zero_at_zero = true;
  static constexpr bool nonzero_slope_at_zero = false;
  constexpr double slope_at_zero() const { return 0.0; }
#endif
  template <class T>
  T f(T x) const { return x * x; }
  template <class T>
  T df(T x, T) const { return 2 * x; }
};

int main() {
  netgrow::Rng rng(0);
  netgrow::ActivationLayer<Square, float, netgrow::Cpu> layer(Square{}, rng);
  return layer.describe() == "Square" ? 0 : 1;
}
