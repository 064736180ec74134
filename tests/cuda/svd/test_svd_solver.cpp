// Tests backend/cuda/solver.hpp (cuSOLVER gesvdj and gesvd) against Eigen in double and against the
// native kernels, and the NETGROW_CUSOLVER_CHECK / NETGROW_CUBLAS_CHECK macros of core/cuda_library_check.hpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "netgrow/core/cuda_check.hpp"
#include "svd_shim.hpp"
#include "svd_test_support.hpp"

using namespace netgrow;
using namespace netgrow::test;
using namespace netgrow::test::svd;

TEST_CASE_TEMPLATE("cuSOLVER gesvdj and gesvd agree with Eigen and with the native Jacobi kernel", T, float, double) {
  Rng rng(61);
  for (const auto& [m, n] :
       std::vector<std::pair<Index, Index>>{{1, 1}, {10, 20}, {20, 10}, {33, 7}, {64, 64}, {96, 130}}) {
    const MatD a = rounded<T>(gaussian(m, n, rng));
    const Index k = std::min(m, n);
    const Reference ref = exact_svd(a);
    const auto native = jacobi_on_device<T>(to_vector<T>(a), 1, m, n, k);
    for (const bool gesvdj : {true, false}) {
      const char* method = gesvdj ? "gesvdj" : "gesvd";
      INFO("(", m, ", ", n, ") ", method);
      const auto r = solver_on_device<T>(to_vector<T>(a), m, n, k, gesvdj);
      const std::vector<double> s = sigma_of(r, 0, k);
      check_descending(s);
      for (Index j = 0; j < k; ++j)
        CHECK(std::abs(s[static_cast<std::size_t>(j)] - ref.s(j)) <= Tolerance<T>::sigma * ref.s(0));
      const MatD u = to_matrix(r.u, m, k), v = to_matrix(r.v, n, k);
      check_orthonormal(u, Tolerance<T>::orthonormal);
      check_orthonormal(v, Tolerance<T>::orthonormal);
      check_sign_rule(u);
      const Eigen::VectorXd sv = Eigen::Map<const Eigen::VectorXd>(s.data(), k);
      CHECK(max_abs(a - u * sv.asDiagonal() * v.transpose()) <= Tolerance<T>::reconstruction * ref.s(0));
      // Same sign rule, so well-separated singular vectors match the native kernel's column by column.
      const MatD nu = to_matrix(native.u, m, k);
      for (Index j = 0; j < k; ++j) {
        const double gap =
            std::min(j > 0 ? ref.s(j - 1) - ref.s(j) : 1e300, j + 1 < k ? ref.s(j) - ref.s(j + 1) : 1e300);
        if (gap < 0.02 * ref.s(0) || ref.s(j) < 0.02 * ref.s(0)) continue;
        INFO("column ", j);
        CHECK(max_abs(u.col(j) - nu.col(j)) <= Tolerance<T>::vector);
      }
    }
  }
}

TEST_CASE("cuSOLVER's top-k of a gapped 576 x 576 matrix matches the native randomized top-k") {
  const Known known = known_matrix(576, 576, three_level_spectrum(160), 2024, 1e-5);
  const std::vector<float> a = to_vector<float>(known.a);
  TopkRequest request;
  request.method = TopkMethod::randomized;
  const auto native = topk_on_device<float>(a, 576, 576, 8, request);
  for (const bool gesvdj : {true, false}) {
    const char* method = gesvdj ? "gesvdj" : "gesvd";
    INFO(method);
    const auto r = solver_on_device<float>(a, 576, 576, 8, gesvdj, false);
    CHECK(r.v.empty());
    for (std::size_t j = 0; j < 8; ++j) CHECK(std::abs(r.sigma[j] - native.sigma[j]) <= 1e-4f);
    CHECK(alignment(to_matrix(r.u, 576, 8), to_matrix(native.u, 576, 8)) >= 0.999);
    CHECK(alignment(to_matrix(r.u, 576, 8), known.u.leftCols(8)) >= 0.999);
  }
}

TEST_CASE("NETGROW_CUSOLVER_CHECK and NETGROW_CUBLAS_CHECK throw CudaError naming the call, status and place") {
  try {
    invalid_cusolver_call();
    FAIL("an invalid cuSOLVER call did not throw");
  } catch (const CudaError& e) {
    const std::string what = e.what();
    CHECK(what.find("status") != std::string::npos);  // the expression checked
    CHECK(what.find("CUSOLVER_STATUS_INVALID_VALUE") != std::string::npos);
    CHECK(what.find("svd_shim.cu:") != std::string::npos);
  }
  try {
    invalid_cublas_call();
    FAIL("an invalid cuBLAS call did not throw");
  } catch (const CudaError& e) {
    const std::string what = e.what();
    CHECK(what.find("cublasSgemm") != std::string::npos);
    CHECK(what.find("CUBLAS_STATUS_INVALID_VALUE") != std::string::npos);
    CHECK(what.find("svd_shim.cu:") != std::string::npos);
  }
}
