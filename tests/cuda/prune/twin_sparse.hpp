// The sparse training run both twins execute (tests/cuda/prune/test_sparse_on_cuda.cpp): an MLP whose
// weight matrices carry random masks of density 0.4, trained with Adam while DynamicSparse moves
// connections every other step (RigL from the device's gradients, or SET), written once against the
// device parameter D; then prune::set_global_density moves the density down and up (DDST). The masks
// are drawn on the host, so both twins start alike. Also the empirical NTK of such a masked MLP.
//
// Include <netgrow/cuda.hpp> first in nvcc translation units; host ones include netgrow.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "netgrow/backend/cuda/transfer.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/network/sequential.hpp"
#include "netgrow/optim/adam.hpp"
#include "netgrow/prune/balance.hpp"
#include "netgrow/prune/dynamic_sparse.hpp"
#include "netgrow/prune/mask.hpp"
#include "netgrow/prune/ntk.hpp"

namespace netgrow::test {

// What a sparse run leaves behind, on the host.
struct SparseTrace {
  std::vector<double> losses;                          // per step
  std::vector<Index> moved;                            // connections moved per update
  std::vector<Index> active;                           // active entries after each update
  std::vector<Index> density_counts;                   // active entries after set_global_density 0.25, 0.5
  std::vector<Tensor<float, Cpu>> values, masks;       // parameters (visit order) after the last step
  std::vector<std::vector<Tensor<float, Cpu>>> state;  // their optimizer state
};

template <class D>
using SparseMlp = Sequential<float, D, Dense, Relu1, Dense, Tanh, Dense>;

// The MLP in -> 33 -> 17 -> out of both twins, its weight matrices masked at random to density 0.4
// (drawn on the host from seed + 1).
template <class D>
SparseMlp<D> masked_mlp(std::uint64_t seed, Index in, Index out) {
  Rng rng(seed);
  SparseMlp<D> net(rng, Dense{.in = in, .out = 33}, Relu1{}, Dense{.in = 33, .out = 17}, Tanh{},
                   Dense{.in = 17, .out = out});
  prune::enable_masks(net);
  Rng mask_rng(seed + 1);
  net.visit_parameters([&](const std::string& name, Parameter<float, D>& p) {
    if (p.mask.empty()) return;
    Tensor<float, Cpu> m(p.value.shape());
    for (Index i = 0; i < m.numel(); ++i) m[i] = mask_rng.uniform() < 0.4 ? 1.0f : 0.0f;
    prune::set_mask(p, m, name);
  });
  return net;
}

template <class D>
SparseTrace sparse_twin(std::uint64_t seed, prune::Regrow regrow, const Tensor<float, Cpu>& x_host,
                        const Tensor<float, Cpu>& target_host) {
  SparseMlp<D> net = masked_mlp<D>(seed, x_host.dim(1), target_host.dim(1));
  Adam adam(0.01, AdamOptions{.eps = 1e-3});  // a large eps: rounding-level gradients move nothing
  prune::DynamicSparse dst({.regrow = regrow, .fraction = 0.3, .every = 2, .end_step = 9, .seed = seed});
  const Tensor<float, D> x = to<D>(x_host), target = to<D>(target_host);
  Tensor<float, D> grad;
  SparseTrace trace;
  for (std::int64_t step = 1; step <= 10; ++step) {
    const ConstView<float, D> out = net.forward(x.cview());
    grad.resize(out.shape());
    trace.losses.push_back(MseLoss{}(out, target, grad));
    net.backward(grad.cview());
    dst.update(net, step);
    adam.step(net);
  }
  // DDST's density moves: down to 0.25 (the smallest weights dropped), up to 0.5 (random regrowth).
  Rng density_rng(seed + 2);
  for (const double d : {0.25, 0.5}) {
    prune::set_global_density(net, d, density_rng);
    trace.density_counts.push_back(prune::masked_entries(net).first);
  }
  for (const prune::DynamicSparseUpdate& u : dst.log()) {
    trace.moved.push_back(u.moved);
    trace.active.push_back(u.active);
  }
  net.visit_parameters([&](const std::string&, Parameter<float, D>& p) {
    trace.values.push_back(to<Cpu>(p.value));
    trace.masks.push_back(prune::mask_on_host(p));
    std::vector<Tensor<float, Cpu>> s;
    for (const auto& t : p.state) s.push_back(to<Cpu>(t));
    trace.state.push_back(std::move(s));
  });
  return trace;
}

// The empirical NTK (prune/ntk.hpp) of the same MLP with random masks of density 0.4, in evaluation
// mode: the passes on D, the kernel formed on the host.
template <class D>
Eigen::MatrixXd ntk_twin(std::uint64_t seed, const Tensor<float, Cpu>& x_host) {
  SparseMlp<D> net = masked_mlp<D>(seed, x_host.dim(1), 5);
  const Tensor<float, D> x = to<D>(x_host);
  return prune::empirical_ntk(net, x.cview(), Mode::eval);
}

// The Cuda twins (sparse_shim.cu).
SparseTrace sparse_on_cuda(std::uint64_t seed, prune::Regrow regrow, const Tensor<float, Cpu>& x,
                           const Tensor<float, Cpu>& target);
Eigen::MatrixXd ntk_on_cuda(std::uint64_t seed, const Tensor<float, Cpu>& x);

}  // namespace netgrow::test
