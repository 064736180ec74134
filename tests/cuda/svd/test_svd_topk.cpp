// Tests kernels/svd_topk.cuh: randomized subspace iteration (svd_topk, svd_topk_of_product) on
// matrices of known spectrum with gaps, against the construction's exact factors and the CPU path
// (backend/cpu/svd.hpp); rank deficiency (the replacement of dependent sketch columns), the exact
// path, determinism, caller workspaces and argument errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "netgrow/ops/svd.hpp"
#include "netgrow/core/error.hpp"
#include "svd_shim.hpp"
#include "svd_test_support.hpp"

using namespace netgrow;
using namespace netgrow::test;
using namespace netgrow::test::svd;

namespace {

template <class T>
bool all_finite(const std::vector<T>& x) {
  return std::all_of(x.begin(), x.end(), [](T e) { return std::isfinite(e); });
}

// A randomized result against exact top-k factors (u_k (m, k), v_k (n, k), s) of the same matrix.
template <class T>
void check_topk(const SvdResult<T>& r, Index m, Index n, Index k, const MatD& u_k, const MatD& v_k,
                const std::vector<double>& s, double min_alignment, double sigma_tol) {
  REQUIRE(r.sigma.size() == static_cast<std::size_t>(k));
  CHECK(all_finite(r.sigma));
  CHECK(all_finite(r.u));
  const std::vector<double> sigma = sigma_of(r, 0, k);
  check_descending(sigma);
  for (Index j = 0; j < k; ++j) {
    INFO("sigma ", j, ": device ", sigma[static_cast<std::size_t>(j)], ", exact ", s[static_cast<std::size_t>(j)]);
    CHECK(std::abs(sigma[static_cast<std::size_t>(j)] - s[static_cast<std::size_t>(j)]) <= sigma_tol * s[0]);
  }
  const MatD u = to_matrix(r.u, m, k);
  check_orthonormal(u, std::is_same_v<T, float> ? 1e-4 : 1e-10);
  check_sign_rule(u);
  CHECK(alignment(u, u_k) >= min_alignment);
  CHECK(smallest_cosine(u, u_k) >= 1 - 10 * (1 - min_alignment));
  if (!r.v.empty()) {
    CHECK(all_finite(r.v));
    const MatD v = to_matrix(r.v, n, k);
    check_orthonormal(v, std::is_same_v<T, float> ? 1e-4 : 1e-10);
    CHECK(alignment(v, v_k) >= min_alignment);
  }
}

TopkRequest randomized(std::uint64_t seed = 0x5eed) {
  TopkRequest r;
  r.method = TopkMethod::randomized;
  r.seed = seed;
  return r;
}

}  // namespace

TEST_CASE("svd_topk finds the top-k subspaces of 576 x 576 and 1152 x 1152 matrices for k = 1, 8, 64") {
  for (const Index size : {576, 1152}) {
    // Rank 160 with gaps after 1, 8 and 64 values, plus full-rank noise of norm 1e-5.
    const Known known =
        known_matrix(size, size, three_level_spectrum(160), 1000 + static_cast<std::uint64_t>(size), 1e-5);
    const std::vector<float> a = to_vector<float>(known.a);
    for (const Index k : {1, 8, 64}) {
      INFO("size ", size, ", k ", k);
      const auto r = topk_on_device<float>(a, size, size, k, randomized());
      check_topk<float>(r, size, size, k, known.u.leftCols(k), known.v.leftCols(k), known.s, 0.999, 1e-4);
    }
  }
}

TEST_CASE("svd_topk in double reaches double accuracy on a gapped 576 x 576 matrix") {
  // With 6 power iterations the sketch's error, ~(s_19 / s_8)^13 ~ 1e-10, is below what is checked.
  const Known known = known_matrix(576, 576, three_level_spectrum(160), 77);
  TopkRequest request = randomized();
  request.power_iterations = 6;
  const auto r = topk_on_device<double>(to_vector<double>(known.a), 576, 576, 8, request);
  check_topk<double>(r, 576, 576, 8, known.u.leftCols(8), known.v.leftCols(8), known.s, 1 - 1e-9, 1e-10);
}

