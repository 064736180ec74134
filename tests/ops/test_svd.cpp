// Tests ops/svd.hpp on the Cpu back end: svd_topk (exact, randomized, automatic), svd_topk_of_product, subspace_alignment and prefers_randomized_svd on matrices of known spectrum.
#include <doctest/doctest.h>

#include "netgrow/ops/svd.hpp"

#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

using namespace netgrow;
using ops::SvdMethod;
using ops::SvdOptions;

namespace {

using MatD = Eigen::MatrixXd;

// (rows, cols) matrix with orthonormal columns: the Q factor of a Gaussian matrix.
MatD random_orthonormal(Index rows, Index cols, Rng& rng) {
  MatD g(rows, cols);
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) g(i, j) = rng.normal();
  Eigen::HouseholderQR<MatD> qr(g);
  return qr.householderQ() * MatD::Identity(rows, cols);
}

// A matrix U diag(s) V^T with random orthonormal U, V, together with its exact factors.
struct Known {
  MatD u, v;
  std::vector<double> s;
  MatD a;
};

Known known_spectrum(Index m, Index n, std::vector<double> s, std::uint64_t seed) {
  Rng rng(seed);
  const auto r = static_cast<Index>(s.size());
  Known k;
  k.u = random_orthonormal(m, r, rng);
  k.v = random_orthonormal(n, r, rng);
  k.s = std::move(s);
  k.a = k.u * Eigen::Map<const Eigen::VectorXd>(k.s.data(), r).asDiagonal() * k.v.transpose();
  return k;
}

// Spectrum of length r with a clear gap after k: 1 down to 0.5 linearly for the first k values, then
// 0.05 decaying geometrically.
std::vector<double> gapped(Index r, Index k) {
  std::vector<double> s;
  for (Index i = 0; i < r; ++i)
    s.push_back(i < k ? 1.0 - 0.5 * static_cast<double>(i) / static_cast<double>(std::max<Index>(k - 1, 1))
                      : 0.05 * std::pow(0.97, static_cast<double>(i - k)));
  return s;
}

// Spectrum of length r without a gap: slow geometric decay (s_{i+1} / s_i = 0.97).
std::vector<double> ungapped(Index r) {
  std::vector<double> s;
  for (Index i = 0; i < r; ++i) s.push_back(std::pow(0.97, static_cast<double>(i)));
  return s;
}

template <class T>
Tensor<T> to_tensor(const MatD& m) {
  Tensor<T> t(Shape{m.rows(), m.cols()});
  matrix(t) = m.cast<T>();
  return t;
}

template <class T>
MatD to_eigen(const Tensor<T>& t) {
  return matrix(t).template cast<double>();
}

template <class T>
constexpr double tolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-10;
}

SvdOptions with_method(SvdMethod m, std::uint64_t seed = 0x5eed) {
  SvdOptions o;
  o.method = m;
  o.seed = seed;
  return o;
}

double max_abs(const MatD& m) { return m.size() == 0 ? 0.0 : m.cwiseAbs().maxCoeff(); }

// Shapes right, singular values descending and non-negative, u and v with orthonormal columns, and
// each u column's largest-magnitude entry positive.
template <class T>
void check_basic(const ops::TopSvd<T>& r, Index m, Index n, Index k, double tol) {
  REQUIRE(r.u.shape() == Shape{m, k});
  REQUIRE(r.v.shape() == Shape{n, k});
  REQUIRE(static_cast<Index>(r.sigma.size()) == k);
  for (Index j = 0; j < k; ++j) {
    INFO("sigma ", j);
    CHECK(r.sigma[static_cast<std::size_t>(j)] >= 0);
    if (j > 0) CHECK(r.sigma[static_cast<std::size_t>(j)] <= r.sigma[static_cast<std::size_t>(j - 1)]);
  }
  const MatD u = to_eigen(r.u), v = to_eigen(r.v);
  CHECK(max_abs(u.transpose() * u - MatD::Identity(k, k)) < tol);
  CHECK(max_abs(v.transpose() * v - MatD::Identity(k, k)) < tol);
  for (Index j = 0; j < k; ++j) {
    Index arg = 0;
    u.col(j).cwiseAbs().maxCoeff(&arg);
    INFO("column ", j);
    CHECK(u(arg, j) > 0);
  }
}

