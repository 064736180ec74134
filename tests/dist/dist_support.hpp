// tests/dist/dist_support.hpp: the world communicator of the MPI tests and data-parallel helpers: a
// global batch every rank builds alike, each rank's share of it, and comparisons of networks.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "netgrow/dist.hpp"
#include "netgrow/dist/mpi.hpp"
#include "netgrow/layers.hpp"
#include "netgrow/network.hpp"

namespace netgrow::test {

dist::MpiCommunicator& world();  // MPI_COMM_WORLD, duplicated (dist_test_main.cpp)

// Rows [rank b, (rank + 1) b) of x (N, ...), b = N / ranks.
template <class T>
Tensor<T> share_of(ConstView<T> x, int rank, int ranks) {
  const Index b = x.dim(0) / ranks;
  Tensor<T> out;
  out.copy_from(x.rows(rank * b, b));
  return out;
}

// The largest |a - b| over the values of two networks' trainable parameters and their optimizer state
// (the same structure). Running statistics are left out (their updates depend on how batches split).
template <class Net>
double max_parameter_difference(Net& a, Net& b) {
  std::vector<const Tensor<typename Net::scalar_type>*> va, vb;
  auto collect = [](auto& v) {
    return [&v](const std::string&, auto& p) {
      if (!p.trainable) return;
      v.push_back(&p.value);
      for (const auto& s : p.state) v.push_back(&s);
    };
  };
  a.visit_parameters(collect(va));
  b.visit_parameters(collect(vb));
  REQUIRE(va.size() == vb.size());
  double d = 0;
  for (std::size_t i = 0; i < va.size(); ++i) {
    REQUIRE(va[i]->shape() == vb[i]->shape());
    for (Index j = 0; j < va[i]->numel(); ++j)
      d = std::max(d, static_cast<double>(std::abs((*va[i])[j] - (*vb[i])[j])));
  }
  return d;
}

// Every rank's value of x equal (bit for bit) to rank 0's.
inline bool same_on_every_rank(std::uint64_t x) {
  const auto all = world().all_gather(x);
  return std::all_of(all.begin(), all.end(), [&](std::uint64_t v) { return v == all[0]; });
}

}  // namespace netgrow::test
