// Tests grow/firefly.hpp: FireflyOpt trains the new neurons to lower the grow batch's loss under its
// norm projection, and with epsilon 0 it is exactly Random.
#include <doctest/doctest.h>

#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

namespace {

using Mlp = Sequential<double, Cpu, Dense, Relu1, Dense>;

GrowthFixture<Mlp> fixture() {
  GrowthFixture<Mlp> f(1, Dense{.in = 20, .out = 5}, Relu1{}, Dense{.in = 5, .out = 10});
  f.train(10);
  return f;
}

}  // namespace

TEST_CASE("FireflyOpt with epsilon 0 gives exactly Random's new neurons") {
  auto a = fixture();
  auto b = fixture();
  Rng ra(3), rb(3);
  a.refresh();
  auto data = grow::data_from_last_backward<0, 2>(a.net);
  data.with_recompute(a.refresher());
  grow::grow_width<0, 2>(a.net, 3, grow::FireflyOpt{.epsilon = 0, .steps = 20, .learning_rate = 0.01}, ra, data);
  grow::grow_width<0, 2>(b.net, 3, grow::Random{}, rb);
  CHECK(max_abs_diff(a.net.layer<0>().weight().value, b.net.layer<0>().weight().value) == 0.0);
  CHECK(max_abs_diff(a.net.layer<2>().weight().value, b.net.layer<2>().weight().value) < 1e-14);
}

TEST_CASE("FireflyOpt with epsilon > 0 lowers the loss below its untrained start and keeps the norms") {
  auto loss_after = [](int steps, double* in_norm, double* out_norm) {
    auto f = fixture();
    f.refresh();
    auto data = grow::data_from_last_backward<0, 2>(f.net);
    data.with_recompute(f.refresher());
    Rng rng(4);
    grow::grow_width<0, 2>(f.net, 3, grow::FireflyOpt{.epsilon = 0.5, .steps = steps, .learning_rate = 0.01}, rng, data);
    *in_norm = rows_norm(f.net.layer<0>().weight().value, 5, 1);
    *out_norm = cols_norm(f.net.layer<2>().weight().value, 5, 1);
    return f.refresh();
  };
  double in0 = 0, out0 = 0, in1 = 0, out1 = 0;
  const double untrained = loss_after(0, &in0, &out0);
  const double trained = loss_after(50, &in1, &out1);
  INFO("loss after growth: untrained ", untrained, ", trained ", trained);
  CHECK(trained < untrained);
  CHECK(in1 == doctest::Approx(in0));
  CHECK(out1 == doctest::Approx(out0));
}

TEST_CASE("FireflyOpt needs the grow batch to train on") {
  auto f = fixture();
  f.refresh();
  auto data = grow::data_from_last_backward<0, 2>(f.net);
  CHECK_THROWS_WITH_AS((grow::grow_width<0, 2>(f.net, 1, grow::FireflyOpt{}, f.rng, data)),
                       doctest::Contains("with_recompute"), ArgumentError);
}
