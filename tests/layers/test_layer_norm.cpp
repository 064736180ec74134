// Tests layers/layer_norm.hpp: per-row normalisation against a hand-computed example, the gradient
// check at odd sizes, accumulation, shape and state errors, and LEMON's average expansion
// (grow_channels_from): exact function preservation, copies, average features, the uniform-copies
// precondition, and the gradient, optimizer state and lr_scale growing with the parameters.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "netgrow/grow/traits.hpp"
#include "netgrow/layers/layer_norm.hpp"
#include "support/gradcheck.hpp"

using namespace netgrow;

static_assert(LayerNormLayer<float, Cpu>::mixes_channels && !grow::IdentityGrowable<LayerNormLayer<float, Cpu>>,
              "LayerNorm mixes its features: no identity growth");
static_assert(average_source == -1);

TEST_CASE("LayerNorm normalises each row over its features, then scales and shifts (hand-computed)") {
  Rng rng(1);
  LayerNormLayer<double, Cpu> ln(LayerNorm{.features = 4}, rng);
  CHECK(ln.features() == 4);
  CHECK(ln.eps() == 1e-5);
  CHECK(ln.describe() == "LayerNorm(4)");
  CHECK(ln.kind().features == 4);
  CHECK(ln.gamma().value.to_vector() == std::vector<double>{1, 1, 1, 1});
  CHECK(ln.beta().value.to_vector() == std::vector<double>{0, 0, 0, 0});
  CHECK_FALSE(ln.gamma().weight_decay);
  CHECK_FALSE(ln.beta().weight_decay);
  std::vector<std::string> names;
  ln.visit_parameters([&](std::string_view name, Parameter<double, Cpu>&) { names.emplace_back(name); });
  CHECK(names == std::vector<std::string>{"weight", "bias"});

  ln.gamma().value = Tensor<double>::from({4}, {1.0, 2.0, 0.5, -1.0});
  ln.beta().value = Tensor<double>::from({4}, {0.0, 1.0, -1.0, 0.5});
  // Row 0: mean 3, biased variance (4 + 1 + 0 + 9) / 4 = 3.5. Row 1: mean 1, variance 1.
  const auto x = Tensor<double>::from({2, 4}, {1, 2, 3, 6, 0, 0, 2, 2});
  Tensor<double> y({2, 4});
  ln.forward(x, y, Mode::train);
  const double s0 = std::sqrt(3.5 + 1e-5), s1 = std::sqrt(1.0 + 1e-5);
  const std::vector<double> want{-2.0 / s0, 2.0 * -1.0 / s0 + 1.0, 0.5 * 0.0 / s0 - 1.0, -1.0 * 3.0 / s0 + 0.5,
                                 -1.0 / s1, 2.0 * -1.0 / s1 + 1.0, 0.5 * 1.0 / s1 - 1.0, -1.0 * 1.0 / s1 + 0.5};
  for (Index i = 0; i < 8; ++i) CHECK(y[i] == doctest::Approx(want[static_cast<std::size_t>(i)]).epsilon(1e-14));
  // Evaluation mode computes the same (no running statistics).
  Tensor<double> y_eval({2, 4});
  ln.forward(x, y_eval, Mode::eval);
  CHECK(y_eval.to_vector() == y.to_vector());
}

TEST_CASE("LayerNorm in float matches the double computation") {
  Rng rng(2);
  LayerNormLayer<float, Cpu> lf(LayerNorm{.features = 37}, rng);
  LayerNormLayer<double, Cpu> ld(LayerNorm{.features = 37}, rng);
  Tensor<double> gamma = test::random_tensor(Shape{37}, rng), beta = test::random_tensor(Shape{37}, rng);
  Tensor<double> x = test::random_tensor(Shape{5, 37}, rng, 3.0);
  Tensor<float> xf(x.shape());
  for (Index j = 0; j < 37; ++j) {
    lf.gamma().value[j] = static_cast<float>(gamma[j]);
    lf.beta().value[j] = static_cast<float>(beta[j]);
    ld.gamma().value[j] = static_cast<float>(gamma[j]);
    ld.beta().value[j] = static_cast<float>(beta[j]);
  }
  for (Index i = 0; i < x.numel(); ++i) {
    xf[i] = static_cast<float>(x[i]);
    x[i] = xf[i];
  }
  Tensor<float> yf(x.shape());
  Tensor<double> yd(x.shape());
  lf.forward(xf, yf, Mode::train);
  ld.forward(x, yd, Mode::train);
  double worst = 0;  // both compute in double and round once; contractions may move the last bit
  for (Index i = 0; i < x.numel(); ++i)
    worst = std::max(worst, std::abs(yf[i] - yd[i]) / std::max(1.0, std::abs(yd[i])));
  CHECK(worst <= 1e-7);
}

