/// \file
/// netgrow/backend/cpu/svd.hpp: the CPU back end of ops/svd.hpp, the top-k singular triplets of a
/// matrix, and the option and result types every device's SVD shares.
///
/// GradMax needs only the top k left singular vectors of its (fan_out, fan_in) gradient matrix, so
/// two paths are offered behind one call:
/// ~~~{.unparsed}
///   exact       Eigen's JacobiSVD in double (one-sided Jacobi after a QR preconditioner: exact to
///               working precision, O(m n min(m, n)) with a large constant: a reference, and the
///               right choice for small matrices)
///   randomized  subspace iteration (Halko, Martinsson & Tropp 2011, algorithm 4.4): a random-sign
///               start block of k + oversampling columns, `power_iterations` rounds of A^T, A with a
///               re-orthonormalisation after every product, then the exact SVD of the small
///               projection. Costs (2 q + 2) products of A with an (n, k + p) block, in the input's
///               precision.
///   automatic   randomized when k + oversampling is at most a quarter of min(m, n), else exact.
/// ~~~
/// Singular values come in descending order; each singular vector's sign is fixed so that its
/// largest-magnitude entry is positive (SVD signs are otherwise arbitrary), so results are
/// reproducible. The randomized path draws its start block from a netgrow::Rng seeded by `seed`.
/// Only one Eigen decomposition is instantiated (JacobiSVD<MatrixXd>), and only where an SVD is computed
/// (every function here is a template); orthonormalisation is CholeskyQR2 written here. Both keep the
/// compile time of code that includes this header low.
#pragma once

#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "netgrow/core/eigen.hpp"
#include "netgrow/core/init.hpp"

