// Compile-fail case: a layer kind whose layer does not declare forward_flops() must not compile in a
// network (its FLOPs would otherwise count as 0), and the message must say what to declare.
#include "netgrow/layers/dense.hpp"
#include "netgrow/network/sequential.hpp"

using namespace netgrow;

template <class S, class D>
class HalveLayer;

struct Halve {  // y = x / 2, a kind of the user's
  static constexpr std::string_view name = "Halve";
  template <class S, class D>
  using layer_type = HalveLayer<S, D>;
};

template <class S, class D>
class HalveLayer {
 public:
  using scalar_type = S;
  using device_type = D;
  using kind_type = Halve;
  HalveLayer(const Halve&, Rng&) {}
  Shape output_shape(const Shape& in) const { return in; }
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) {
    for (Index i = 0; i < x.numel(); ++i) y[i] = x[i] / 2;
  }
  void backward(ConstView<S, D>, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool) {
    for (Index i = 0; i < dx.numel(); ++i) dx[i] = dy[i] / 2;
  }
  template <class F>
  void visit_parameters(F&&) {}
#if !defined(NETGROW_SHOULD_FAIL)
  double forward_flops(const Shape& in) const { return static_cast<double>(in.numel()); }
#endif
  Halve kind() const { return {}; }
  std::string describe() const { return "Halve"; }
};

int main() {
  Rng rng(0);
  Sequential<float, Cpu, Dense, Halve> net(rng, Dense{.in = 3, .out = 2}, Halve{});
  return static_cast<int>(net.size);
}