// A v_j = s_j u_j and A^T u_j = s_j v_j for every returned triplet.
template <class T>
void check_triplets(const MatD& a, const ops::TopSvd<T>& r, double tol) {
  const MatD u = to_eigen(r.u), v = to_eigen(r.v);
  for (Index j = 0; j < u.cols(); ++j) {
    INFO("triplet ", j);
    const double s = r.sigma[static_cast<std::size_t>(j)];
    CHECK((a * v.col(j) - s * u.col(j)).norm() < tol);
    CHECK((a.transpose() * u.col(j) - s * v.col(j)).norm() < tol);
  }
}

template <class T>
void check_sigma_matches(const ops::TopSvd<T>& r, const std::vector<double>& s, double rel) {
  for (std::size_t j = 0; j < r.sigma.size(); ++j) {
    INFO("sigma ", j);
    CHECK(r.sigma[j] == doctest::Approx(s[j]).epsilon(rel));
  }
}

template <class T>
bool identical(const ops::TopSvd<T>& x, const ops::TopSvd<T>& y) {
  return x.u.shape() == y.u.shape() && x.v.shape() == y.v.shape() && x.u.to_vector() == y.u.to_vector() &&
         x.v.to_vector() == y.v.to_vector() && x.sigma == y.sigma;
}

// The randomized path on a gapped matrix: the subspaces of the exact SVD, close singular values, and
// `automatic` picks it (bit-identical results). The exact answer is the construction's U_k, V_k and s
// (exact up to the rounding of A to T); on request it is also compared with the exact path, which is
// too slow at the largest sizes to keep this file fast. The spectrum stops after k + 192 values (the
// last is 0.05 * 0.97^191, about 1.5e-4 of the first), which keeps building A cheap at the largest sizes.
template <class T>
void check_randomized_on_gapped(Index m, Index n, Index k, std::uint64_t seed, bool against_exact_path) {
  INFO("(", m, ", ", n, ") k ", k);
  const Known known = known_spectrum(m, n, gapped(std::min({m, n, k + 192}), k), seed);
  const Tensor<T> a = to_tensor<T>(known.a);
  const auto randomized = ops::svd_topk<T>(a, k, with_method(SvdMethod::randomized));
  check_basic(randomized, m, n, k, 1e-4);
  const Tensor<T> true_u = to_tensor<T>(known.u.leftCols(k)), true_v = to_tensor<T>(known.v.leftCols(k));
  CHECK(ops::subspace_alignment<T>(randomized.u, true_u) >= 0.999);
  CHECK(ops::subspace_alignment<T>(randomized.v, true_v) >= 0.999);
  check_sigma_matches(randomized, known.s, 1e-4);
  if (against_exact_path) {
    const auto exact = ops::svd_topk<T>(a, k, with_method(SvdMethod::exact));
    CHECK(ops::subspace_alignment<T>(randomized.u, exact.u) >= 0.999);
    CHECK(ops::subspace_alignment<T>(randomized.v, exact.v) >= 0.999);
    check_sigma_matches(randomized, exact.sigma, 1e-4);
  }

  REQUIRE(ops::prefers_randomized_svd(m, n, k, SvdOptions{}));
  const auto automatic = ops::svd_topk<T>(a, k, with_method(SvdMethod::automatic));
  CHECK(identical(automatic, randomized));
}

}  // namespace