namespace netgrow::backend {

/// Which top-k SVD path to take (see the file comment).
enum class SvdMethod { automatic, exact, randomized };

/// How svd_topk computes the top-k SVD.
struct SvdOptions {
  SvdMethod method = SvdMethod::automatic;  ///< the path
  Index oversampling = 10;                  ///< randomized: extra columns beyond k
  int power_iterations = 2;                 ///< randomized: rounds of (A A^T)
  std::uint64_t seed = 0x5eed;              ///< randomized: start block
};

/// The result of a top-k SVD; u and v on the device the SVD ran on, the k singular values on the host.
template <class T, class D = Cpu>
struct TopSvd {
  Tensor<T, D> u;             ///< (m, k) left singular vectors, one per column
  Tensor<T, D> v;             ///< (n, k) right singular vectors, one per column (empty if not asked for)
  std::vector<double> sigma;  ///< (k) singular values, descending
};

namespace detail {

template <class T>
using DenseMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

// The exact SVD every path ends in: thin JacobiSVD in double. A template (on the caller's scalar
// type), so that JacobiSVD is instantiated only where an SVD is computed, not in every translation unit
// that includes this header. NumericError when the input holds NaN or infinity (Eigen then leaves the
// factors uninitialised).
template <class T, class Matrix = Eigen::MatrixXd>
Eigen::JacobiSVD<Matrix> exact_svd(const std::type_identity_t<Matrix>& a) {
  Eigen::JacobiSVD<Matrix> svd(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
  require<NumericError>(svd.info() == Eigen::Success, "svd_topk: the matrix holds NaN or infinity");
  return svd;
}

template <class T>
TopSvd<T> pack(const Eigen::MatrixXd& u_all, const Eigen::MatrixXd& v_all, const Eigen::VectorXd& s, Index k) {
  Eigen::MatrixXd uk = u_all.leftCols(k), vk = v_all.leftCols(k);
  for (Index j = 0; j < k; ++j) {  // sign: largest-magnitude entry of u positive
    Index arg = 0;
    uk.col(j).cwiseAbs().maxCoeff(&arg);
    if (uk(arg, j) < 0) {
      uk.col(j) *= -1;
      vk.col(j) *= -1;
    }
  }
  TopSvd<T> r;
  r.u = Tensor<T, Cpu>(Shape{uk.rows(), k});
  r.v = Tensor<T, Cpu>(Shape{vk.rows(), k});
  matrix(r.u) = uk.cast<T>();
  matrix(r.v) = vk.cast<T>();
  for (Index j = 0; j < k; ++j) r.sigma.push_back(s(j));
  return r;
}

// Upper-triangular R with R^T R = g (Cholesky), or false when g is not numerically positive definite.
template <class = void>
bool cholesky_upper(const Eigen::MatrixXd& g, Eigen::MatrixXd& r) {
  const Index l = g.rows();
  r.setZero(l, l);
  const double floor = g.diagonal().maxCoeff() * 1e-10;
  for (Index j = 0; j < l; ++j) {
    double d = g(j, j);
    for (Index p = 0; p < j; ++p) d -= r(p, j) * r(p, j);
    if (!(d > floor)) return false;
    r(j, j) = std::sqrt(d);
    for (Index i = j + 1; i < l; ++i) {
      double x = g(j, i);
      for (Index p = 0; p < j; ++p) x -= r(p, j) * r(p, i);
      r(j, i) = x / r(j, j);
    }
  }
  return true;
}

// Inverse of an upper-triangular matrix (back substitution).
template <class = void>
Eigen::MatrixXd upper_inverse(const Eigen::MatrixXd& r) {
  const Index l = r.rows();
  Eigen::MatrixXd inv = Eigen::MatrixXd::Zero(l, l);
  for (Index j = 0; j < l; ++j) {
    inv(j, j) = 1.0 / r(j, j);
    for (Index up = 1; up <= j; ++up) {  // rows j - 1 down to 0
      const Index i = j - up;
      double x = 0;
      for (Index p = i + 1; p <= j; ++p) x += r(i, p) * inv(p, j);
      inv(i, j) = -x / r(i, i);
    }
  }
  return inv;
}

// Orthonormal basis of the columns of y, in place: CholeskyQR2 (y <- y R^-1 with R^T R = y^T y, twice;
// all GEMM), or modified Gram-Schmidt (twice) when y is too ill-conditioned for it; columns that are
// numerically dependent on earlier ones are replaced by random directions orthogonal to them.
template <class T>
void orthonormalize(DenseMatrix<T>& y, Rng& rng) {
  for (int round = 0; round < 2; ++round) {
    const Eigen::MatrixXd gram = (y.transpose() * y).template cast<double>();
    Eigen::MatrixXd r;
    if (!cholesky_upper<>(gram, r)) break;
    y = (y * upper_inverse<>(r).template cast<T>()).eval();
    if (round == 1) return;
  }
  for (Index j = 0; j < y.cols(); ++j) {
    for (int attempt = 0;; ++attempt) {
      const double before = static_cast<double>(y.col(j).norm());
      for (int pass = 0; pass < 2; ++pass)
        for (Index p = 0; p < j; ++p) y.col(j) -= y.col(p).dot(y.col(j)) * y.col(p);
      const double after = static_cast<double>(y.col(j).norm());
      if (after > 1e-6 * std::max(before, 1e-30) && after > 0) {
        y.col(j) /= static_cast<T>(after);
        break;
      }
      for (Index i = 0; i < y.rows(); ++i) y(i, j) = static_cast<T>(rng.normal());
      require<NumericError>(attempt < 8, "svd_topk: could not orthonormalise the sketch");
    }
  }
}

// Randomized top-k SVD of an (m, n) operator given by its products: times(X (n, l)) = A X (m, l) and
// times_t(Y (m, l)) = A^T Y (n, l).
template <class T, class Times, class TimesT>
TopSvd<T> randomized_svd(Index m, Index n, Index k, Times&& times, TimesT&& times_t, const SvdOptions& o) {
  using Mat = DenseMatrix<T>;
  const Index l = std::min(k + o.oversampling, std::min(m, n));
  // Rademacher (random sign) start block: as good a test matrix as a Gaussian one for subspace
  // iteration, and 64 entries per random draw.
  Mat omega(n, l);
  Rng rng(o.seed);
  std::uint64_t bits = 0;
  for (Index e = 0; e < n * l; ++e) {
    if (e % 64 == 0) bits = rng.next_u64();
    omega.data()[e] = (bits >> (e % 64)) & 1 ? T(1) : T(-1);
  }
  Mat y = times(omega);  // (m, l)
  orthonormalize<T>(y, rng);
  for (int q = 0; q < o.power_iterations; ++q) {
    Mat z = times_t(y);  // (n, l)
    orthonormalize<T>(z, rng);
    y = times(z);
    orthonormalize<T>(y, rng);
  }
  // A ~ y b with b = y^T A (l, n) = (A^T y)^T. With b^T = Q R (thin QR, R (l, l)) and R = U_R S V_R^T:
  // b^T = (Q U_R) S V_R^T, so A ~ (y V_R) S (Q U_R)^T. Only the (l, l) SVD is a Jacobi SVD.
  const Mat bt = times_t(y);  // (n, l)
  Mat q = bt;
  orthonormalize<T>(q, rng);
  const Mat r = q.transpose() * bt;
  const auto small = exact_svd<T>(r.template cast<double>());
  const Mat u = y * small.matrixV().template cast<T>();
  const Mat v = q * small.matrixU().template cast<T>();
  return pack<T>(u.template cast<double>(), v.template cast<double>(), small.singularValues(), k);
}

}  // namespace detail

/// The top-k SVD ops of ops/svd.hpp on device D (specialised per device).
template <class D>
struct SvdOps;

/// Top-k SVDs on the CPU (see the file comment).
template <>
struct SvdOps<Cpu> {
  /// Top-k singular triplets of a (m, n); `randomized` picks the path; v is always computed.
  template <class T>
  static TopSvd<T> svd_topk(ConstView<T, Cpu> a, Index k, bool randomized, const SvdOptions& options, bool) {
    using Mat = detail::DenseMatrix<T>;
    const auto A = matrix(a);
    if (!randomized) {
      const auto svd = detail::exact_svd<T>(A.template cast<double>());
      return detail::pack<T>(svd.matrixU(), svd.matrixV(), svd.singularValues(), k);
    }
    return detail::randomized_svd<T>(
        a.dim(0), a.dim(1), k, [&](const Mat& x) -> Mat { return A * x; },
        [&](const Mat& y) -> Mat { return A.transpose() * y; }, options);
  }

