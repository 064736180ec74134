// Helpers of the CUDA SVD tests (host side): test matrices of known spectrum, the double-precision
// reference (Eigen's JacobiSVD, as the CPU exact path uses), and the checks every device result gets.
#pragma once

#include <doctest/doctest.h>

#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "netgrow/core/config.hpp"
#include "netgrow/core/rng.hpp"
#include "svd_shim.hpp"

namespace netgrow::test::svd {

using MatD = Eigen::MatrixXd;

// Tolerances per precision, relative to the largest singular value where they bound errors of values.
template <class T>
struct Tolerance {
  static constexpr bool single = std::is_same_v<T, float>;
  static constexpr double sigma = single ? 1e-5 : 1e-12;           // |s_i - s_i ref| / s_max
  static constexpr double orthonormal = single ? 5e-5 : 1e-11;     // max |Q^T Q - I|
  static constexpr double reconstruction = single ? 5e-5 : 1e-11;  // max |A - U S V^T| / s_max
  static constexpr double vector = single ? 2e-3 : 1e-8;           // max |u_j - u_j ref| for separated s_j
};

// Row-major (rows, cols) block of `data` starting at `offset` as a double matrix.
template <class T>
MatD to_matrix(const std::vector<T>& data, Index rows, Index cols, Index offset = 0) {
  MatD m(rows, cols);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j)
      m(i, j) = static_cast<double>(data[static_cast<std::size_t>(offset + i * cols + j)]);
  return m;
}

// A double matrix rounded to T, row-major.
template <class T>
std::vector<T> to_vector(const MatD& m) {
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(m.size()));
  for (Index i = 0; i < m.rows(); ++i)
    for (Index j = 0; j < m.cols(); ++j) out.push_back(static_cast<T>(m(i, j)));
  return out;
}

// The double matrix a T matrix represents exactly.
template <class T>
MatD rounded(const MatD& m) {
  return to_matrix(to_vector<T>(m), m.rows(), m.cols());
}

inline MatD gaussian(Index rows, Index cols, Rng& rng) {
  MatD g(rows, cols);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) g(i, j) = rng.normal();
  return g;
}

// (rows, cols) with orthonormal columns: the thin Q factor of a Gaussian matrix.
inline MatD random_orthonormal(Index rows, Index cols, Rng& rng) {
  const Eigen::HouseholderQR<MatD> qr(gaussian(rows, cols, rng));
  return qr.householderQ() * MatD::Identity(rows, cols);
}

struct Reference {
  Eigen::VectorXd s;
  MatD u, v;
};

inline Reference exact_svd(const MatD& a) {
  const Eigen::JacobiSVD<MatD> svd(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
  return {svd.singularValues(), svd.matrixU(), svd.matrixV()};
}

inline double max_abs(const MatD& m) {
  return m.size() == 0 ? 0.0 : m.cwiseAbs().maxCoeff();
}

// Mean squared cosine of the principal angles between two subspaces with orthonormal bases (the
// CPU's subspace_alignment: 1 = the same subspace).
inline double alignment(const MatD& a, const MatD& b) {
  return a.cols() == 0 ? 1.0 : (a.transpose() * b).squaredNorm() / static_cast<double>(a.cols());
}

// Cosine of the largest principal angle: the smallest singular value of a^T b.
inline double smallest_cosine(const MatD& a, const MatD& b) {
  if (a.cols() == 0) return 1.0;
  return Eigen::JacobiSVD<MatD>(a.transpose() * b).singularValues().minCoeff();
}

inline void check_orthonormal(const MatD& q, double tol) {
  const MatD gram = q.transpose() * q - MatD::Identity(q.cols(), q.cols());
  CHECK(q.allFinite());
  CHECK(max_abs(gram) <= tol);
}

// Each column's largest-magnitude entry (the first on ties) is positive.
inline void check_sign_rule(const MatD& u) {
  for (Index j = 0; j < u.cols(); ++j) {
    Index arg = 0;
    u.col(j).cwiseAbs().maxCoeff(&arg);
    INFO("column ", j);
    CHECK(u(arg, j) > 0);
  }
}

inline void check_descending(const std::vector<double>& s) {
  for (std::size_t j = 0; j < s.size(); ++j) {
    INFO("sigma ", j, " = ", s[j]);
    CHECK(s[j] >= 0);
    if (j > 0) CHECK(s[j] <= s[j - 1]);
  }
}

template <class T>
std::vector<double> sigma_of(const SvdResult<T>& r, Index offset, Index k) {
  std::vector<double> s;
  for (Index j = 0; j < k; ++j) s.push_back(static_cast<double>(r.sigma[static_cast<std::size_t>(offset + j)]));
  return s;
}

// Spectrum with gaps after 1, 8 and 64 values (so one matrix serves k = 1, 8, 64): 1; 0.2 down to 0.1;
// 0.02 down to 0.01; then 0.002 decaying by 0.97 per value.
inline std::vector<double> three_level_spectrum(Index r) {
  std::vector<double> s;
  for (Index i = 0; i < r; ++i) {
    const auto x = static_cast<double>(i);
    s.push_back(i == 0   ? 1.0
                : i < 8  ? 0.2 - 0.1 * (x - 1) / 6
                : i < 64 ? 0.02 - 0.01 * (x - 8) / 55
                         : 0.002 * std::pow(0.97, x - 64));
  }
  return s;
}

// A = U diag(s) V^T (+ noise of spectral norm ~ noise), with its factors (exact up to the noise).
struct Known {
  MatD u, v;
  std::vector<double> s;
  MatD a;
};

inline Known known_matrix(Index m, Index n, std::vector<double> s, std::uint64_t seed, double noise = 0) {
  Rng rng(seed);
  const auto r = static_cast<Index>(s.size());
  Known k;
  k.u = random_orthonormal(m, r, rng);
  k.v = random_orthonormal(n, r, rng);
  k.s = std::move(s);
  k.a = k.u * Eigen::Map<const Eigen::VectorXd>(k.s.data(), r).asDiagonal() * k.v.transpose();
  if (noise > 0)
    k.a += gaussian(m, n, rng) * (noise / (std::sqrt(static_cast<double>(m)) + std::sqrt(static_cast<double>(n))));
  return k;
}

}  // namespace netgrow::test::svd