TEST_CASE("LayerNorm passes the gradient check at odd sizes (N 3, D 7; D 1) with non-trivial gamma and beta") {
  Rng rng(3);
  LayerNormLayer<double, Cpu> ln(LayerNorm{.features = 7}, rng);
  fill_normal(ln.gamma().value.view(), 1.0, 0.5, rng);
  fill_normal(ln.beta().value.view(), 0.0, 0.5, rng);
  test::check_layer_gradients(ln, Shape{3, 7}, 11, Mode::train);
  test::check_layer_gradients(ln, Shape{3, 7}, 12, Mode::eval, 3.0);
  test::check_layer_gradients(ln, Shape{1, 7}, 13, Mode::train);

  LayerNormLayer<double, Cpu> one(LayerNorm{.features = 1, .eps = 1e-3}, rng);
  one.gamma().value[0] = 1.7;
  one.beta().value[0] = -0.3;
  test::check_layer_gradients(one, Shape{4, 1}, 14, Mode::train);
  Tensor<double> x = test::random_tensor(Shape{4, 1}, rng), y({4, 1});
  one.forward(x, y, Mode::train);
  for (Index i = 0; i < 4; ++i) CHECK(y[i] == -0.3);  // a single feature is its own mean
}

TEST_CASE("backward with accumulate adds to the parameter gradients and still assigns dx") {
  Rng rng(4);
  LayerNormLayer<double, Cpu> ln(LayerNorm{.features = 5}, rng);
  fill_normal(ln.gamma().value.view(), 1.0, 0.5, rng);
  const Tensor<double> x = test::random_tensor(Shape{3, 5}, rng), dy = test::random_tensor(Shape{3, 5}, rng);
  Tensor<double> y(x.shape()), dx(x.shape()), dx2(x.shape());
  ln.forward(x, y, Mode::train);
  ln.backward(x, y, dy, dx, false);
  const Tensor<double> dgamma = ln.gamma().grad.clone(), dbeta = ln.beta().grad.clone();
  fill_normal(dx2.view(), 0.0, 1.0, rng);  // garbage: dx is assigned
  ln.backward(x, y, dy, dx2, true);
  for (Index j = 0; j < 5; ++j) {
    CHECK(ln.gamma().grad[j] == doctest::Approx(2 * dgamma[j]));
    CHECK(ln.beta().grad[j] == doctest::Approx(2 * dbeta[j]));
  }
  CHECK(dx2.to_vector() == dx.to_vector());
  // dbeta is the column sum of dy.
  for (Index j = 0; j < 5; ++j) CHECK(dbeta[j] == doctest::Approx(dy[j] + dy[5 + j] + dy[10 + j]));
}

TEST_CASE("LayerNorm rejects bad settings, bad shapes and a backward before forward") {
  Rng rng(5);
  using Ln = LayerNormLayer<float, Cpu>;
  CHECK_THROWS_AS(Ln(LayerNorm{.features = 0}, rng), ArgumentError);
  CHECK_THROWS_AS(Ln(LayerNorm{.features = 3, .eps = 0}, rng), ArgumentError);
  Ln ln(LayerNorm{.features = 4}, rng);
  CHECK(ln.output_shape(Shape{6, 4}) == Shape{6, 4});
  CHECK_THROWS_WITH_AS(ln.output_shape(Shape{6, 3}), doctest::Contains("LayerNorm(4) expects 4 features"), ShapeError);
  CHECK_THROWS_WITH_AS(ln.output_shape(Shape{2, 4, 3, 3}), doctest::Contains("LayerNorm(4) expects (N, D)"),
                       ShapeError);
  CHECK_THROWS_AS(ln.output_shape(Shape{4}), ShapeError);
  Tensor<float> x({2, 4}), y({2, 4}), dx({2, 4});
  CHECK_THROWS_WITH_AS(ln.backward(x, y, y, dx, false), doctest::Contains("run forward first"), StateError);
  Tensor<float> bad({2, 5}), bad_out({2, 5});
  CHECK_THROWS_AS(ln.forward(bad, bad_out, Mode::train), ShapeError);
  ln.forward(x, y, Mode::train);
  Tensor<float> other({3, 4});
  CHECK_THROWS_AS(ln.backward(other, other, other, other, false), StateError);  // statistics of another batch
  ln.backward(x, y, y, dx, false);
}

