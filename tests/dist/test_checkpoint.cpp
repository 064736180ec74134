// Tests dist/checkpoint.hpp: rank 0 writes, every rank resumes (at the grown widths), a failed write is
// an error on every rank, and the consistency check names a differing rank.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "dist_support.hpp"
#include "netgrow/grow.hpp"
#include "netgrow/optim/adam.hpp"

using namespace netgrow;
using netgrow::test::world;

namespace {

using Net = Sequential<float, Cpu, Dense, Relu1, Dense>;

Net seed_net() {
  Rng rng(4);
  return Net(rng, Dense{.in = 5, .out = 3}, Relu1{}, Dense{.in = 3, .out = 2});
}

// A directory every rank names alike (rank 0 creates it).
std::filesystem::path shared_dir() {
  auto dir = std::filesystem::temp_directory_path() / ("netgrow_dist_checkpoint_" + std::to_string(world().size()));
  if (world().rank() == 0) std::filesystem::create_directories(dir);
  world().barrier();
  return dir;
}

}  // namespace

TEST_CASE("dist checkpoints: rank 0 writes once, every rank resumes the grown network and its state") {
  auto& comm = world();
  const auto dir = shared_dir();
  Net net = seed_net();
  Rng grow_rng(8);
  grow::grow_width<0, 2>(net, 4, grow::Random{}, grow_rng);
  Adam adam(1e-3);
  Tensor<float> x({6, 5}), grad;
  Tensor<std::int32_t> y({6});
  const auto logits = net.forward(x);
  grad.resize(logits.shape());
  SoftmaxCrossEntropy{}(logits, y, grad);
  net.backward(grad);
  adam.step(net);
  std::int64_t step = 17;
  io::TrainingState state;
  state.optimizer(adam).rng("grow", grow_rng).counter("step", step);
  const auto path = dir / "run.safetensors";
  dist::save_checkpoint(comm, path, net, state);
  CHECK(std::filesystem::exists(path));

  Net fresh = seed_net();  // at seed width
  Adam adam2(1e-3);
  Rng rng2(1);
  std::int64_t step2 = 0;
  io::TrainingState state2;
  state2.optimizer(adam2).rng("grow", rng2).counter("step", step2);
  dist::load_checkpoint(comm, path, fresh, state2);
  CHECK(fresh.layer<0>().weight().value.dim(0) == 7);
  CHECK(step2 == 17);
  CHECK(dist::network_hash(fresh) == dist::network_hash(net));
  comm.barrier();
  if (comm.rank() == 0) std::filesystem::remove_all(dir);
}

TEST_CASE("dist checkpoints: a write that fails on rank 0 throws on every rank; a bad file on every rank") {
  auto& comm = world();
  Net net = seed_net();
  CHECK_THROWS_AS(dist::save_checkpoint(comm, "/nonexistent-netgrow-dir/run.safetensors", net), IoError);
  CHECK_THROWS_AS(dist::load_checkpoint(comm, "/nonexistent-netgrow-dir/run.safetensors", net), IoError);
  comm.barrier();  // every rank went through both collectives: still in step
}

TEST_CASE("require_identical names the rank and the first parameter that differ") {
  auto& comm = world();
  Net net = seed_net();
  CHECK_NOTHROW(dist::require_identical(comm, net, "at start"));
  if (comm.size() == 1) return;
  if (comm.rank() == comm.size() - 1) net.layer<2>().bias().value[1] += 1.0f;
  std::string message;
  try {
    dist::require_identical(comm, net, "after the change");
  } catch (const dist::DistError& e) {
    message = e.what();
  }
  CHECK(message.find("rank(s) " + std::to_string(comm.size() - 1)) != std::string::npos);
  CHECK(message.find("2.bias") != std::string::npos);
  dist::broadcast_network(comm, net);  // rank 0's values everywhere again
  CHECK_NOTHROW(dist::require_identical(comm, net, "after broadcast_network"));
}

TEST_CASE("dist checkpoints: a run saved on N ranks resumes on 1 rank with the same global batches and result") {
  auto& comm = world();
  const auto dir = shared_dir();
  const auto path = dir / "resume.safetensors";
  Rng data_rng(21);
  Tensor<float> x_all({48, 5});
  Tensor<std::int32_t> y_all({48});
  fill_normal(x_all.view(), 0.0, 1.0, data_rng);
  for (Index i = 0; i < 48; ++i) y_all[i] = static_cast<std::int32_t>(data_rng.uniform_int(2));
  Tensor<float> grad;

  // Trains `steps` steps on comm's ranks (each on its share of the global batch of 12).
  auto train = [&](auto& group, Net& net, Adam& adam, dist::DistributedSampler& sampler, int steps) {
    dist::GradientAverager<float> averager;
    Tensor<float> x;
    Tensor<std::int32_t> y;
    for (int s = 0; s < steps; ++s) {
      const auto idx = sampler.next();
      gather_rows(x_all.cview(), idx, x);
      gather_rows(y_all.cview(), idx, y);
      const auto logits = net.forward(x);
      grad.resize(logits.shape());
      SoftmaxCrossEntropy{}(logits, y, grad);
      net.backward(grad);
      averager.average(group, net);
      adam.step(net);
    }
  };

  Net net = seed_net();
  Adam adam(1e-2);
  dist::DistributedSampler sampler(48, 12, Rng(5), comm.rank(), comm.size());
  train(comm, net, adam, sampler, 5);  // past an epoch boundary (4 global batches per epoch)
  Rng grow_rng(2);
  grow::grow_width<0, 2>(net, 2, grow::Random{}, grow_rng);
  io::TrainingState state;
  state.optimizer(adam).sampler("train", sampler.global()).rng("grow", grow_rng);
  dist::save_checkpoint(comm, path, net, state);
  train(comm, net, adam, sampler, 4);

  // Every rank alone (a world of one): resume and train the same 4 global batches whole.
  dist::MpiCommunicator self(MPI_COMM_SELF);
  Net resumed = seed_net();
  Adam adam2(1e-2);
  dist::DistributedSampler sampler2(48, 12, Rng(99), 0, 1);
  Rng rng2(0);
  io::TrainingState state2;
  state2.optimizer(adam2).sampler("train", sampler2.global()).rng("grow", rng2);
  dist::load_checkpoint(self, path, resumed, state2);
  train(self, resumed, adam2, sampler2, 4);
  CHECK(test::max_parameter_difference(resumed, net) < 1e-6);
  comm.barrier();
  if (comm.rank() == 0) std::filesystem::remove_all(dir);
}
