// Tests grow/gradmax.hpp: GradMax's outgoing weights are the top singular directions of M, the new
// incoming weights' gradient norm is c * sqrt(sigma_1^2 + ... + sigma_k^2) and beats Random and
// GradMaxOpt at the same norms, M streams over batches, and k beyond the rank of M is handled.
#include <doctest/doctest.h>

#include "support/growth.hpp"

using namespace netgrow;
using namespace netgrow::test;

namespace {

using Mlp = Sequential<double, Cpu, Dense, Relu1, Dense>;

GrowthFixture<Mlp> trained(std::uint64_t seed, Index hidden = 5) {
  GrowthFixture<Mlp> f(seed, Dense{.in = 20, .out = hidden, .bias = false}, Relu1{},
                       Dense{.in = hidden, .out = 10, .bias = false});
  f.train(20);
  f.refresh();
  return f;
}

// Gradient norm of the k newest incoming weights after growing with `init` (norm rule fixed(c)).
template <class Init>
double new_incoming_gradient(std::uint64_t seed, const Init& init, Index k) {
  auto f = trained(seed);
  auto data = grow::data_from_last_backward<0, 2>(f.net);
  grow::grow_width<0, 2>(f.net, k, init, f.rng, data);
  f.refresh();
  return rows_norm(f.net.layer<0>().weight().grad, 5, k);
}

}  // namespace

TEST_CASE("GradMax's new incoming gradient norm is c * sqrt(sum of the top k squared singular values)") {
  for (Index k : {1, 3, 6}) {
    auto f = trained(1);
    auto data = grow::data_from_last_backward<0, 2>(f.net);
    const double c = 0.7;
    const auto report = grow::grow_width<0, 2>(f.net, k, grow::GradMax{.norm = grow::NormRule::fixed(c)}, f.rng, data);
    REQUIRE(static_cast<Index>(report.singular_values.size()) == k);
    double sum = 0;
    for (double s : report.singular_values) sum += s * s;
    f.refresh();
    INFO("k = ", k);
    CHECK(rows_norm(f.net.layer<0>().weight().grad, 5, k) == doctest::Approx(c * std::sqrt(sum)).epsilon(1e-9));
  }
}

TEST_CASE("GradMax's gradient norm beats Random and GradMaxOpt at the same per-neuron norm") {
  const auto norm = grow::NormRule::fixed(1.0);
  for (std::uint64_t seed : {2, 3, 4}) {
    const double gradmax = new_incoming_gradient(seed, grow::GradMax{.norm = norm}, 2);
    const double random = new_incoming_gradient(seed, grow::Random{.norm = norm}, 2);
    // GradMaxOpt as the reference runs it (100 Adam steps, learning rate 1e-3), and run to convergence
    // over orthonormal frames, where GradMax is the optimum.
    const double opt = new_incoming_gradient(seed, grow::GradMaxOpt{.norm = norm}, 2);
    const double opt_orthonormal = new_incoming_gradient(
        seed, grow::GradMaxOpt{.norm = norm, .steps = 300, .learning_rate = 1.0, .orthonormal = true, .ascent = grow::Ascent::gradient}, 2);
    INFO("seed ", seed, ": GradMax ", gradmax, ", Random ", random, ", GradMaxOpt ", opt, ", orthonormal ",
         opt_orthonormal);
    CHECK(gradmax >= random);
    CHECK(gradmax >= opt);
    CHECK(gradmax >= opt_orthonormal * (1 - 1e-9));
    CHECK(opt_orthonormal > 0.99 * gradmax);
  }
}

TEST_CASE("the gradient norm scales with the activation's slope at zero") {
  using Leaky = Sequential<double, Cpu, Dense, LeakyRelu, Dense>;
  GrowthFixture<Leaky> f(5, Dense{.in = 20, .out = 5, .bias = false}, LeakyRelu{.slope = 0.3},
                         Dense{.in = 5, .out = 10, .bias = false});
  f.train(10);
  f.refresh();
  auto data = grow::data_from_last_backward<0, 2>(f.net);
  const auto report = grow::grow_width<0, 2>(f.net, 2, grow::GradMax{.norm = grow::NormRule::fixed(1.0)}, f.rng, data);
  f.refresh();
  const double expected = 0.3 * std::hypot(report.singular_values[0], report.singular_values[1]);
  CHECK(rows_norm(f.net.layer<0>().weight().grad, 5, 2) == doctest::Approx(expected).epsilon(1e-9));

  // A slope of exactly zero makes GradMax pointless: refused at run time.
  GrowthFixture<Leaky> flat(6, Dense{.in = 20, .out = 5}, LeakyRelu{.slope = 0}, Dense{.in = 5, .out = 10});
  flat.refresh();
  auto flat_data = grow::data_from_last_backward<0, 2>(flat.net);
  CHECK_THROWS_WITH_AS((grow::grow_width<0, 2>(flat.net, 1, grow::GradMax{}, flat.rng, flat_data)),
                       doctest::Contains("f'(0) = 0"), ArgumentError);
}