TEST_CASE("the exact path returns the known singular values and orthonormal singular vectors in double") {
  const Index m = 40, n = 25, k = 8;
  for (const auto& s : {gapped(n, k), ungapped(n)}) {
    const Known known = known_spectrum(m, n, s, 11);
    const Tensor<double> a = to_tensor<double>(known.a);
    const auto r = ops::svd_topk<double>(a, k, with_method(SvdMethod::exact));
    check_basic(r, m, n, k, 1e-10);
    check_sigma_matches(r, known.s, 1e-10);
    check_triplets(known.a, r, 1e-10);
    // The singular vectors are the construction's up to sign.
    const MatD u = to_eigen(r.u), v = to_eigen(r.v);
    for (Index j = 0; j < k; ++j) {
      CHECK(std::abs(u.col(j).dot(known.u.col(j))) == doctest::Approx(1).epsilon(1e-9));
      CHECK(std::abs(v.col(j).dot(known.v.col(j))) == doctest::Approx(1).epsilon(1e-9));
    }
  }
}

TEST_CASE("the exact path returns the known singular values and orthonormal singular vectors in float") {
  for (const auto& shape : std::vector<std::pair<Index, Index>>{{50, 30}, {30, 50}, {64, 64}}) {
    const Index m = shape.first, n = shape.second;  // not a structured binding: INFO captures them
    INFO("(", m, ", ", n, ")");
    const Index k = 10;
    const Index r = std::min(m, n);
    for (const auto& s : {gapped(r, k), ungapped(r)}) {
      const Known known = known_spectrum(m, n, s, 12);
      const Tensor<float> a = to_tensor<float>(known.a);
      const auto res = ops::svd_topk<float>(a, k, with_method(SvdMethod::exact));
      check_basic(res, m, n, k, 1e-5);
      check_sigma_matches(res, known.s, 1e-5);
      check_triplets(to_eigen(a), res, 1e-5);
    }
  }
}

TEST_CASE("the randomized path returns exact triplets of its subspace on a matrix without a spectral gap") {
  // Without a gap the subspace is only approximate, but the returned triplets still satisfy
  // U^T A V = diag(sigma) and A^T u_j = s_j v_j, and the values never exceed the true ones.
  const Index m = 120, n = 90, k = 8;
  const Known known = known_spectrum(m, n, ungapped(n), 13);
  const Tensor<double> a = to_tensor<double>(known.a);
  const auto r = ops::svd_topk<double>(a, k, with_method(SvdMethod::randomized));
  check_basic(r, m, n, k, 1e-10);
  const MatD u = to_eigen(r.u), v = to_eigen(r.v);
  const MatD projected = u.transpose() * known.a * v;
  MatD sigma = MatD::Zero(k, k);
  for (Index j = 0; j < k; ++j) sigma(j, j) = r.sigma[static_cast<std::size_t>(j)];
  CHECK(max_abs(projected - sigma) < 1e-10);
  for (Index j = 0; j < k; ++j) {
    INFO("triplet ", j);
    const double s = r.sigma[static_cast<std::size_t>(j)];
    CHECK((known.a.transpose() * u.col(j) - s * v.col(j)).norm() < 1e-10);
    CHECK(s <= known.s[static_cast<std::size_t>(j)] + 1e-12);
    CHECK(s >= 0.9 * known.s[static_cast<std::size_t>(j)]);
  }
}

TEST_CASE("the randomized path recovers the exact subspaces of a gapped matrix in double") {
  const Index m = 300, n = 200, k = 10;
  const Known known = known_spectrum(m, n, gapped(n, k), 14);
  const Tensor<double> a = to_tensor<double>(known.a);
  const auto exact = ops::svd_topk<double>(a, k, with_method(SvdMethod::exact));
  const auto randomized = ops::svd_topk<double>(a, k, with_method(SvdMethod::randomized));
  check_basic(exact, m, n, k, 1e-10);
  check_sigma_matches(exact, known.s, 1e-10);
  check_triplets(known.a, exact, 1e-10);
  check_basic(randomized, m, n, k, 1e-10);
  CHECK(ops::subspace_alignment<double>(randomized.u, exact.u) >= 0.999);
  CHECK(ops::subspace_alignment<double>(randomized.v, exact.v) >= 0.999);
  check_sigma_matches(randomized, known.s, 1e-6);
  check_triplets(known.a, randomized, 1e-3);
}

