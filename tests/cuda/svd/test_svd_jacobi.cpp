// Tests kernels/svd_jacobi.cuh (svd_jacobi, batched one-sided Jacobi) against Eigen's JacobiSVD in
// double (the CPU exact path): singular values, orthonormal u and v, reconstruction, the sign rule,
// agreement of well-separated singular vectors with the CPU's, rank deficiency, strided storage.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "netgrow/core/error.hpp"
#include "svd_shim.hpp"
#include "svd_test_support.hpp"

using namespace netgrow;
using namespace netgrow::test;
using namespace netgrow::test::svd;

namespace {

// Every check of one device result for matrix b of a batch against the double-precision reference.
template <class T>
void check_against_reference(const MatD& a, const SvdResult<T>& r, Index b, Index k, const JacobiRequest& request) {
  const Index m = a.rows(), n = a.cols();
  const Reference ref = exact_svd(a);
  const double s_max = ref.s.size() > 0 ? ref.s(0) : 0.0;
  const std::vector<double> s = sigma_of(r, b * k, k);
  check_descending(s);
  for (Index j = 0; j < k; ++j) {
    INFO("sigma ", j, ": device ", s[static_cast<std::size_t>(j)], ", reference ", ref.s(j));
    CHECK(std::abs(s[static_cast<std::size_t>(j)] - ref.s(j)) <= Tolerance<T>::sigma * std::max(s_max, 1e-300));
  }
  MatD u, v;
  if (request.want_u) {
    u = to_matrix(r.u, m, k, b * m * k);
    check_orthonormal(u, Tolerance<T>::orthonormal);
    check_sign_rule(u);
  }
  if (request.want_v) {
    v = to_matrix(r.v, n, k, b * n * k);
    check_orthonormal(v, Tolerance<T>::orthonormal);
  }
  if (request.want_u && request.want_v) {
    const Eigen::VectorXd sv = Eigen::Map<const Eigen::VectorXd>(s.data(), k);
    if (k == std::min(m, n)) {
      CHECK(max_abs(a - u * sv.asDiagonal() * v.transpose()) <= Tolerance<T>::reconstruction * std::max(s_max, 1.0));
    } else {
      // The returned triplets are singular triplets: A v_j = s_j u_j.
      CHECK(max_abs(a * v - u * sv.asDiagonal()) <= Tolerance<T>::reconstruction * std::max(s_max, 1.0));
    }
  }
  // Singular vectors of well-separated singular values are unique up to sign, and the sign rule fixes
  // that: they match the reference's after it applies the same rule.
  if (request.want_u && s_max > 0) {
    const Index r_all = ref.s.size();
    for (Index j = 0; j < k; ++j) {
      double gap = std::numeric_limits<double>::infinity();
      if (j > 0) gap = std::min(gap, ref.s(j - 1) - ref.s(j));
      if (j + 1 < r_all) gap = std::min(gap, ref.s(j) - ref.s(j + 1));
      if (gap < 0.02 * s_max || ref.s(j) < 0.02 * s_max) continue;
      Eigen::VectorXd ru = ref.u.col(j), rv = ref.v.col(j);
      Index arg = 0;
      ru.cwiseAbs().maxCoeff(&arg);
      if (ru(arg) < 0) {
        ru = -ru;
        rv = -rv;
      }
      INFO("separated singular vector ", j);
      CHECK(max_abs(u.col(j) - ru) <= Tolerance<T>::vector);
      if (request.want_v) CHECK(max_abs(v.col(j) - rv) <= Tolerance<T>::vector);
    }
  }
}

template <class T>
void run_batch(Index batch, Index m, Index n, Index k, const JacobiRequest& request, std::uint64_t seed) {
  INFO("batch ", batch, " of (", m, ", ", n, "), k ", k, ", u ", request.want_u, ", v ", request.want_v, ", memory ",
       static_cast<int>(request.memory), ", padded ", request.padded);
  Rng rng(seed);
  std::vector<T> a;
  std::vector<MatD> matrices;
  for (Index b = 0; b < batch; ++b) {
    const MatD g = rounded<T>(gaussian(m, n, rng));
    matrices.push_back(g);
    const std::vector<T> flat = to_vector<T>(g);
    a.insert(a.end(), flat.begin(), flat.end());
  }
  const SvdResult<T> r = jacobi_on_device<T>(a, batch, m, n, k, request);
  REQUIRE(r.sigma.size() == static_cast<std::size_t>(batch * k));
  for (Index b = 0; b < batch; ++b) {
    INFO("matrix ", b);
    check_against_reference<T>(matrices[static_cast<std::size_t>(b)], r, b, k, request);
  }
}

const std::vector<std::pair<Index, Index>> jacobi_sizes = {{1, 1}, {10, 20}, {20, 10}, {33, 7}, {64, 64}, {96, 130}};

}  // namespace

