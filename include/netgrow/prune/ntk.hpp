/// \file
/// netgrow/prune/ntk.hpp: the empirical neural tangent kernel of a network on a batch, and the
/// training-free scores read from it (TE-NAS, MetaNTK-NAS): its trace and its condition number.
///
/// Theta (N, N), Theta_ij = <dF_i/dw, dF_j/dw> over every trainable parameter (masked entries
/// excluded), with F_i the sum of sample i's outputs (TE-NAS's choice: one kernel entry per pair of
/// samples, not per pair of outputs). One backward pass per sample after a single forward pass of the
/// batch (in training mode BatchNorm couples the samples; the kernel is that of the batch function).
#pragma once

#include <limits>
#include <string>
#include <type_traits>
#include <type_traits>
#include <vector>

#include <Eigen/Eigenvalues>

#include "netgrow/core/eigen.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/layers/layer.hpp"

namespace netgrow::prune {

/// The empirical NTK's spectrum on a batch.
struct NtkSpectrum {
  Eigen::VectorXd eigenvalues;  ///< ascending
  double trace = 0;             ///< sum of the eigenvalues
  double largest = 0, smallest = 0;
  /// largest / smallest (infinity when smallest <= 0: a singular kernel).
  double condition() const { return smallest > 0 ? largest / smallest : std::numeric_limits<double>::infinity(); }
};

/// Theta (N, N) of `net` on inputs x (N, ...) (see the file comment). Parameter gradients are
/// overwritten; values and running statistics are untouched in evaluation mode (training mode moves
/// BatchNorm's running statistics once, as a training forward pass does).
template <class Net, class S = typename Net::scalar_type>
Eigen::MatrixXd empirical_ntk(Net& net, std::type_identity_t<ConstView<S, Cpu>> x, Mode mode = Mode::train) {
  using D = typename Net::device_type;
  static_assert(std::same_as<D, Cpu>, "prune::empirical_ntk: Cpu networks");
  require(x.rank() >= 2 && x.dim(0) >= 1, "prune::empirical_ntk: needs a batch (N, ...), got ", x.shape());
  const Index n = x.dim(0);
  const auto y = net.forward(x, mode);
  Tensor<S, Cpu> seed(y.shape());
  const Index per_sample = y.numel() / n;
  Index p_total = 0;
  net.visit_parameters([&](const std::string&, Parameter<S, D>& p) {
    if (p.trainable) p_total += p.numel();
  });
  Eigen::MatrixXf g(n, p_total);  // per-sample gradients (float: N x P can be large)
  for (Index i = 0; i < n; ++i) {
    seed.fill_zero();
    for (Index c = 0; c < per_sample; ++c) seed.data()[i * per_sample + c] = S(1);
    net.backward(seed.cview());
    Index offset = 0;
    net.visit_parameters([&](const std::string&, Parameter<S, D>& p) {
      if (!p.trainable) return;
      for (Index e = 0; e < p.numel(); ++e) {
        const bool masked = !p.mask.empty() && p.mask.data()[e] == S(0);
        g(i, offset + e) = masked ? 0.f : static_cast<float>(p.grad.data()[e]);
      }
      offset += p.numel();
    });
  }
  return (g.cast<double>() * g.cast<double>().transpose());
}

/// The eigenvalues, trace and condition number of empirical_ntk(net, x, mode).
template <class Net, class S = typename Net::scalar_type>
NtkSpectrum ntk_spectrum(Net& net, std::type_identity_t<ConstView<S, Cpu>> x, Mode mode = Mode::train) {
  const Eigen::MatrixXd theta = empirical_ntk<Net, S>(net, x, mode);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(theta, Eigen::EigenvaluesOnly);
  NtkSpectrum s;
  s.eigenvalues = solver.eigenvalues();
  s.trace = theta.trace();
  s.largest = s.eigenvalues(s.eigenvalues.size() - 1);
  s.smallest = s.eigenvalues(0);
  return s;
}

}  // namespace netgrow::prune