TEST_CASE("the randomized path agrees with the exact one on gapped float matrices, and automatic picks it") {
  check_randomized_on_gapped<float>(300, 200, 10, 15, true);
  check_randomized_on_gapped<float>(200, 300, 10, 16, true);
  check_randomized_on_gapped<float>(576, 576, 64, 17, false);
  check_randomized_on_gapped<float>(1024, 784, 64, 18, false);
}

TEST_CASE("automatic takes the exact path when k plus oversampling exceeds a quarter of min(m, n)") {
  const Index m = 60, n = 40, k = 5;  // (5 + 10) * 4 = 60 > 40
  REQUIRE_FALSE(ops::prefers_randomized_svd(m, n, k, SvdOptions{}));
  const Tensor<double> a = to_tensor<double>(known_spectrum(m, n, ungapped(n), 19).a);
  CHECK(identical(ops::svd_topk<double>(a, k, with_method(SvdMethod::automatic)),
                  ops::svd_topk<double>(a, k, with_method(SvdMethod::exact))));
  // With no oversampling the same call goes randomized.
  SvdOptions o = with_method(SvdMethod::automatic);
  o.oversampling = 0;
  REQUIRE(ops::prefers_randomized_svd(m, n, k, o));
  SvdOptions r = o;
  r.method = SvdMethod::randomized;
  CHECK(identical(ops::svd_topk<double>(a, k, o), ops::svd_topk<double>(a, k, r)));
}

TEST_CASE("prefers_randomized_svd is true exactly when (k + oversampling) * 4 <= min(m, n)") {
  const SvdOptions d;  // oversampling 10
  CHECK(ops::prefers_randomized_svd(576, 576, 64, d));
  CHECK(ops::prefers_randomized_svd(1024, 784, 64, d));
  CHECK(ops::prefers_randomized_svd(300, 200, 10, d));
  CHECK(ops::prefers_randomized_svd(120, 1000, 20, d));   // 120 <= 120
  CHECK_FALSE(ops::prefers_randomized_svd(120, 1000, 21, d));
  CHECK_FALSE(ops::prefers_randomized_svd(1000, 120, 21, d));
  CHECK_FALSE(ops::prefers_randomized_svd(100, 100, 20, d));
  CHECK_FALSE(ops::prefers_randomized_svd(10, 10, 1, d));
  SvdOptions o;
  o.oversampling = 0;
  CHECK(ops::prefers_randomized_svd(100, 100, 25, o));
  CHECK_FALSE(ops::prefers_randomized_svd(100, 100, 26, o));
  CHECK(ops::prefers_randomized_svd(100, 100, 0, o));
}

TEST_CASE("each singular vector pair has the sign that makes the largest-magnitude entry of u positive") {
  const Known known = known_spectrum(80, 60, gapped(60, 5), 20);
  for (SvdMethod method : {SvdMethod::exact, SvdMethod::randomized}) {
    INFO("method ", static_cast<int>(method));
    std::vector<MatD> us, vs;
    for (double sign : {1.0, -1.0}) {
      INFO("sign ", sign);
      const Tensor<double> a = to_tensor<double>(sign * known.a);
      const auto r = ops::svd_topk<double>(a, 5, with_method(method));
      const MatD u = to_eigen(r.u);
      for (Index j = 0; j < 5; ++j) {
        Index arg = 0;
        const double biggest = u.col(j).cwiseAbs().maxCoeff(&arg);
        CHECK(u(arg, j) == biggest);
        CHECK(biggest > 0);
      }
      // u and v flip together: the triplets still hold (approximately on the randomized path).
      check_triplets(sign * known.a, r, method == SvdMethod::exact ? 1e-10 : 1e-4);
      us.push_back(u);
      vs.push_back(to_eigen(r.v));
    }
    // Negating the matrix keeps u (its sign is fixed by the convention) and negates v.
    CHECK(max_abs(us[0] - us[1]) < 1e-6);
    CHECK(max_abs(vs[0] + vs[1]) < 1e-6);
  }
}