TEST_CASE_TEMPLATE("svd_jacobi matches Eigen's JacobiSVD for batches of 1, 3 and 17 at odd sizes", T, float, double) {
  std::uint64_t seed = 100;
  for (const auto& [m, n] : jacobi_sizes)
    for (const Index batch : {1, 3, 17}) run_batch<T>(batch, m, n, std::min(m, n), JacobiRequest{}, ++seed);
}

TEST_CASE_TEMPLATE("svd_jacobi gives the same answers with the matrices in global memory", T, float, double) {
  JacobiRequest request;
  request.memory = JacobiMemory::global;
  std::uint64_t seed = 200;
  for (const auto& [m, n] : jacobi_sizes) run_batch<T>(3, m, n, std::min(m, n), request, ++seed);
}

// Small enough for compute-sanitizer's racecheck: each memory mode, u/v choice and the strided layout
// once, at sizes that leave a column pair without a partner. Run it alone with -tc="*sanitizer sweep*".
TEST_CASE_TEMPLATE("svd_jacobi sanitizer sweep: every memory mode, u/v choice and layout once at small sizes", T,
                   float, double) {
  std::uint64_t seed = 900;
  for (const auto& [m, n] : std::vector<std::pair<Index, Index>>{{7, 5}, {10, 13}}) {
    JacobiRequest shared, global, u_only, v_only, padded;
    shared.memory = JacobiMemory::shared;
    global.memory = JacobiMemory::global;
    u_only.want_v = false;
    v_only.want_u = false;
    padded.padded = true;
    const Index k = std::min(m, n);
    for (const JacobiRequest& request : {shared, global, padded}) run_batch<T>(2, m, n, k, request, ++seed);
    for (const JacobiRequest& request : {u_only, v_only}) run_batch<T>(2, m, n, 3, request, ++seed);
  }
}

TEST_CASE("svd_jacobi in shared and in global memory agree to rounding") {
  Rng rng(7);
  const Index m = 40, n = 29, k = 29;
  const std::vector<float> a = to_vector<float>(gaussian(m, n, rng));
  JacobiRequest shared, global;
  shared.memory = JacobiMemory::shared;
  global.memory = JacobiMemory::global;
  const auto rs = jacobi_on_device<float>(a, 1, m, n, k, shared);
  const auto rg = jacobi_on_device<float>(a, 1, m, n, k, global);
  // The same arithmetic in the same order: bitwise equal.
  CHECK(rs.sigma == rg.sigma);
  CHECK(rs.u == rg.u);
  CHECK(rs.v == rg.v);
}

TEST_CASE_TEMPLATE("svd_jacobi returns the top k only, with u or v alone, and honours row and matrix strides", T, float,
                   double) {
  std::uint64_t seed = 300;
  for (const auto& [m, n] : std::vector<std::pair<Index, Index>>{{33, 7}, {10, 20}, {96, 130}, {50, 50}}) {
    const Index k = std::min<Index>(3, std::min(m, n));
    JacobiRequest both, u_only, v_only, padded;
    u_only.want_v = false;
    v_only.want_u = false;
    padded.padded = true;
    run_batch<T>(3, m, n, k, both, ++seed);
    run_batch<T>(3, m, n, k, u_only, ++seed);
    run_batch<T>(3, m, n, k, v_only, ++seed);
    run_batch<T>(3, m, n, std::min(m, n), padded, ++seed);
  }
}

TEST_CASE("svd_jacobi gives v the signs the rule gives u, also when u is not requested") {
  Rng rng(11);
  for (const auto& [m, n] : std::vector<std::pair<Index, Index>>{{30, 12}, {12, 30}}) {
    const Index k = 12;
    const std::vector<float> a = to_vector<float>(gaussian(m, n, rng));
    JacobiRequest v_only;
    v_only.want_u = false;
    const auto with_u = jacobi_on_device<float>(a, 1, m, n, k);
    const auto without_u = jacobi_on_device<float>(a, 1, m, n, k, v_only);
    CHECK(with_u.v == without_u.v);
    CHECK(with_u.sigma == without_u.sigma);
  }
}