TEST_CASE("svd_topk on non-square and odd-sized matrices") {
  for (const auto& [m, n, k] :
       std::vector<std::array<Index, 3>>{{700, 300, 8}, {300, 700, 8}, {257, 129, 1}, {1031, 77, 1}, {77, 1031, 8}}) {
    INFO("(", m, ", ", n, ") k ", k);
    const Known known = known_matrix(m, n, three_level_spectrum(std::min<Index>(std::min(m, n), 160)),
                                     static_cast<std::uint64_t>(m * 7 + n), 1e-5);
    const auto r = topk_on_device<float>(to_vector<float>(known.a), m, n, k, randomized());
    check_topk<float>(r, m, n, k, known.u.leftCols(k), known.v.leftCols(k), known.s, 0.999, 1e-4);
  }
}

// Small enough for compute-sanitizer's racecheck: the randomized path (own and caller workspace), the
// exact path and the product path once each. Run it alone with -tc="*sanitizer sweep*".
TEST_CASE("svd_topk sanitizer sweep: randomized, exact and product paths once at small sizes") {
  const Index m = 70, n = 45, k = 5;
  const Known known = known_matrix(m, n, three_level_spectrum(n), 606, 1e-5);
  TopkRequest own = randomized(), caller = randomized(), exact;
  caller.caller_workspace = true;
  exact.method = TopkMethod::exact;
  for (const TopkRequest& request : {own, caller, exact}) {
    const auto r = topk_on_device<float>(to_vector<float>(known.a), m, n, k, request);
    check_topk<float>(r, m, n, k, known.u.leftCols(k), known.v.leftCols(k), known.s, 0.999, 1e-4);
  }
  // a^T b = Qa diag(s) Qb^T from a = P diag(sqrt s) Qa^T, b = P diag(sqrt s) Qb^T with P^T P = I.
  Rng rng(607);
  const Index rows = 40;
  const std::vector<double> s = three_level_spectrum(rows);
  Eigen::VectorXd root(rows);
  for (Index i = 0; i < rows; ++i) root(i) = std::sqrt(s[static_cast<std::size_t>(i)]);
  const MatD p = random_orthonormal(rows, rows, rng), qa = random_orthonormal(m, rows, rng),
             qb = random_orthonormal(n, rows, rng);
  const MatD a = rounded<float>(p * root.asDiagonal() * qa.transpose());
  const MatD b = rounded<float>(p * root.asDiagonal() * qb.transpose());
  const auto product = topk_of_product_on_device<float>(to_vector<float>(a), to_vector<float>(b), rows, m, n, 1.0f,
                                                        k, randomized());
  check_topk<float>(product, m, n, k, qa.leftCols(k), qb.leftCols(k), s, 0.999, 1e-4);
}

TEST_CASE("svd_topk agrees with the CPU's svd_topk (exact path)") {
  const Index m = 257, n = 129, k = 8;
  const Known known = known_matrix(m, n, three_level_spectrum(n), 4242, 1e-4);
  const MatD a = rounded<float>(known.a);
  Tensor<float> host(Shape{m, n});
  matrix(host) = a.cast<float>();
  ops::SvdOptions exact;
  exact.method = ops::SvdMethod::exact;
  const auto cpu = ops::svd_topk<float>(host, k, exact);
  const auto r = topk_on_device<float>(to_vector<float>(a), m, n, k, randomized());
  const MatD cpu_u = matrix(cpu.u).cast<double>(), cpu_v = matrix(cpu.v).cast<double>();
  check_topk<float>(r, m, n, k, cpu_u, cpu_v, cpu.sigma, 0.999, 1e-4);
}

TEST_CASE("svd_topk's exact path (automatic for small matrices) matches Eigen") {
  Rng rng(31);
  for (const auto& [m, n, k] : std::vector<std::array<Index, 3>>{{10, 20, 5}, {20, 10, 10}, {33, 7, 7}}) {
    INFO("(", m, ", ", n, ") k ", k);
    const MatD a = rounded<float>(gaussian(m, n, rng));
    TopkRequest automatic;
    automatic.method = TopkMethod::automatic;
    const auto r = topk_on_device<float>(to_vector<float>(a), m, n, k, automatic);
    const Reference ref = exact_svd(a);
    const std::vector<double> s = sigma_of(r, 0, k);
    for (Index j = 0; j < k; ++j) CHECK(std::abs(s[static_cast<std::size_t>(j)] - ref.s(j)) <= 1e-5 * ref.s(0));
    const MatD u = to_matrix(r.u, m, k), v = to_matrix(r.v, n, k);
    check_orthonormal(u, 5e-5);
    check_orthonormal(v, 5e-5);
    check_sign_rule(u);
    const Eigen::VectorXd sv = Eigen::Map<const Eigen::VectorXd>(s.data(), k);
    CHECK(max_abs(a * v - u * sv.asDiagonal()) <= 5e-5 * ref.s(0));
  }
}