namespace {

// x (N, D_S) extended as the producer does under average expansion: the copies x[:, sources[i]] and,
// for average_source, the row mean.
Tensor<double> expand(const Tensor<double>& x, const std::vector<Index>& sources) {
  const Index n = x.dim(0), ds = x.dim(1), dt = ds + static_cast<Index>(sources.size());
  Tensor<double> out({n, dt});
  for (Index i = 0; i < n; ++i) {
    double sum = 0;
    for (Index j = 0; j < ds; ++j) sum += x[i * ds + j];
    for (Index j = 0; j < ds; ++j) out[i * dt + j] = x[i * ds + j];
    for (std::size_t k = 0; k < sources.size(); ++k) {
      const Index s = sources[k];
      out[i * dt + ds + static_cast<Index>(k)] = s == average_source ? sum / static_cast<double>(ds) : x[i * ds + s];
    }
  }
  return out;
}

// Rows of integers summing to a multiple of D_S: every sum and row mean is exact, so the average
// features' normalised input is exactly 0.
Tensor<double> integer_rows(Index n, Index ds, Rng& rng) {
  Tensor<double> x({n, ds});
  for (Index i = 0; i < n; ++i) {
    double sum = 0;
    for (Index j = 0; j + 1 < ds; ++j) {
      x[i * ds + j] = static_cast<double>(rng.uniform_int(17)) - 8;
      sum += x[i * ds + j];
    }
    const double mean = static_cast<double>(rng.uniform_int(5)) - 2;
    x[i * ds + ds - 1] = mean * static_cast<double>(ds) - sum;
  }
  return x;
}

// Grows a LayerNorm of D_S features with `sources` and checks that it computes the same function on
// the expanded input: the first D_S columns as before (1e-12), each copy as its source (exactly) and
// each average 0 (within 1e-12 of the output scale, exactly for integer rows).
void check_average_expansion(Index ds, const std::vector<Index>& sources, Index copies, std::uint64_t seed) {
  const Index dt = ds + static_cast<Index>(sources.size());
  INFO("D_S ", ds, ", D_T ", dt);
  Rng rng(seed);
  const double eps = 0.05;  // large enough that a wrong eps would show
  LayerNormLayer<double, Cpu> ln(LayerNorm{.features = ds, .eps = eps}, rng);
  fill_normal(ln.gamma().value.view(), 1.0, 0.5, rng);
  fill_normal(ln.beta().value.view(), 0.0, 0.5, rng);
  const Tensor<double> real = test::random_tensor(Shape{5, ds}, rng, 2.0);
  const Tensor<double> integer = integer_rows(6, ds, rng);
  Tensor<double> y_real(real.shape()), y_integer(integer.shape());
  ln.forward(real, y_real, Mode::train);
  ln.forward(integer, y_integer, Mode::train);

  ln.grow_channels_from(sources);
  const double c = static_cast<double>((copies + 1) * ds) / static_cast<double>(dt);
  CHECK(ln.features() == dt);
  CHECK(ln.kind().features == dt);
  CHECK(ln.describe() == "LayerNorm(" + std::to_string(dt) + ")");
  CHECK(ln.eps() == doctest::Approx(c * eps).epsilon(1e-15));
  CHECK(ln.kind().eps == ln.eps());

  for (const bool exact_mean : {false, true}) {
    INFO("integer rows ", exact_mean);
    const Tensor<double>& x = exact_mean ? integer : real;
    const Tensor<double>& before = exact_mean ? y_integer : y_real;
    const Tensor<double> wide = expand(x, sources);
    Tensor<double> after(wide.shape());
    ln.forward(wide, after, Mode::train);
    double worst = 0, worst_average = 0;
    for (Index i = 0; i < x.dim(0); ++i) {
      for (Index j = 0; j < ds; ++j) worst = std::max(worst, std::abs(after[i * dt + j] - before[i * ds + j]));
      for (std::size_t k = 0; k < sources.size(); ++k) {
        const Index s = sources[k];
        const double v = after[i * dt + ds + static_cast<Index>(k)];
        if (s == average_source) {
          worst_average = std::max(worst_average, std::abs(v));
          if (exact_mean) CHECK(v == 0.0);
        } else {
          CHECK(v == after[i * dt + s]);  // the same arithmetic as its source
        }
      }
    }
    CHECK(worst <= 1e-12);
    CHECK(worst_average <= 1e-12);
  }
}

}  // namespace