TEST_CASE("with the standard Relu (f'(0) = 0) the gradient of zero incoming weights vanishes") {
  // GradMax itself does not compile for such a pair (tests/compile_fail/gradmax_with_relu.cpp); any
  // zero-incoming growth shows why: the new neurons receive no gradient at all.
  using ReluNet = Sequential<double, Cpu, Dense, Relu, Dense>;
  GrowthFixture<ReluNet> f(7, Dense{.in = 20, .out = 5}, Relu{}, Dense{.in = 5, .out = 10});
  f.train(5);
  grow::grow_width<0, 2>(f.net, 3, grow::Random{}, f.rng);
  f.refresh();
  CHECK(rows_norm(f.net.layer<0>().weight().grad, 5, 3) == 0.0);
}

TEST_CASE("GradMax's directions are M's top left singular vectors, orthonormal, in descending order") {
  auto f = trained(8);
  auto data = grow::data_from_last_backward<0, 2>(f.net);
  const Tensor<double>& m = data.matrix();  // (10, 20)
  Eigen::JacobiSVD<Eigen::MatrixXd> exact(matrix(m), Eigen::ComputeFullU);
  Rng rng(1);
  const auto d = grow::gradmax_directions(data, 4, {}, rng);
  const auto rows = matrix(d.rows);
  for (Index i = 0; i < 4; ++i) {
    CHECK(d.singular_values[static_cast<std::size_t>(i)] == doctest::Approx(exact.singularValues()(i)));
    CHECK(std::abs(rows.row(i).dot(exact.matrixU().col(i))) == doctest::Approx(1.0));  // up to sign
    for (Index j = 0; j < 4; ++j) CHECK(rows.row(i).dot(rows.row(j)) == doctest::Approx(i == j ? 1.0 : 0.0));
    if (i > 0) CHECK(d.singular_values[static_cast<std::size_t>(i)] <= d.singular_values[static_cast<std::size_t>(i) - 1]);
  }
  // From the matrix or from the batch: the same directions.
  const auto from_matrix = grow::gradmax_directions(grow::GrowthData<double>::from_matrix(m.clone()), 4, {}, rng);
  for (Index i = 0; i < 4; ++i)
    CHECK(std::abs(rows.row(i).dot(matrix(from_matrix.rows).row(i))) == doctest::Approx(1.0));
}

TEST_CASE("GradMaxMatrix streamed over unequal batches equals the full-batch matrix") {
  Rng rng(9);
  Tensor<double> h = random_tensor(Shape{30, 6}, rng);
  Tensor<double> dz = random_tensor(Shape{30, 4}, rng);
  // Full batch: M = dz^T h (dz of a mean loss carries 1/N). Split as 10 + 20 samples, each batch's
  // dz scaled as its own mean loss would scale it (x N / N_b).
  Tensor<double> full(Shape{4, 6});
  ops::gemm<double>(ops::Trans::yes, ops::Trans::no, 1.0, dz, h, 0.0, full.view());
  grow::GradMaxMatrix<double> acc;
  for (auto [begin, count] : {std::pair<Index, Index>{0, 10}, {10, 20}}) {
    Tensor<double> part;
    part.copy_from(dz.cview().rows(begin, count));
    ops::scale<double>(part.view(), 30.0 / static_cast<double>(count));
    acc.add(h.cview().rows(begin, count), part);
  }
  CHECK(acc.samples() == 30);
  CHECK(max_abs_diff(acc.value(), full) < 1e-12);
  CHECK_THROWS_AS(acc.add(Tensor<double>(Shape{3, 5}), Tensor<double>(Shape{3, 4})), ShapeError);
  acc.clear();
  CHECK_THROWS_AS(acc.value(), StateError);
}

