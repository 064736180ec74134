// Tests models/ntk_measure.hpp: a new neuron's predicted NTK-trace gain s^2 u^T K u equals the trace
// difference of the empirical NTK (brute force) before and after growing that
// neuron, on dense, conv -> conv and conv -> Flatten -> Dense sites in double; the Nystrom sketch's top
// eigenvalues equal K's where K's rank fits the sketch; measure_ntk's fields feed GradMaxTrigger.
#include <doctest/doctest.h>

#include "netgrow/grow.hpp"
#include "netgrow/models/ntk_measure.hpp"
#include "support/gradcheck.hpp"

using namespace netgrow;

namespace {

// Zero incoming weights and the outgoing weights given (one neuron): the neuron whose gain is tested.
struct GivenOutgoing {
  Tensor<double> u;  // (1, fan_out)
  template <class S>
  grow::NewNeurons<S> initialize(const grow::PairView<S>& pair, Index k, const grow::GrowthData<S>&, Rng&) const {
    require(k == 1 && u.numel() == pair.fan_out(), "GivenOutgoing: one neuron of fan_out ", u.numel());
    grow::NewNeurons<S> n;
    n.incoming = Tensor<S>(Shape{k, pair.fan_in()});
    n.outgoing.copy_from(u.cview());
    return n;
  }
};

// (Producers without bias: the gain counts the new incoming weights, not the new bias; see the header.)
// Dense 5 -> 4 -> Tanh -> Dense 4 -> 3 -> Tanh -> Dense 3 -> 2: sites (0, 2) and (2, 4).
struct TinyMlp {
  using Net = Sequential<double, Cpu, Dense, Tanh, Dense, Tanh, Dense>;
  Net net_;
  explicit TinyMlp(Rng& rng, Index outputs = 2)
      : net_(rng, Dense{.in = 5, .out = 4, .bias = false}, Tanh{}, Dense{.in = 4, .out = 3, .bias = false}, Tanh{},
             Dense{.in = 3, .out = outputs}) {}
  Net& net() { return net_; }
  template <class F>
  void for_each_site(F&& f) {
    auto a = models::pair_site<0, 2>(net_, "a");
    f(a);
    auto b = models::pair_site<2, 4>(net_, "b");
    f(b);
  }
};

// Conv 1 -> 3 (3x3) Tanh Conv 3 -> 2 (3x3) Tanh Flatten Dense(32 -> 3) on 8 x 8 images: sites (0, 2)
// conv -> conv and (2, 5) conv -> Flatten -> Dense.
struct TinyCnn {
  using Net = Sequential<double, Cpu, Conv2d, Tanh, Conv2d, Tanh, Flatten, Dense>;
  Net net_;
  explicit TinyCnn(Rng& rng)
      : net_(rng, Conv2d{.in = 1, .out = 3, .kernel = 3, .padding = 0, .bias = false}, Tanh{},
             Conv2d{.in = 3, .out = 2, .kernel = 3, .padding = 0, .bias = false}, Tanh{}, Flatten{},
             Dense{.in = 32, .out = 3}) {}
  Net& net() { return net_; }
  template <class F>
  void for_each_site(F&& f) {
    auto a = models::pair_site<0, 2>(net_, "conv-conv");
    f(a);
    auto b = models::pair_site<2, 5>(net_, "conv-dense");
    f(b);
  }
};

// Tr(NTK) = sum over samples i and outputs c of |df_c(x_i)/dtheta|^2 in double (brute force, every
// trainable parameter).
template <class Net>
double ntk_trace(Net& net, const Tensor<double>& x) {
  const auto y = net.forward(x.cview());
  Tensor<double> seed(y.shape());
  double trace = 0;
  for (Index r = 0; r < y.numel(); ++r) {
    seed.fill_zero();
    seed.data()[r] = 1;
    net.backward(seed.cview());
    net.visit_parameters([&](const std::string&, Parameter<double, Cpu>& p) {
      if (p.trainable) trace += matrix(p.grad).squaredNorm();
    });
  }
  return trace;
}

// For each site: grows one neuron with random outgoing weights u on a fresh copy of the model and
// checks Tr(NTK after) - Tr(NTK before) against the kernel's gain(u).
template <class Model>
void check_gains(Shape input, std::uint64_t seed) {
  Rng rng(seed);
  const Tensor<double> x = test::random_tensor(input, rng);
  Rng build(seed + 1);
  Model model(build);
  std::vector<Index> probe(2, 3);
  const auto kernels =
      models::ntk_site_kernels(model, x.cview(), probe, {.outputs = models::NtkOutputs::each, .exact_up_to = 100000});
  REQUIRE(kernels.size() == 2);
  const double before = ntk_trace(model.net(), x);
  for (std::size_t s = 0; s < kernels.size(); ++s) {
    const auto& kern = kernels[s];
    CAPTURE(kern.name);
    REQUIRE(kern.k.rows() == kern.fan_out);
    CHECK(kern.scale == doctest::Approx(1.0));  // Tanh: f'(0) = 1, no BatchNorm
    Eigen::VectorXd u(kern.fan_out);
    Tensor<double> u_tensor(Shape{1, kern.fan_out});
    for (Index i = 0; i < kern.fan_out; ++i) u_tensor.data()[i] = u(i) = rng.normal();
    Rng again(seed + 1);
    Model grown(again);
    grown.net().forward(x.cview());  // (Flatten learns its input's spatial size)
    std::size_t site = 0;
    grown.for_each_site([&](auto& pair) {
      if (site++ == s) pair.grow(1, GivenOutgoing{.u = std::move(u_tensor)}, rng);
    });
    const double after = ntk_trace(grown.net(), x);
    CHECK(after - before == doctest::Approx(kern.gain(u)).epsilon(1e-9));
    CHECK(kern.gain(u) > 0);
    // The largest eigenvalue bounds the gain of any unit direction.
    CHECK(kern.gain(u) <= kern.eigenvalues.front() * u.squaredNorm() * (1 + 1e-9));
  }
}

}  // namespace