TEST_CASE("the same seed gives bit-identical results and another seed the same subspace") {
  const Known known = known_spectrum(200, 120, gapped(120, 10), 21);
  const Tensor<float> a = to_tensor<float>(known.a);
  for (SvdMethod method : {SvdMethod::exact, SvdMethod::randomized, SvdMethod::automatic}) {
    INFO("method ", static_cast<int>(method));
    const auto first = ops::svd_topk<float>(a, 10, with_method(method, 7));
    const auto second = ops::svd_topk<float>(a, 10, with_method(method, 7));
    CHECK(identical(first, second));
    const auto other = ops::svd_topk<float>(a, 10, with_method(method, 8));
    CHECK(ops::subspace_alignment<float>(first.u, other.u) >= 0.999);
    CHECK(ops::subspace_alignment<float>(first.v, other.v) >= 0.999);
  }
}

TEST_CASE("k = 0 gives empty factors and k = min(m, n) the full thin SVD on both paths") {
  const Index m = 30, n = 20;
  const Known known = known_spectrum(m, n, ungapped(n), 22);
  const Tensor<double> a = to_tensor<double>(known.a);
  for (SvdMethod method : {SvdMethod::exact, SvdMethod::randomized, SvdMethod::automatic}) {
    INFO("method ", static_cast<int>(method));
    const auto none = ops::svd_topk<double>(a, 0, with_method(method));
    CHECK(none.u.shape() == Shape{m, 0});
    CHECK(none.v.shape() == Shape{n, 0});
    CHECK(none.sigma.empty());

    const auto full = ops::svd_topk<double>(a, n, with_method(method));
    check_basic(full, m, n, n, 1e-9);
    check_sigma_matches(full, known.s, 1e-9);
    check_triplets(known.a, full, 1e-9);
    // All of the spectrum: U diag(s) V^T rebuilds the matrix.
    MatD s = MatD::Zero(n, n);
    for (Index j = 0; j < n; ++j) s(j, j) = full.sigma[static_cast<std::size_t>(j)];
    CHECK(max_abs(to_eigen(full.u) * s * to_eigen(full.v).transpose() - known.a) < 1e-9);
  }
  // A wide matrix: min(m, n) = m.
  const Tensor<double> wide = to_tensor<double>(known.a.transpose());
  const auto r = ops::svd_topk<double>(wide, n, with_method(SvdMethod::randomized));
  check_basic(r, n, m, n, 1e-9);
  check_sigma_matches(r, known.s, 1e-9);
}

TEST_CASE("k outside [0, min(m, n)] and bad options throw ArgumentError; a non-matrix throws ShapeError") {
  const Tensor<double> a = to_tensor<double>(known_spectrum(12, 7, ungapped(7), 23).a);
  for (SvdMethod method : {SvdMethod::exact, SvdMethod::randomized, SvdMethod::automatic}) {
    INFO("method ", static_cast<int>(method));
    CHECK_THROWS_WITH_AS(ops::svd_topk<double>(a, 8, with_method(method)), doctest::Contains("k = 8"), ArgumentError);
    CHECK_THROWS_AS(ops::svd_topk<double>(a, -1, with_method(method)), ArgumentError);
    CHECK_NOTHROW(ops::svd_topk<double>(a, 7, with_method(method)));
  }
  SvdOptions o;
  o.oversampling = -1;
  CHECK_THROWS_AS(ops::svd_topk<double>(a, 2, o), ArgumentError);
  o = SvdOptions{};
  o.power_iterations = -1;
  CHECK_THROWS_AS(ops::svd_topk<double>(a, 2, o), ArgumentError);
  const Tensor<double> v(Shape{12}), t3(Shape{2, 3, 4});
  CHECK_THROWS_WITH_AS(ops::svd_topk<double>(v, 1), doctest::Contains("(12)"), ShapeError);
  CHECK_THROWS_AS(ops::svd_topk<double>(t3, 1), ShapeError);
}