TEST_CASE_TEMPLATE("svd_jacobi on rank-deficient matrices: zero singular values, orthonormal completed vectors", T,
                   float, double) {
  Rng rng(400);
  std::vector<std::pair<const char*, MatD>> cases;
  {
    MatD a = gaussian(12, 8, rng);  // two zero columns
    a.col(2).setZero();
    a.col(5).setZero();
    cases.emplace_back("zero columns", a);
  }
  {
    MatD a = gaussian(8, 12, rng);  // two zero rows, transposed path
    a.row(1).setZero();
    a.row(6).setZero();
    cases.emplace_back("zero rows", a);
  }
  cases.emplace_back("rank 5, (40, 30)", gaussian(40, 5, rng) * gaussian(5, 30, rng));
  cases.emplace_back("rank 4, (30, 50)", gaussian(30, 4, rng) * gaussian(4, 50, rng));
  cases.emplace_back("all zero (7, 9)", MatD::Zero(7, 9));
  cases.emplace_back("all zero (9, 7)", MatD::Zero(9, 7));
  cases.emplace_back("one nonzero entry (6, 6)", [] {
    MatD z = MatD::Zero(6, 6);
    z(3, 2) = -2.5;
    return z;
  }());
  for (const auto& [name, exact] : cases) {
    INFO(name);
    const MatD a = rounded<T>(exact);
    const Index m = a.rows(), n = a.cols(), k = std::min(m, n);
    const auto r = jacobi_on_device<T>(to_vector<T>(a), 1, m, n, k);
    const Reference ref = exact_svd(a);
    const double s_max = std::max(ref.s(0), 1.0);
    const std::vector<double> s = sigma_of(r, 0, k);
    check_descending(s);
    for (Index j = 0; j < k; ++j)
      CHECK(std::abs(s[static_cast<std::size_t>(j)] - ref.s(j)) <= Tolerance<T>::sigma * s_max);
    const MatD u = to_matrix(r.u, m, k), v = to_matrix(r.v, n, k);
    check_orthonormal(u, Tolerance<T>::orthonormal);
    check_orthonormal(v, Tolerance<T>::orthonormal);
    check_sign_rule(u);
    const Eigen::VectorXd sv = Eigen::Map<const Eigen::VectorXd>(s.data(), k);
    CHECK(max_abs(a - u * sv.asDiagonal() * v.transpose()) <= Tolerance<T>::reconstruction * s_max);
  }
}

TEST_CASE("svd_jacobi scales exactly: tiny and huge matrices keep their relative accuracy") {
  Rng rng(500);
  const MatD g = gaussian(17, 11, rng);
  for (const double scale : {1e-30, 1e30}) {
    INFO("scale ", scale);
    const MatD a = rounded<float>(g * scale);
    const auto r = jacobi_on_device<float>(to_vector<float>(a), 1, 17, 11, 11);
    const Reference ref = exact_svd(a);
    for (Index j = 0; j < 11; ++j)
      CHECK(std::abs(static_cast<double>(r.sigma[static_cast<std::size_t>(j)]) - ref.s(j)) <= 1e-5 * ref.s(0));
    check_orthonormal(to_matrix(r.u, 17, 11), 5e-5);
  }
}

TEST_CASE("svd_jacobi returns (NaN) instead of hanging on non-finite input") {
  std::vector<float> a(6 * 5, 1.0f);
  a[7] = std::numeric_limits<float>::quiet_NaN();
  const auto r = jacobi_on_device<float>(a, 1, 6, 5, 5);
  bool any_nan = false;
  for (const float x : r.sigma) any_nan = any_nan || std::isnan(x);
  CHECK(any_nan);
}

TEST_CASE("svd_jacobi rejects bad arguments with netgrow errors") {
  const std::vector<float> a(12, 1.0f);
  CHECK_THROWS_AS(jacobi_on_device<float>(a, 1, 3, 4, 4), ArgumentError);  // k > min(m, n)
  CHECK_THROWS_AS(jacobi_on_device<float>(a, 1, 3, 4, -1), ArgumentError);
  // k = 0 and batch = 0 are no-ops.
  CHECK(jacobi_on_device<float>(a, 1, 3, 4, 0).sigma.empty());
  CHECK(jacobi_on_device<float>({}, 0, 3, 4, 2).sigma.empty());
}