TEST_CASE("ntk_site_kernels: a new neuron's predicted trace gain equals the brute-force NTK trace difference (dense)") {
  check_gains<TinyMlp>(Shape{6, 5}, 7);
}

TEST_CASE("ntk_site_kernels: the same for conv -> conv and conv -> Flatten -> Dense sites") {
  check_gains<TinyCnn>(Shape{3, 1, 8, 8}, 11);
}

TEST_CASE("ntk_site_kernels: the Nystrom sketch's top eigenvalues equal K's when K's rank fits the sketch") {
  Rng rng(3);
  const Tensor<double> x = test::random_tensor(Shape{3, 1, 8, 8}, rng);
  Rng b1(4), b2(4);
  TinyCnn exact_model(b1), sketched_model(b2);
  const std::vector<Index> probe{4, 3};
  const auto exact = models::ntk_site_kernels(exact_model, x.cview(), probe, {.exact_up_to = 100000});
  // Sketches of 18 and 48 columns (min(fan_out, probe_k + oversampling)) span K's range (fan_out 18 and 48).
  const auto sketched = models::ntk_site_kernels(sketched_model, x.cview(), probe, {.exact_up_to = 0, .oversampling = 60});
  for (std::size_t s = 0; s < 2; ++s) {
    CAPTURE(s);
    CHECK(sketched[s].k.size() == 0);
    REQUIRE(sketched[s].eigenvalues.size() == exact[s].eigenvalues.size());
    CHECK(exact[s].eigenvalues.size() == static_cast<std::size_t>(probe[s]));
    for (std::size_t j = 0; j < exact[s].eigenvalues.size(); ++j)
      CHECK(sketched[s].eigenvalues[j] == doctest::Approx(exact[s].eigenvalues[j]).epsilon(1e-7).scale(exact[s].eigenvalues[0]));
    CHECK(std::is_sorted(exact[s].eigenvalues.rbegin(), exact[s].eigenvalues.rend()));
    CHECK_THROWS_AS(sketched[s].gain(Eigen::VectorXd::Ones(sketched[s].fan_out)), Error);
  }
}

