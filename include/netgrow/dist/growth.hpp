/// \file
/// netgrow/dist/growth.hpp: growth under data parallelism, the same network on every rank.
///
/// ~~~
/// const grow::PairDataOptions options = dist::growth_options(comm);     // M averaged over the ranks
/// auto refresh = [&] { forward, loss and backward on this rank's share of the grow batch;
///                      averager.average(comm, net); };                 // gradients averaged too
/// models::grow_all_sites(model, plan, g, grow::GradMax{}, grow_rng, refresh, options);
/// dist::require_identical(comm, model.net(), "growth " + std::to_string(g));  // the debug check
/// ~~~
///
/// What makes every rank grow the same network:
/// ~~~{.unparsed}
///   GradMax, GradMaxOpt, the controllers   read M = E[dL/dz h^T], replaced by its mean over the ranks
///                                          before the top-k SVD (PairDataOptions::mean_over_processes):
///                                          the M of the global grow batch, so the SVD, the new neurons
///                                          and GradMaxTrigger's singular values are the same everywhere
///   GradMaxTrigger's reference             the existing neurons' gradients: the refresh averages them
///   EffectiveRankTrigger (NORTH)           the activations' Gram matrix, averaged over the ranks
///   HeadsGradMax                           each new head's M averaged: HeadsGradMax{.mean_over_processes =
///                                          process_mean(comm)}; HeadsRandom and HeadsCopy draw alike
///   Random, Split, Lemon, VarianceTransfer, MSG, G_stack, depth growth
///                                          no data: draws from a generator seeded the same on every rank
///                                          (keep it apart from the rank's data sampling)
///   FireflyOpt                             trains the new neurons through recompute(): the same on every
///                                          rank when recompute is the refresh above (it averages gradients)
///   InverseGradMaxOpt                      optimises on the batch rows (PairDataOptions::rows), which are
///                                          this rank's own: follow the growth with broadcast_network(comm,
///                                          net) (rank 0's result everywhere)
/// ~~~
/// Depth growth with DepthGradMax reads its branch's M through its own `pair_data` options: set them
/// from growth_options too.
#pragma once

#include <span>

#include "netgrow/dist/communicator.hpp"
#include "netgrow/grow/initializer.hpp"
#include "netgrow/grow/pair_data.hpp"

namespace netgrow::dist {

/// The mean over comm's ranks as a grow::CrossProcessMean (for HeadsGradMax's mean_over_processes and
/// PairDataOptions). It refers to `comm`, which must outlive it.
template <Communicator Comm>
grow::CrossProcessMean process_mean(Comm& comm) {
  auto mean = [&comm]<class S>(std::span<S> x) {
    all_reduce_mean(comm, TensorView<S, Cpu>(x.data(), Shape{static_cast<Index>(x.size())}));
  };
  grow::CrossProcessMean m;
  m.f32 = [mean](std::span<float> x) { mean(x); };
  m.f64 = [mean](std::span<double> x) { mean(x); };
  return m;
}

/// `base` with mean_over_processes set to the mean over comm's ranks (process_mean). The options refer to
/// `comm`, which must outlive them.
template <Communicator Comm>
grow::PairDataOptions growth_options(Comm& comm, grow::PairDataOptions base = {}) {
  base.mean_over_processes = process_mean(comm);
  return base;
}

}  // namespace netgrow::dist