TEST_CASE("k beyond the rank of M: singular directions first, then a random orthonormal complement, no NaN") {
  Rng rng(10);
  // A rank-2 M: a batch of 2 samples.
  Tensor<double> h = random_tensor(Shape{2, 8}, rng);
  Tensor<double> dz = random_tensor(Shape{2, 6}, rng);
  const auto data = grow::GrowthData<double>::from_batch(h, dz);
  const auto d = grow::gradmax_directions(data, 5, {}, rng);
  CHECK(d.singular_values.size() == 2);
  const auto rows = matrix(d.rows);
  CHECK(rows.allFinite());
  for (Index i = 0; i < 5; ++i)
    for (Index j = 0; j < 5; ++j) CHECK(rows.row(i).dot(rows.row(j)) == doctest::Approx(i == j ? 1.0 : 0.0));
  // More neurons than fan_out (6): the first 6 orthonormal, the rest unit vectors.
  const auto many = grow::gradmax_directions(data, 9, {}, rng);
  const auto mr = matrix(many.rows);
  CHECK(mr.allFinite());
  for (Index i = 0; i < 9; ++i) CHECK(mr.row(i).norm() == doctest::Approx(1.0));
  for (Index i = 0; i < 6; ++i)
    for (Index j = 0; j < i; ++j) CHECK(std::abs(mr.row(i).dot(mr.row(j))) < 1e-10);
  // A zero M (no gradient at all) is rank 0: all directions random, still unit and finite.
  Tensor<double> zero_dz(Shape{2, 6});
  const auto none = grow::gradmax_directions(grow::GrowthData<double>::from_batch(h, zero_dz), 3, {}, rng);
  CHECK(none.singular_values.empty());
  CHECK(matrix(none.rows).allFinite());
}

TEST_CASE("GradMax grows more neurons than M's rank through a whole network without NaN") {
  auto f = trained(11);
  // Grow batch of 3 samples: M has rank <= 3, ask for 7 neurons.
  Tensor<double> x;
  x.copy_from(f.task.x.cview().rows(0, 3));
  Tensor<double> y;
  y.copy_from(f.task.y.cview().rows(0, 3));
  const auto pred = f.net.forward(x);
  Tensor<double> g(pred.shape());
  MseLoss{}(pred, y, g);
  f.net.backward(g);
  auto data = grow::data_from_last_backward<0, 2>(f.net);
  const auto report = grow::grow_width<0, 2>(f.net, 7, grow::GradMax{}, f.rng, data);
  CHECK(report.singular_values.size() <= 3);
  CHECK_FALSE(f.net.find_non_finite().has_value());
}

TEST_CASE("GradMax's norm rules: mean_norm x scale of the existing outgoing weights, or fixed") {
  auto f = trained(12);
  const auto& w2 = f.net.layer<2>().weight().value;  // (10, 5)
  double mean = 0;
  for (Index c = 0; c < 5; ++c) mean += cols_norm(w2, c, 1);
  mean /= 5;
  auto data = grow::data_from_last_backward<0, 2>(f.net);
  grow::grow_width<0, 2>(f.net, 2, grow::GradMax{.norm = grow::NormRule::mean_norm(0.5), .epsilon = 0.1}, f.rng, data);
  const auto& grown = f.net.layer<2>().weight().value;
  CHECK(cols_norm(grown, 5, 1) == doctest::Approx(0.5 * mean));
  CHECK(cols_norm(grown, 6, 1) == doctest::Approx(0.5 * mean));
  // epsilon 0.1: incoming norm 0.1 x the mean norm of the existing incoming rows.
  const auto& w0 = f.net.layer<0>().weight().value;
  double mean_in = 0;
  for (Index r = 0; r < 5; ++r) mean_in += rows_norm(w0, r, 1);
  mean_in /= 5;
  CHECK(rows_norm(w0, 5, 1) == doctest::Approx(0.1 * mean_in));

  f.refresh();
  auto again = grow::data_from_last_backward<0, 2>(f.net);
  grow::grow_width<0, 2>(f.net, 1, grow::GradMax{.norm = grow::NormRule::fixed(2.5)}, f.rng, again);
  CHECK(cols_norm(f.net.layer<2>().weight().value, 7, 1) == doctest::Approx(2.5));
  CHECK(rows_norm(f.net.layer<0>().weight().value, 7, 1) == 0.0);
}