TEST_CASE("a rank-deficient matrix gives finite results on both paths") {
  // Rank 3, k = 6: the top three triplets are the true ones, the rest have singular value ~0.
  const Index m = 50, n = 40, k = 6;
  const Known known = known_spectrum(m, n, {3.0, 2.0, 1.0}, 24);
  for (SvdMethod method : {SvdMethod::exact, SvdMethod::randomized}) {
    INFO("method ", static_cast<int>(method));
    const Tensor<double> a = to_tensor<double>(known.a);
    const auto r = ops::svd_topk<double>(a, k, with_method(method));
    REQUIRE(r.u.shape() == Shape{m, k});
    REQUIRE(r.v.shape() == Shape{n, k});
    REQUIRE(r.sigma.size() == static_cast<std::size_t>(k));
    CHECK(ops::all_finite<double>(r.u));
    CHECK(ops::all_finite<double>(r.v));
    for (Index j = 0; j < k; ++j) CHECK(std::isfinite(r.sigma[static_cast<std::size_t>(j)]));
    for (Index j = 0; j < 3; ++j)
      CHECK(r.sigma[static_cast<std::size_t>(j)] == doctest::Approx(known.s[static_cast<std::size_t>(j)]).epsilon(1e-9));
    for (Index j = 3; j < k; ++j) CHECK(r.sigma[static_cast<std::size_t>(j)] < 1e-9);
    const MatD u = to_eigen(r.u);
    CHECK(max_abs(u.transpose() * u - MatD::Identity(k, k)) < 1e-9);  // u stays orthonormal
    CHECK(ops::subspace_alignment<double>(r.u.cview(), r.u.cview()) == doctest::Approx(1));

    const Tensor<float> af = to_tensor<float>(known.a);
    const auto rf = ops::svd_topk<float>(af, k, with_method(method));
    CHECK(ops::all_finite<float>(rf.u));
    CHECK(ops::all_finite<float>(rf.v));
    for (double s : rf.sigma) CHECK(std::isfinite(s));
    CHECK(rf.sigma[0] == doctest::Approx(3.0).epsilon(1e-5));
  }
  // The zero matrix too.
  const Tensor<double> zero(Shape{20, 20});
  for (SvdMethod method : {SvdMethod::exact, SvdMethod::randomized}) {
    const auto r = ops::svd_topk<double>(zero, 2, with_method(method));
    CHECK(ops::all_finite<double>(r.u));
    CHECK(ops::all_finite<double>(r.v));
    CHECK(r.sigma[0] == 0.0);
  }
}