TEST_CASE("grow_channels_from: LEMON's average expansion keeps the function exactly") {
  SUBCASE("D_S 4, every feature copied once (n 1, r 0)") {
    check_average_expansion(4, {2, 0, 3, 1}, 1, 21);
  }
  SUBCASE("D_S 4, three average features (n 0, r 3; target width 7 not divisible)") {
    check_average_expansion(4, {average_source, average_source, average_source}, 0, 22);
  }
  SUBCASE("D_S 3, every feature copied twice plus two averages (n 2, r 2)") {
    check_average_expansion(3, {1, average_source, 0, 2, 2, 0, average_source, 1}, 2, 23);
  }
  SUBCASE("no new features: nothing changes") {
    Rng rng(24);
    LayerNormLayer<double, Cpu> ln(LayerNorm{.features = 3, .eps = 0.1}, rng);
    ln.grow_channels_from({});
    CHECK(ln.features() == 3);
    CHECK(ln.eps() == 0.1);
  }
}

TEST_CASE("grow_channels_from rescales gamma and eps by the variance ratio and sets the new entries") {
  Rng rng(25);
  LayerNormLayer<double, Cpu> ln(LayerNorm{.features = 2, .eps = 0.02}, rng);
  ln.gamma().value = Tensor<double>::from({2}, {2.0, -0.5});
  ln.beta().value = Tensor<double>::from({2}, {0.25, 1.5});
  ln.grow_channels_from(std::vector<Index>{1, 0, average_source});  // D_T 5, c = 4 / 5
  const double root = std::sqrt(0.8);
  CHECK(ln.gamma().value.to_vector() == std::vector<double>{2.0 * root, -0.5 * root, -0.5 * root, 2.0 * root, root});
  CHECK(ln.beta().value.to_vector() == std::vector<double>{0.25, 1.5, 1.5, 0.25, 0.0});
  CHECK(ln.eps() == doctest::Approx(0.016).epsilon(1e-15));
}

TEST_CASE("grow_channels_from refuses copies that are not uniform, or of features that do not exist") {
  Rng rng(26);
  LayerNormLayer<double, Cpu> ln(LayerNorm{.features = 3, .eps = 0.1}, rng);
  fill_normal(ln.gamma().value.view(), 1.0, 0.5, rng);
  fill_normal(ln.beta().value.view(), 0.0, 0.5, rng);
  const std::vector<double> gamma = ln.gamma().value.to_vector(), beta = ln.beta().value.to_vector();
  auto unchanged = [&] {
    CHECK(ln.features() == 3);
    CHECK(ln.eps() == 0.1);
    CHECK(ln.gamma().value.to_vector() == gamma);
    CHECK(ln.beta().value.to_vector() == beta);
    CHECK(ln.gamma().grad.shape() == Shape{3});
    CHECK(ln.beta().grad.shape() == Shape{3});
  };
  CHECK_THROWS_WITH_AS(ln.grow_channels_from(std::vector<Index>{0, 0, 1, 2}),
                       doctest::Contains("needs every feature replicated equally"), ArgumentError);
  unchanged();
  CHECK_THROWS_WITH_AS(ln.grow_channels_from(std::vector<Index>{0, 1}), doctest::Contains("LEMON's average expansion"),
                       ArgumentError);
  unchanged();
  CHECK_THROWS_WITH_AS(ln.grow_channels_from(std::vector<Index>{0, 1, 3}), doctest::Contains("does not exist"),
                       ArgumentError);
  unchanged();
  CHECK_THROWS_AS(ln.grow_channels_from(std::vector<Index>{-2}), ArgumentError);
  unchanged();
}