  /// Top-k singular triplets of a^T b (a (N, m), b (N, n)) without forming it.
  template <class T>
  static TopSvd<T> svd_topk_of_product(ConstView<T, Cpu> a, ConstView<T, Cpu> b, Index k, bool randomized,
                                       const SvdOptions& options, bool) {
    using Mat = detail::DenseMatrix<T>;
    const auto A = matrix(a);
    const auto B = matrix(b);
    if (!randomized) {
      const auto svd = detail::exact_svd<T>((A.transpose() * B).template cast<double>());
      return detail::pack<T>(svd.matrixU(), svd.matrixV(), svd.singularValues(), k);
    }
    return detail::randomized_svd<T>(
        a.dim(1), b.dim(1), k, [&](const Mat& x) -> Mat { return A.transpose() * (B * x).eval(); },
        [&](const Mat& y) -> Mat { return B.transpose() * (A * y).eval(); }, options);
  }

  /// ||U1^T U2||_F^2 / k for (m, k) views.
  template <class T>
  static double subspace_alignment(ConstView<T, Cpu> u1, ConstView<T, Cpu> u2) {
    return (matrix(u1).transpose() * matrix(u2)).template cast<double>().squaredNorm() /
           static_cast<double>(u1.dim(1));
  }
};

}  // namespace netgrow::backend