TEST_CASE("svd_topk_of_product(a, b, k) equals svd_topk of a^T b") {
  const Index k = 10;
  // a (200, 150) with orthonormal columns Q_a and b = Q_a M + Q_perp R: a^T b = M, with a gap after k.
  Rng rng(25);
  const MatD q = random_orthonormal(200, 200, rng);
  const Known mk = known_spectrum(150, 120, gapped(120, k), 26);
  MatD r(50, 120);
  for (Index j = 0; j < r.cols(); ++j)
    for (Index i = 0; i < r.rows(); ++i) r(i, j) = rng.normal();
  const MatD a_mat = q.leftCols(150);
  const MatD b_mat = q.leftCols(150) * mk.a + q.rightCols(50) * r;
  REQUIRE(max_abs(a_mat.transpose() * b_mat - mk.a) < 1e-12);

  // a (30, 150), b (30, 120) with a^T b = U S V^T of rank 30 (N < min(m, n)).
  const Index nn = 30;
  const std::vector<double> s30 = gapped(nn, k);
  const MatD ua = random_orthonormal(150, nn, rng), vb = random_orthonormal(120, nn, rng);
  const MatD a_small = Eigen::Map<const Eigen::VectorXd>(s30.data(), nn).asDiagonal() * ua.transpose();
  const MatD b_small = vb.transpose();

  struct Case {
    const MatD& a;
    const MatD& b;
    const char* name;
  };
  for (const Case& c : {Case{a_mat, b_mat, "N = 200"}, Case{a_small, b_small, "N = 30"}}) {
    INFO(c.name);
    const MatD product = c.a.transpose() * c.b;
    for (SvdMethod method : {SvdMethod::exact, SvdMethod::randomized, SvdMethod::automatic}) {
      INFO("method ", static_cast<int>(method));
      {
        const Tensor<double> a = to_tensor<double>(c.a), b = to_tensor<double>(c.b), p = to_tensor<double>(product);
        const auto got = ops::svd_topk_of_product<double>(a, b, k, with_method(method));
        const auto want = ops::svd_topk<double>(p, k, with_method(SvdMethod::exact));
        check_basic(got, 150, 120, k, 1e-10);
        CHECK(ops::subspace_alignment<double>(got.u, want.u) >= 0.999);
        CHECK(ops::subspace_alignment<double>(got.v, want.v) >= 0.999);
        check_sigma_matches(got, want.sigma, 1e-6);
        if (method == SvdMethod::exact) check_triplets(product, got, 1e-10);
      }
      {
        const Tensor<float> a = to_tensor<float>(c.a), b = to_tensor<float>(c.b), p = to_tensor<float>(product);
        const auto got = ops::svd_topk_of_product<float>(a, b, k, with_method(method));
        const auto want = ops::svd_topk<float>(p, k, with_method(SvdMethod::exact));
        check_basic(got, 150, 120, k, 1e-4);
        CHECK(ops::subspace_alignment<float>(got.u, want.u) >= 0.999);
        CHECK(ops::subspace_alignment<float>(got.v, want.v) >= 0.999);
        check_sigma_matches(got, want.sigma, 1e-4);
      }
    }
  }
  // automatic on (150, 120) with k = 10: (10 + 10) * 4 = 80 <= 120, so it is the randomized path.
  const Tensor<double> a = to_tensor<double>(a_mat), b = to_tensor<double>(b_mat);
  REQUIRE(ops::prefers_randomized_svd(150, 120, k, SvdOptions{}));
  CHECK(identical(ops::svd_topk_of_product<double>(a, b, k, with_method(SvdMethod::automatic)),
                  ops::svd_topk_of_product<double>(a, b, k, with_method(SvdMethod::randomized))));
  // The same seed gives bit-identical results.
  CHECK(identical(ops::svd_topk_of_product<double>(a, b, k, with_method(SvdMethod::randomized, 3)),
                  ops::svd_topk_of_product<double>(a, b, k, with_method(SvdMethod::randomized, 3))));
}

TEST_CASE("svd_topk_of_product handles k = 0 and k = min(m, n) and rejects bad shapes and k") {
  Rng rng(27);
  MatD am(20, 9), bm(20, 6);
  for (Index i = 0; i < am.size(); ++i) am.data()[i] = rng.normal();
  for (Index i = 0; i < bm.size(); ++i) bm.data()[i] = rng.normal();
  const Tensor<double> a = to_tensor<double>(am), b = to_tensor<double>(bm);
  const MatD product = am.transpose() * bm;
  for (SvdMethod method : {SvdMethod::exact, SvdMethod::randomized}) {
    INFO("method ", static_cast<int>(method));
    const auto none = ops::svd_topk_of_product<double>(a, b, 0, with_method(method));
    CHECK(none.u.shape() == Shape{9, 0});
    CHECK(none.v.shape() == Shape{6, 0});
    CHECK(none.sigma.empty());
    const auto full = ops::svd_topk_of_product<double>(a, b, 6, with_method(method));
    check_basic(full, 9, 6, 6, 1e-9);
    check_triplets(product, full, 1e-9);
    CHECK_THROWS_WITH_AS(ops::svd_topk_of_product<double>(a, b, 7, with_method(method)), doctest::Contains("k = 7"),
                         ArgumentError);
    CHECK_THROWS_AS(ops::svd_topk_of_product<double>(a, b, -1, with_method(method)), ArgumentError);
  }
  const Tensor<double> short_b(Shape{19, 6}), vec(Shape{20});
  CHECK_THROWS_WITH_AS(ops::svd_topk_of_product<double>(a, short_b, 1), doctest::Contains("(19, 6)"), ShapeError);
  CHECK_THROWS_WITH_AS(ops::svd_topk_of_product<double>(a, short_b, 1), doctest::Contains("(20, 9)"), ShapeError);
  CHECK_THROWS_AS(ops::svd_topk_of_product<double>(a, vec, 1), ShapeError);
}

