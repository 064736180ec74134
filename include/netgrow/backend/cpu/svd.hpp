// netgrow/backend/cpu/svd.hpp: the top-k singular triplets of a matrix on the CPU.
//
// GradMax needs only the top k left singular vectors of its (fan_out, fan_in) gradient matrix, so
// two paths are offered behind one call:
//   exact       Eigen's BDCSVD (divide and conquer; Jacobi below its small-size threshold)
//   randomized  subspace iteration (Halko, Martinsson & Tropp 2011, algorithm 4.4): a Gaussian
//               start block of k + oversampling columns, `power_iterations` rounds of A^T, A with a
//               QR re-orthonormalisation after every product, then the SVD of the small projection.
//               Costs (2 q + 2) products of A with an (n, k + p) block instead of O(m n min(m, n)).
//   automatic   randomized when k + oversampling is at most a quarter of min(m, n), else exact.
// Singular values come in descending order; each singular vector's sign is fixed so that its
// largest-magnitude entry is positive (SVD signs are otherwise arbitrary), so results are
// reproducible. The randomized path draws its start block from a netgrow::Rng seeded by `seed`.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>
#include <cstdint>
#include <vector>

#include "netgrow/core/eigen.hpp"
#include "netgrow/core/init.hpp"

namespace netgrow::ops {

enum class SvdMethod { automatic, exact, randomized };

struct SvdOptions {
  SvdMethod method = SvdMethod::automatic;
  Index oversampling = 10;     // randomized: extra columns beyond k
  int power_iterations = 2;    // randomized: rounds of (A A^T)
  std::uint64_t seed = 0x5eed; // randomized: start block
};

template <class T>
struct TopSvd {
  Tensor<T, Cpu> u;           // (m, k) left singular vectors, one per column
  Tensor<T, Cpu> v;           // (n, k) right singular vectors, one per column
  std::vector<double> sigma;  // (k) singular values, descending
};

namespace detail {

template <class T>
using DenseMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

template <class Mat>
void fix_signs(Mat& u, Mat& v) {
  for (Index j = 0; j < u.cols(); ++j) {
    Index arg = 0;
    u.col(j).cwiseAbs().maxCoeff(&arg);
    if (u(arg, j) < 0) {
      u.col(j) *= -1;
      v.col(j) *= -1;
    }
  }
}

// Orthonormal basis of the columns of y, in place: CholeskyQR2 (two rounds of y <- y chol(y^T y)^-1,
// which are all GEMM and fast), falling back to Householder QR when y is numerically rank deficient.
template <class T>
void orthonormalize(DenseMatrix<T>& y) {
  using Mat = DenseMatrix<T>;
  for (int round = 0; round < 2; ++round) {
    const Mat gram = (y.transpose() * y).eval();
    Eigen::LLT<Mat> chol(gram);
    const T smallest = chol.info() == Eigen::Success ? chol.matrixLLT().diagonal().minCoeff() : T(0);
    const T largest = chol.info() == Eigen::Success ? chol.matrixLLT().diagonal().maxCoeff() : T(0);
    if (!(smallest > largest * T(1e-3))) {  // ill-conditioned or failed: Householder is stable
      Eigen::HouseholderQR<Mat> qr(y);
      y = qr.householderQ() * Mat::Identity(y.rows(), y.cols());
      return;
    }
    chol.matrixU().template solveInPlace<Eigen::OnTheRight>(y);
  }
}

template <class T, class U, class V, class S>
TopSvd<T> pack(const U& u_all, const V& v_all, const S& s, Index k) {
  using Mat = DenseMatrix<T>;
  Mat uk = u_all.leftCols(k).template cast<T>(), vk = v_all.leftCols(k).template cast<T>();
  fix_signs(uk, vk);
  TopSvd<T> r;
  r.u = Tensor<T, Cpu>(Shape{uk.rows(), k});
  r.v = Tensor<T, Cpu>(Shape{vk.rows(), k});
  matrix(r.u) = uk;
  matrix(r.v) = vk;
  for (Index j = 0; j < k; ++j) r.sigma.push_back(static_cast<double>(s(j)));
  return r;
}

// Randomized top-k SVD of an (m, n) operator given by its products: times(X (n, l)) = A X (m, l) and
// times_t(Y (m, l)) = A^T Y (n, l).
template <class T, class Times, class TimesT>
TopSvd<T> randomized_svd(Index m, Index n, Index k, Times&& times, TimesT&& times_t, const SvdOptions& o) {
  using Mat = DenseMatrix<T>;
  const Index l = std::min(k + o.oversampling, std::min(m, n));
  Mat omega(n, l);
  Rng rng(o.seed);
  for (Index j = 0; j < l; ++j)
    for (Index i = 0; i < n; ++i) omega(i, j) = static_cast<T>(rng.normal());
  Mat y = times(omega);  // (m, l)
  orthonormalize<T>(y);
  for (int q = 0; q < o.power_iterations; ++q) {
    Mat z = times_t(y);  // (n, l)
    orthonormalize<T>(z);
    y = times(z);
    orthonormalize<T>(y);
  }
  // A ~ y b with b = y^T A (l, n). Its SVD through the (l, l) eigenproblem of b b^T, in double so the
  // squared singular values keep their precision.
  const Eigen::MatrixXd bt = times_t(y).template cast<double>();  // (n, l) = b^T
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(bt.transpose() * bt);
  const Index r = eig.eigenvalues().size();
  Eigen::VectorXd sigma(r);
  Eigen::MatrixXd ub(l, r);
  for (Index j = 0; j < r; ++j) {  // eigenvalues come ascending: reverse to descending
    sigma(j) = std::sqrt(std::max(0.0, eig.eigenvalues()(r - 1 - j)));
    ub.col(j) = eig.eigenvectors().col(r - 1 - j);
  }
  const double tiny = sigma(0) * 1e-12;
  Eigen::MatrixXd v = bt * ub;  // (n, r) = V diag(sigma)
  for (Index j = 0; j < r; ++j) v.col(j) = sigma(j) > tiny ? (v.col(j) / sigma(j)).eval() : Eigen::VectorXd::Zero(n);
  const Eigen::MatrixXd u = y.template cast<double>() * ub;
  return pack<T>(u, v, sigma, k);
}

}  // namespace detail

// True when `automatic` picks the randomized path for an (m, n) matrix and k vectors.
inline bool prefers_randomized_svd(Index m, Index n, Index k, const SvdOptions& o) {
  return (k + o.oversampling) * 4 <= std::min(m, n);
}

// Top-k singular triplets of a (m, n), 0 <= k <= min(m, n).
template <class T>
TopSvd<T> svd_topk(In<T> a, Index k, const SvdOptions& options = {}) {
  using Mat = detail::DenseMatrix<T>;
  require<ShapeError>(a.rank() == 2, "svd_topk: expects a matrix, got ", a.shape());
  const Index m = a.dim(0), n = a.dim(1);
  require(k >= 0 && k <= std::min(m, n), "svd_topk: k = ", k, " outside [0, min(m, n) = ", std::min(m, n),
          "] for a matrix ", a.shape());
  require(options.oversampling >= 0 && options.power_iterations >= 0,
          "svd_topk: oversampling and power_iterations must be non-negative");
  const auto A = matrix(a);
  const bool randomized = options.method == SvdMethod::randomized ||
                          (options.method == SvdMethod::automatic && prefers_randomized_svd(m, n, k, options));
  if (!randomized || k == 0) {
    Eigen::BDCSVD<Mat> svd(A, Eigen::ComputeThinU | Eigen::ComputeThinV);
    return detail::pack<T>(svd.matrixU(), svd.matrixV(), svd.singularValues(), k);
  }
  return detail::randomized_svd<T>(
      m, n, k, [&](const Mat& x) -> Mat { return A * x; }, [&](const Mat& y) -> Mat { return A.transpose() * y; },
      options);
}

// Top-k singular triplets of the product a^T b without forming it: a (N, m), b (N, n), a^T b (m, n).
// This is GradMax's matrix dL/dz^T h for one batch; with N < min(m, n) each product with it costs
// N (m + n) l instead of m n l, and the m n N product itself is never computed.
template <class T>
TopSvd<T> svd_topk_of_product(In<T> a, In<T> b, Index k, const SvdOptions& options = {}) {
  using Mat = detail::DenseMatrix<T>;
  require<ShapeError>(a.rank() == 2 && b.rank() == 2 && a.dim(0) == b.dim(0), "svd_topk_of_product: a ", a.shape(),
                      " and b ", b.shape(), " must be (N, m) and (N, n)");
  const Index m = a.dim(1), n = b.dim(1);
  require(k >= 0 && k <= std::min(m, n), "svd_topk_of_product: k = ", k, " outside [0, ", std::min(m, n), "]");
  const auto A = matrix(a);
  const auto B = matrix(b);
  const bool randomized = options.method == SvdMethod::randomized ||
                          (options.method == SvdMethod::automatic && prefers_randomized_svd(m, n, k, options));
  if (!randomized || k == 0) {
    const Mat product = A.transpose() * B;
    Eigen::BDCSVD<Mat> svd(product, Eigen::ComputeThinU | Eigen::ComputeThinV);
    return detail::pack<T>(svd.matrixU(), svd.matrixV(), svd.singularValues(), k);
  }
  return detail::randomized_svd<T>(
      m, n, k, [&](const Mat& x) -> Mat { return A.transpose() * (B * x).eval(); },
      [&](const Mat& y) -> Mat { return B.transpose() * (A * y).eval(); }, options);
}

// Cosine similarity of two k-dimensional subspaces given by orthonormal columns: the mean squared
// cosine of their principal angles, ||U1^T U2||_F^2 / k (1 = the same subspace).
template <class T>
double subspace_alignment(In<T> u1, In<T> u2) {
  require<ShapeError>(u1.shape() == u2.shape() && u1.rank() == 2, "subspace_alignment: ", u1.shape(), " vs ",
                      u2.shape());
  const Index k = u1.dim(1);
  if (k == 0) return 1.0;
  return (matrix(u1).transpose() * matrix(u2)).template cast<double>().squaredNorm() / static_cast<double>(k);
}

}  // namespace netgrow::ops