TEST_CASE("svd_topk_of_product matches the top-k of the formed product, and the known factors") {
  struct Case {
    Index rows, m, n, k;
  };
  for (const Case& c :
       {Case{512, 1024, 1024, 64}, Case{77, 130, 257, 8}, Case{77, 257, 130, 64}, Case{33, 300, 200, 1}}) {
    INFO("a (", c.rows, ", ", c.m, "), b (", c.rows, ", ", c.n, "), k ", c.k);
    // a = P diag(sqrt s) Qa^T, b = P diag(sqrt s) Qb^T with P^T P = I: a^T b = Qa diag(s) Qb^T.
    const Index r = std::min<Index>({c.rows, c.m, c.n, 160});
    Rng rng(static_cast<std::uint64_t>(c.rows * 131 + c.m));
    const std::vector<double> s = three_level_spectrum(r);
    Eigen::VectorXd root(r);
    for (Index i = 0; i < r; ++i) root(i) = std::sqrt(s[static_cast<std::size_t>(i)]);
    const MatD p = random_orthonormal(c.rows, r, rng), qa = random_orthonormal(c.m, r, rng),
               qb = random_orthonormal(c.n, r, rng);
    const MatD a = rounded<float>(p * root.asDiagonal() * qa.transpose() + 1e-7 * gaussian(c.rows, c.m, rng));
    const MatD b = rounded<float>(p * root.asDiagonal() * qb.transpose() + 1e-7 * gaussian(c.rows, c.n, rng));
    const double scale = 1.0 / static_cast<double>(c.rows);
    const auto product = topk_of_product_on_device<float>(to_vector<float>(a), to_vector<float>(b), c.rows, c.m, c.n,
                                                          static_cast<float>(scale), c.k, randomized());
    std::vector<double> scaled_s;
    for (const double x : s) scaled_s.push_back(x * scale);
    check_topk<float>(product, c.m, c.n, c.k, qa.leftCols(c.k), qb.leftCols(c.k), scaled_s, 0.999, 1e-4);
    // The same top-k from the explicitly formed product.
    const MatD formed = scale * a.transpose() * b;
    const auto explicit_r = topk_on_device<float>(to_vector<float>(formed), c.m, c.n, c.k, randomized());
    const MatD u_explicit = to_matrix(explicit_r.u, c.m, c.k), v_explicit = to_matrix(explicit_r.v, c.n, c.k);
    check_topk<float>(product, c.m, c.n, c.k, u_explicit, v_explicit, sigma_of(explicit_r, 0, c.k), 0.999, 1e-4);
  }
}

TEST_CASE("svd_topk_of_product's exact path forms the product and matches Eigen") {
  Rng rng(55);
  const Index rows = 9, m = 12, n = 20, k = 4;
  const MatD a = rounded<float>(gaussian(rows, m, rng)), b = rounded<float>(gaussian(rows, n, rng));
  TopkRequest automatic;
  automatic.method = TopkMethod::automatic;
  const auto r =
      topk_of_product_on_device<float>(to_vector<float>(a), to_vector<float>(b), rows, m, n, 0.5f, k, automatic);
  const Reference ref = exact_svd(0.5 * a.transpose() * b);
  for (Index j = 0; j < k; ++j)
    CHECK(std::abs(static_cast<double>(r.sigma[static_cast<std::size_t>(j)]) - ref.s(j)) <= 1e-5 * ref.s(0));
  check_orthonormal(to_matrix(r.u, m, k), 5e-5);
  CHECK(alignment(to_matrix(r.u, m, k), ref.u.leftCols(k)) >= 0.999);
}

