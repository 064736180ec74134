// Tests dist/gradient_averager.hpp's buckets: every parameter is averaged, also those growth adds or
// replaces after the averager's first use (PyTorch DDP's silent failure, pytorch issue 12603).
#include <doctest/doctest.h>

#include <set>

#include "dist_support.hpp"
#include "netgrow/grow.hpp"
#include "netgrow/models/char_transformer.hpp"

using namespace netgrow;
using netgrow::test::world;

namespace {

// Sets every gradient entry to `value`.
template <class Net>
void set_gradients(Net& net, double value) {
  net.visit_parameters([&](const std::string&, auto& p) { ops::fill<float>(p.grad.view(), static_cast<float>(value)); });
}

// True when every trainable gradient entry equals `value`.
template <class Net>
bool all_gradients_equal(Net& net, double value) {
  bool ok = true;
  net.visit_parameters([&](const std::string&, auto& p) {
    if (!p.trainable) return;
    for (Index i = 0; i < p.grad.numel(); ++i) ok = ok && p.grad[i] == static_cast<float>(value);
  });
  return ok;
}

}  // namespace

TEST_CASE("gradient buckets: parameters grown in place or added by depth growth are averaged") {
  auto& comm = world();
  const double mean_rank = (comm.size() - 1) / 2.0;  // rank r sends r: the mean is exact in float
  Rng rng(1);
  models::CharTransformer<float> gpt({.vocabulary = 7, .context = 4, .dim = 8, .layers = 1, .heads = 2, .head_dim = 4,
                                      .mlp = 8},
                                     rng);
  auto& net = gpt.net();
  dist::GradientAverager<float> averager({.bucket_bytes = 64});  // 16 floats: most parameters get their own
  set_gradients(net, comm.rank());
  averager.average(comm, net);
  CHECK(all_gradients_equal(net, mean_rank));
  CHECK(averager.rebuilds() == 1);
  const Index before = averager.averaged_elements();
  const std::size_t names_before = averager.averaged_names().size();

  // MLP width growth (in place) and a new block (new Parameter objects; the Stack may reallocate): the
  // next average sees them.
  Rng grow_rng(3);
  gpt.for_each_site([&](auto& site) { site.grow(4, grow::Random{}, grow_rng); });
  grow::grow_depth(gpt.blocks(), 1, grow::DepthZero{}, grow_rng);
  set_gradients(net, comm.rank());
  averager.average(comm, net);
  CHECK(averager.rebuilds() == 2);
  CHECK(averager.averaged_elements() > before);
  CHECK(averager.averaged_names().size() > names_before);
  CHECK(all_gradients_equal(net, mean_rank));
  averager.average(comm, net);  // nothing changed: no rebuild
  CHECK(averager.rebuilds() == 2);
}
