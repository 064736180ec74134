// Every pruning criterion netgrow ships, for tests that run them all: f(criterion) for Magnitude,
// RandomScore, Snip, Grasp, SynFlow and NtkSap (two draws), in that order.
#pragma once

#include "netgrow/prune/grasp.hpp"
#include "netgrow/prune/magnitude.hpp"
#include "netgrow/prune/ntk_sap.hpp"
#include "netgrow/prune/snip.hpp"
#include "netgrow/prune/synflow.hpp"

namespace netgrow::test {

template <class F>
void for_each_criterion(F&& f) {
  f(prune::Magnitude{});
  f(prune::RandomScore{});
  f(prune::Snip{});
  f(prune::Grasp{});
  f(prune::SynFlow{});
  f(prune::NtkSap{.draws = 2});
}

}  // namespace netgrow::test
