/// \file
/// netgrow/prune/ntk.hpp: the empirical neural tangent kernel of a network on a batch, and the
/// training-free scores read from it (TE-NAS, MetaNTK-NAS): its trace and its condition number.
///
/// Theta (N, N), Theta_ij = <dF_i/dw, dF_j/dw> over every trainable parameter (masked entries
/// excluded), with F_i the sum of sample i's outputs (TE-NAS's choice: one kernel entry per pair of
/// samples, not per pair of outputs). One backward pass per sample after a single forward pass of the
/// batch (in training mode BatchNorm couples the samples; the kernel is that of the batch function).
/// Any device: the passes run on the network's, the N x N kernel is formed on the host.
#pragma once

#include <limits>
#include <string>
#include <concepts>
#include <type_traits>
#include <vector>

#include <Eigen/Eigenvalues>

#include "netgrow/core/eigen.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/layers/layer.hpp"
#include "netgrow/layers/parameter_growth.hpp"

namespace netgrow::prune {

/// The empirical NTK's spectrum on a batch.
struct NtkSpectrum {
  Eigen::VectorXd eigenvalues;  ///< ascending
  double trace = 0;             ///< sum of the eigenvalues
  double largest = 0, smallest = 0;
  /// largest / smallest (infinity when smallest <= 0: a singular kernel).
  double condition() const { return smallest > 0 ? largest / smallest : std::numeric_limits<double>::infinity(); }
};

/// Theta (N, N) of `net` on inputs x (N, ...) (see the file comment), x on the network's device.
/// Parameter gradients are overwritten; values and running statistics are untouched in evaluation mode
/// (training mode moves BatchNorm's running statistics once, as a training forward pass does). On a GPU
/// the passes run there and each sample's gradients (P values) come to the host for the Gram matrix.
template <class Net, class S = typename Net::scalar_type>
Eigen::MatrixXd empirical_ntk(Net& net, std::type_identity_t<ConstView<S, typename Net::device_type>> x,
                              Mode mode = Mode::train) {
  using D = typename Net::device_type;
  require(x.rank() >= 2 && x.dim(0) >= 1, "prune::empirical_ntk: needs a batch (N, ...), got ", x.shape());
  const Index n = x.dim(0);
  const auto y = net.forward(x, mode);
  Tensor<S, Cpu> seed_host(y.shape());
  Tensor<S, D> seed(y.shape());
  const Index per_sample = y.numel() / n;
  Index p_total = 0;
  net.visit_parameters([&](const std::string&, Parameter<S, D>& p) {
    if (p.trainable) p_total += p.numel();
  });
  Eigen::MatrixXf g(n, p_total);  // per-sample gradients (float: N x P can be large)
  std::vector<Tensor<S, Cpu>> masks;  // each trainable parameter's mask on the host (empty: none), once
  net.visit_parameters([&](const std::string&, Parameter<S, D>& p) {
    if (!p.trainable) return;
    masks.emplace_back();
    if (!p.mask.empty()) masks.back() = host_copy(p.mask.cview());
  });
  Tensor<S, Cpu> grad;  // one parameter's gradient, on the host
  for (Index i = 0; i < n; ++i) {
    seed_host.fill_zero();
    for (Index c = 0; c < per_sample; ++c) seed_host.data()[i * per_sample + c] = S(1);
    grow::copy_between<S>(seed_host.cview(), seed.view());
    net.backward(seed.cview());
    Index offset = 0;
    std::size_t k = 0;
    net.visit_parameters([&](const std::string&, Parameter<S, D>& p) {
      if (!p.trainable) return;
      const S* gp = host_view(p.grad, grad).data();
      const Tensor<S, Cpu>& m = masks[k++];
      const S* mp = m.empty() ? nullptr : m.data();
      for (Index e = 0; e < p.numel(); ++e) g(i, offset + e) = mp && mp[e] == S(0) ? 0.f : static_cast<float>(gp[e]);
      offset += p.numel();
    });
  }
  return (g.cast<double>() * g.cast<double>().transpose());
}

/// The eigenvalues, trace and condition number of empirical_ntk(net, x, mode).
template <class Net, class S = typename Net::scalar_type>
NtkSpectrum ntk_spectrum(Net& net, std::type_identity_t<ConstView<S, typename Net::device_type>> x,
                         Mode mode = Mode::train) {
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