TEST_CASE("svd_topk when k exceeds the rank: orthonormal u and v, zero singular values, no NaN") {
  // Rank 3 with k = 8 (sketch of 18 columns): the sketch's dependent columns are replaced.
  const Known known = known_matrix(300, 200, {3.0, 2.0, 1.0}, 808);
  for (const bool want_v : {true, false}) {
    TopkRequest request = randomized();
    request.want_v = want_v;
    const auto r = topk_on_device<float>(to_vector<float>(known.a), 300, 200, 8, request);
    CHECK(all_finite(r.sigma));
    CHECK(all_finite(r.u));
    const std::vector<double> s = sigma_of(r, 0, 8);
    check_descending(s);
    for (Index j = 0; j < 3; ++j)
      CHECK(std::abs(s[static_cast<std::size_t>(j)] - known.s[static_cast<std::size_t>(j)]) <= 1e-4 * 3);
    for (Index j = 3; j < 8; ++j) CHECK(s[static_cast<std::size_t>(j)] <= 1e-4 * 3);
    const MatD u = to_matrix(r.u, 300, 8);
    check_orthonormal(u, 1e-4);
    check_sign_rule(u);
    CHECK(alignment(u.leftCols(3), known.u) >= 0.999);
    if (want_v) {
      const MatD v = to_matrix(r.v, 200, 8);
      check_orthonormal(v, 1e-4);
      CHECK(alignment(v.leftCols(3), known.v) >= 0.999);
    }
  }
  // The zero matrix: every sketch column is replaced; all singular values are zero.
  const auto z = topk_on_device<float>(std::vector<float>(100 * 80, 0.0f), 100, 80, 4, randomized());
  for (const float x : z.sigma) CHECK(x == 0.0f);
  check_orthonormal(to_matrix(z.u, 100, 4), 1e-4);
  check_orthonormal(to_matrix(z.v, 80, 4), 1e-4);
}

TEST_CASE("svd_topk is deterministic for a seed, and any seed finds the subspace") {
  const Known known = known_matrix(400, 333, three_level_spectrum(100), 9, 1e-5);
  const std::vector<float> a = to_vector<float>(known.a);
  const auto first = topk_on_device<float>(a, 400, 333, 8, randomized(1));
  const auto again = topk_on_device<float>(a, 400, 333, 8, randomized(1));
  CHECK(first.u == again.u);
  CHECK(first.v == again.v);
  CHECK(first.sigma == again.sigma);
  const auto other = topk_on_device<float>(a, 400, 333, 8, randomized(2));
  CHECK(alignment(to_matrix(other.u, 400, 8), to_matrix(first.u, 400, 8)) >= 0.999);
  // A caller's workspace and the launcher's own give the same bits; u does not depend on v.
  TopkRequest lent = randomized(1);
  lent.caller_workspace = true;
  CHECK(topk_on_device<float>(a, 400, 333, 8, lent).u == first.u);
  TopkRequest no_v = randomized(1);
  no_v.want_v = false;
  CHECK(topk_on_device<float>(a, 400, 333, 8, no_v).u == first.u);
}

TEST_CASE("svd_topk with zero power iterations and with the sketch as wide as the matrix") {
  // 8 values from 1 to 0.5, then a tail from 1e-3 decaying by 0.9: a sketch without power iterations
  // already captures the top 8.
  std::vector<double> steep;
  for (Index i = 0; i < 90; ++i)
    steep.push_back(i < 8 ? 1.0 - 0.5 * static_cast<double>(i) / 7 : 1e-3 * std::pow(0.9, i - 8));
  const Known fast_decay = known_matrix(200, 90, steep, 21, 1e-6);
  TopkRequest q0 = randomized();
  q0.power_iterations = 0;
  check_topk<float>(topk_on_device<float>(to_vector<float>(fast_decay.a), 200, 90, 8, q0), 200, 90, 8,
                    fast_decay.u.leftCols(8), fast_decay.v.leftCols(8), fast_decay.s, 0.999, 1e-3);
  const Known known = known_matrix(200, 90, three_level_spectrum(90), 22, 1e-6);
  const std::vector<float> a = to_vector<float>(known.a);
  TopkRequest wide = randomized();
  wide.oversampling = 200;  // l = min(k + p, min(m, n)) = 90: the sketch spans everything
  check_topk<float>(topk_on_device<float>(a, 200, 90, 64, wide), 200, 90, 64, known.u.leftCols(64),
                    known.v.leftCols(64), known.s, 0.999, 1e-4);
}

TEST_CASE("svd_topk rejects bad arguments") {
  const std::vector<float> a(20 * 10, 1.0f);
  CHECK_THROWS_AS(topk_on_device<float>(a, 20, 10, 11, randomized()), ArgumentError);
  TopkRequest negative = randomized();
  negative.oversampling = -1;
  CHECK_THROWS_AS(topk_on_device<float>(a, 20, 10, 2, negative), ArgumentError);
  CHECK_THROWS_AS(topk_with_short_workspace(300, 200, 8), ArgumentError);
  CHECK(topk_on_device<float>(a, 20, 10, 0, randomized()).sigma.empty());
}