TEST_CASE("after grow_channels_from, gradients, optimizer state and lr_scale have the new shape") {
  Rng rng(27);
  LayerNormLayer<double, Cpu> ln(LayerNorm{.features = 3}, rng);
  fill_normal(ln.gamma().value.view(), 1.0, 0.5, rng);
  ln.visit_parameters([](std::string_view, Parameter<double, Cpu>& p) {
    Tensor<double> state(p.value.shape());
    state.fill(1.0);
    p.state.clear();
    p.state.push_back(std::move(state));
    p.state_owner = "sgd";
    p.lr_scale = Tensor<double>(p.value.shape());
    p.lr_scale.fill(0.5);
  });
  const Tensor<double> x = test::random_tensor(Shape{4, 3}, rng);
  Tensor<double> y(x.shape());
  ln.forward(x, y, Mode::train);
  ln.grow_channels_from(std::vector<Index>{average_source, average_source});  // D_T 5
  ln.visit_parameters([](std::string_view name, Parameter<double, Cpu>& p) {
    INFO("parameter ", std::string(name));
    CHECK(p.value.shape() == Shape{5});
    CHECK(p.grad.shape() == Shape{5});
    REQUIRE(p.state.size() == 1);
    CHECK(p.state[0].to_vector() == std::vector<double>{1, 1, 1, 0, 0});  // existing state left as it was
    CHECK(p.state_owner == "sgd");
    CHECK(p.lr_scale.to_vector() == std::vector<double>{0.5, 0.5, 0.5, 1, 1});
  });
  // The statistics of the last forward are of the old width: backward needs a new forward.
  const Tensor<double> wide = expand(x, {average_source, average_source});
  Tensor<double> out(wide.shape()), dx(wide.shape());
  CHECK_THROWS_AS(ln.backward(wide, out, out, dx, false), StateError);
  test::check_layer_gradients(ln, Shape{3, 5}, 28, Mode::train);
}

TEST_CASE("ops::layer_norm_forward and layer_norm_backward check every shape") {
  Rng rng(29);
  const Tensor<double> x = test::random_tensor(Shape{3, 4}, rng), gamma = test::random_tensor(Shape{4}, rng);
  const Tensor<double> beta({4});
  Tensor<double> y({3, 4}), mean({3}), inv({3}), short_rows({2}), dgamma({4}), dbeta({4}), dx({3, 4});
  ops::layer_norm_forward<double>(x, gamma, beta, 1e-5, mean.view(), inv.view(), y.view());
  CHECK(mean[0] == doctest::Approx((x[0] + x[1] + x[2] + x[3]) / 4));
  CHECK_THROWS_WITH_AS(ops::layer_norm_forward<double>(x, gamma, beta, 1e-5, short_rows.view(), inv.view(), y.view()),
                       doctest::Contains("per-row statistic"), ShapeError);
  CHECK_THROWS_WITH_AS(ops::layer_norm_forward<double>(x, beta.cview().reshape(Shape{2, 2}), beta, 1e-5, mean.view(),
                                                       inv.view(), y.view()),
                       doctest::Contains("per-feature vector"), ShapeError);
  Tensor<double> y_bad({4, 3});
  CHECK_THROWS_AS(ops::layer_norm_forward<double>(x, gamma, beta, 1e-5, mean.view(), inv.view(), y_bad.view()),
                  ShapeError);
  const Tensor<double> x3({3, 4, 1}), x0({3, 0});
  Tensor<double> y3({3, 4, 1}), y0({3, 0});
  CHECK_THROWS_WITH_AS(ops::layer_norm_forward<double>(x3, gamma, beta, 1e-5, mean.view(), inv.view(), y3.view()),
                       doctest::Contains("expects (N, D)"), ShapeError);
  CHECK_THROWS_AS(ops::layer_norm_forward<double>(x0, Tensor<double>({0}), Tensor<double>({0}), 1e-5, mean.view(),
                                                  inv.view(), y0.view()),
                  ShapeError);
  ops::layer_norm_backward<double>(x, y, gamma, mean, inv, dgamma.view(), dbeta.view(), false, dx.view());
  ops::layer_norm_backward<double>(x, y, gamma, mean, inv, dgamma.view(), dbeta.view(), false, TensorView<double>());
  CHECK_THROWS_AS(
      ops::layer_norm_backward<double>(x, y_bad, gamma, mean, inv, dgamma.view(), dbeta.view(), false, dx.view()),
      ShapeError);
  CHECK_THROWS_AS(
      ops::layer_norm_backward<double>(x, y, gamma, short_rows, inv, dgamma.view(), dbeta.view(), false, dx.view()),
      ShapeError);
  CHECK_THROWS_AS(
      ops::layer_norm_backward<double>(x, y, gamma, mean, inv, dgamma.view(), dbeta.view(), false, y_bad.view()),
      ShapeError);
  // No rows: nothing to normalise, parameter gradients zero.
  const Tensor<double> none({0, 4});
  Tensor<double> none_out({0, 4}), no_rows({0});
  ops::layer_norm_forward<double>(none, gamma, beta, 1e-5, no_rows.view(), no_rows.view(), none_out.view());
  ops::layer_norm_backward<double>(none, none, gamma, no_rows, no_rows, dgamma.view(), dbeta.view(), false,
                                   none_out.view());
  CHECK(dgamma.to_vector() == std::vector<double>{0, 0, 0, 0});
}
