/// \file
/// netgrow/train/frechet.hpp: the Fréchet distance between two sets of feature vectors, each summarised
/// by its mean and covariance (a Gaussian): a generator's quality score when the features come from a
/// classifier of the same data.
///
/// ~~~{.unparsed}
///   FD = |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1^{1/2} S_2 S_1^{1/2})^{1/2})
/// ~~~
///
/// (the trace term through the symmetric S_1^{1/2} S_2 S_1^{1/2}, whose eigenvalues are those of S_1 S_2).
/// With Inception-v3 pool features this is FID; netgrow computes it on the features of a network it
/// trained (e.g. a Fashion-MNIST classifier's hidden layer), which is not FID and is not comparable with
/// published FID numbers.
#pragma once

#include <algorithm>
#include <cmath>

#include <Eigen/Eigenvalues>

#include "netgrow/core/eigen.hpp"
#include "netgrow/core/error.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow {

/// Mean and covariance of a set of feature vectors.
struct FeatureStatistics {
  Eigen::VectorXd mean;
  Eigen::MatrixXd covariance;  ///< unbiased (n - 1)
  Index count = 0;             ///< vectors summarised
};

/// The statistics of features (N, F) (N >= 2 rows).
template <class S>
FeatureStatistics feature_statistics(ConstView<S, Cpu> features) {
  require<ShapeError>(features.rank() == 2 && features.dim(0) >= 2, "feature_statistics: need features (N >= 2, F), got ",
                      features.shape());
  const Eigen::MatrixXd x = matrix(features).template cast<double>();
  FeatureStatistics s;
  s.count = x.rows();
  s.mean = x.colwise().mean().transpose();
  const Eigen::MatrixXd centred = x.rowwise() - s.mean.transpose();
  s.covariance = centred.transpose() * centred / static_cast<double>(x.rows() - 1);
  return s;
}

/// The Fréchet distance between two Gaussians (see the file comment); ShapeError for different
/// feature counts. (A template on the matrix type, always MatrixXd, so that the eigen solver is compiled
/// only where a distance is taken.)
template <class Matrix = Eigen::MatrixXd>
double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b) {
  require<ShapeError>(a.mean.size() == b.mean.size() && a.covariance.rows() == a.mean.size() &&
                          b.covariance.rows() == b.mean.size(),
                      "frechet_distance: statistics of ", a.mean.size(), " and ", b.mean.size(), " features");
  using Solver = Eigen::SelfAdjointEigenSolver<Matrix>;
  const Solver ea(0.5 * (a.covariance + a.covariance.transpose()));
  const Eigen::VectorXd root = ea.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  const Matrix sqrt_a = ea.eigenvectors() * root.asDiagonal() * ea.eigenvectors().transpose();
  const Matrix middle = sqrt_a * b.covariance * sqrt_a;
  const Solver em(0.5 * (middle + middle.transpose()), Eigen::EigenvaluesOnly);
  const double cross = em.eigenvalues().cwiseMax(0.0).cwiseSqrt().sum();
  return (a.mean - b.mean).squaredNorm() + a.covariance.trace() + b.covariance.trace() - 2 * cross;
}

}  // namespace netgrow