TEST_CASE("measure_ntk: controller fields from the kernel, and GradMaxTrigger reads them") {
  Rng rng(5);
  const Tensor<double> x = test::random_tensor(Shape{6, 5}, rng);
  Rng build(6);
  TinyMlp model(build);
  const std::vector<Index> probe{2, 2};
  const models::NtkMeasureOptions each{.outputs = models::NtkOutputs::each};
  const auto kernels = models::ntk_site_kernels(model, x.cview(), probe, each);
  const auto measures = models::measure_ntk(model, x.cview(), probe, each);
  REQUIRE(measures.size() == 2);
  for (std::size_t s = 0; s < 2; ++s) {
    CAPTURE(s);
    CHECK(measures[s].name == kernels[s].name);
    CHECK(measures[s].width == (s == 0 ? 4 : 3));
    CHECK(measures[s].parameters_per_neuron > 0);
    CHECK(measures[s].flops_per_neuron > 0);
    REQUIRE(measures[s].gradient_singular_values.size() == 2);
    CHECK(measures[s].gradient_singular_values[0] == doctest::Approx(std::sqrt(kernels[s].eigenvalues[0])));
    CHECK(measures[s].existing_gradient_norm == doctest::Approx(kernels[s].existing_rms));
    CHECK(measures[s].existing_gradient_norm > 0);
  }
  // The reference, brute force: the NTK trace of the first producer's weights alone is the sum over its
  // neurons of sum_r |dF_r/dw_j|^2 = width x existing_rms^2.
  model.net().visit_parameters([](const std::string&, Parameter<double, Cpu>& p) { p.trainable = false; });
  model.net().layer<0>().weight().trainable = true;
  const double trace = ntk_trace(model.net(), x);
  CHECK(trace == doctest::Approx(4 * kernels[0].existing_rms * kernels[0].existing_rms).epsilon(1e-10));
  // A tiny threshold lets every probed neuron in; a huge one none.
  grow::GradMaxTrigger eager({.check_every = 1}, 1e-12), strict({.check_every = 1}, 1e12);
  const auto all = eager.decide(0, measures, {.parameters = 0});
  const auto none = strict.decide(0, measures, {.parameters = 0});
  for (std::size_t s = 0; s < 2; ++s) {
    CHECK(all[s].k == 2);
    CHECK(none[s].k == 0);
  }
  CHECK_THROWS_AS(models::ntk_site_kernels(model, x.cview(), std::vector<Index>{1}), ShapeError);
}

TEST_CASE("ntk_site_kernels: with one output the kernel rows each, sum and random_signs agree; with more, sum "
          "sees one direction at the last hidden layer and random_signs all") {
  Rng rng(8);
  const Tensor<double> x = test::random_tensor(Shape{5, 5}, rng);
  const std::vector<Index> probe{3, 3};
  const auto kernels = [&](Index outputs, models::NtkOutputs rows) {
    Rng build(9);
    TinyMlp model(build, outputs);
    return models::ntk_site_kernels(model, x.cview(), probe, {.outputs = rows});
  };
  const auto each = kernels(1, models::NtkOutputs::each), sum = kernels(1, models::NtkOutputs::sum),
             signs = kernels(1, models::NtkOutputs::random_signs);
  for (std::size_t s = 0; s < 2; ++s)
    for (std::size_t j = 0; j < each[s].eigenvalues.size(); ++j) {
      CHECK(sum[s].eigenvalues[j] == doctest::Approx(each[s].eigenvalues[j]));
      CHECK(signs[s].eigenvalues[j] == doctest::Approx(each[s].eigenvalues[j]));
    }
  const auto sum3 = kernels(3, models::NtkOutputs::sum), signs3 = kernels(3, models::NtkOutputs::random_signs);
  REQUIRE(sum3[1].eigenvalues.size() == 3);
  CHECK(sum3[1].eigenvalues[1] == doctest::Approx(0).scale(sum3[1].eigenvalues[0]));
  CHECK(signs3[1].eigenvalues[1] > 1e-3 * signs3[1].eigenvalues[0]);
}