TEST_CASE("subspace_alignment is 1 for the same subspace in any basis, 0 for orthogonal ones, and in between") {
  Rng rng(28);
  const MatD q = random_orthonormal(10, 10, rng);
  const MatD rot = random_orthonormal(3, 3, rng);
  const Tensor<double> u1 = to_tensor<double>(q.leftCols(3));
  const Tensor<double> rotated = to_tensor<double>(q.leftCols(3) * rot);
  const Tensor<double> orthogonal = to_tensor<double>(q.middleCols(3, 3));
  MatD half(10, 3);  // shares one of three directions
  half << q.col(0), q.col(3), q.col(4);
  const Tensor<double> one_shared = to_tensor<double>(half);
  CHECK(ops::subspace_alignment<double>(u1, u1) == doctest::Approx(1).epsilon(1e-12));
  CHECK(ops::subspace_alignment<double>(u1, rotated) == doctest::Approx(1).epsilon(1e-12));
  CHECK(ops::subspace_alignment<double>(u1, orthogonal) == doctest::Approx(0).epsilon(1e-12));
  CHECK(std::abs(ops::subspace_alignment<double>(u1, orthogonal)) < 1e-12);
  CHECK(ops::subspace_alignment<double>(u1, one_shared) == doctest::Approx(1.0 / 3.0).epsilon(1e-12));
  CHECK(ops::subspace_alignment<double>(one_shared, u1) == doctest::Approx(1.0 / 3.0).epsilon(1e-12));

  const Tensor<float> f1 = to_tensor<float>(q.leftCols(3)), f2 = to_tensor<float>(q.leftCols(3) * rot);
  CHECK(ops::subspace_alignment<float>(f1, f2) == doctest::Approx(1).epsilon(1e-5));

  const Tensor<double> empty1(Shape{10, 0}), empty2(Shape{10, 0});
  CHECK(ops::subspace_alignment<double>(empty1, empty2) == 1.0);

  const Tensor<double> wrong(Shape{10, 2}), vec(Shape{10});
  CHECK_THROWS_WITH_AS(ops::subspace_alignment<double>(u1, wrong), doctest::Contains("(10, 2)"), ShapeError);
  CHECK_THROWS_WITH_AS(ops::subspace_alignment<double>(u1, wrong), doctest::Contains("(10, 3)"), ShapeError);
  CHECK_THROWS_AS(ops::subspace_alignment<double>(vec, vec), ShapeError);
}

TEST_CASE("svd_topk refuses matrices with NaN or infinity (Eigen would leave its factors uninitialised)") {
  Tensor<double> m({3, 4});
  m[5] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(ops::svd_topk<double>(m, 2), NumericError);
  CHECK_THROWS_AS(ops::svd_topk<double>(m, 1, {.method = ops::SvdMethod::randomized}), NumericError);
  m[5] = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(ops::svd_topk<double>(m, 2), NumericError);
  Tensor<double> a({5, 3}), b({5, 4});
  b[7] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(ops::svd_topk_of_product<double>(a, b, 2), NumericError);
}
