// examples/dist_fashion: data-parallel training and growth of the small CNN on Fashion-MNIST over MPI.
//
//   mpirun -np 2 build/release/examples/dist_fashion            (scripts/dist_fashion.sh sets up mpirun)
//
// Every rank builds the same seed network (conv 8 -> conv 16 -> fc 32, a quarter of the classic widths),
// draws its disjoint share of each global batch (dist::DistributedSampler), averages gradients in
// buckets (dist::GradientAverager) and applies the same SGD step. At --growths evenly spaced steps every
// site grows with GradMax (or --method random) toward the target widths (conv 16 -> conv 32 -> fc 64):
// GradMax's matrix M is averaged over the ranks before the top-k SVD (dist::growth_options), so every
// rank adds the same neurons, and dist::require_identical checks a hash of every parameter and optimizer
// state on every rank after each growth. Rank 0 reports the loss (mean over ranks), the widths, the
// throughput and the share of each step spent averaging; at the end the test accuracy (each rank
// evaluates a share of the test set) and, with --checkpoint PATH, rank 0 writes the final checkpoint.
//
// Options: --steps N (1200) --batch B (global, 128) --growths G (3) --method gradmax|random --lr (0.05)
//          --seed S (0) --sync-bn (synchronised BatchNorm: uses the BatchNorm variant of the network)
//          --max-train N (all) --checkpoint PATH --threads T (OpenMP threads per rank, default 1)
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "netgrow/dist.hpp"
#include "netgrow/dist/mpi.hpp"
#include "netgrow/netgrow.hpp"

using namespace netgrow;

namespace {

struct Options {
  std::int64_t steps = 1200;
  Index batch = 128;
  int growths = 3;
  std::string method = "gradmax";
  double lr = 0.05;
  std::uint64_t seed = 0;
  bool sync_bn = false;
  Index max_train = 0;
  std::string checkpoint;
  int threads = 1;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      require(i + 1 < argc, "dist_fashion: ", a, " needs a value");
      return argv[++i];
    };
    if (a == "--steps") o.steps = std::stoll(value());
    else if (a == "--batch") o.batch = std::stoll(value());
    else if (a == "--growths") o.growths = std::stoi(value());
    else if (a == "--method") o.method = value();
    else if (a == "--lr") o.lr = std::stod(value());
    else if (a == "--seed") o.seed = std::stoull(value());
    else if (a == "--sync-bn") o.sync_bn = true;
    else if (a == "--max-train") o.max_train = std::stoll(value());
    else if (a == "--checkpoint") o.checkpoint = value();
    else if (a == "--threads") o.threads = std::stoi(value());
    else throw ArgumentError("dist_fashion: unknown option " + a);
  }
  require(o.method == "gradmax" || o.method == "random", "dist_fashion: --method is gradmax or random, got ", o.method);
  require(o.steps > 0 && o.growths >= 0 && o.threads > 0, "dist_fashion: --steps, --threads > 0 and --growths >= 0");
  return o;
}

template <bool BatchNorms>
void run(dist::MpiCommunicator& comm, const Options& o) {
  using Model = models::SmallCnn<float, Cpu, BatchNorms>;
  const bool root = comm.rank() == 0;
  const FashionMnist data = load_fashion_mnist({.max_train = o.max_train});
  const models::SmallCnnConfig seed_config{.c1 = 8, .c2 = 16, .fc = 32};
  const models::SmallCnnConfig target_config{.c1 = 16, .c2 = 32, .fc = 64};
  Rng init_rng(o.seed), target_rng(o.seed);
  Model model(seed_config, init_rng), target(target_config, target_rng);
  auto& net = model.net();
  const models::GrowthPlan plan = models::plan_growth(model, target, std::max(o.growths, 1));
  Sgd sgd(CosineLr{.base = o.lr, .total_steps = o.steps}, {.momentum = 0.9, .nesterov = true, .weight_decay = 5e-4});
  dist::DistributedSampler sampler(data.train.size(), o.batch, Rng(o.seed + 1), comm.rank(), comm.size());
  dist::GradientAverager<float> averager;
  Rng grow_rng(o.seed + 2);  // the same draws on every rank
  const grow::PairDataOptions grow_options = dist::growth_options(comm);

  Tensor<float> x, grad;
  Tensor<std::int32_t> y;
  double loss = 0;
  auto forward_backward = [&] {  // this rank's share; with --sync-bn, BatchNorm over the global batch
    std::optional<dist::SyncBatchNorm> sync;
    if (o.sync_bn) sync.emplace(comm);
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    loss = SoftmaxCrossEntropy{}(logits, y, grad).loss;
    net.backward(grad);
  };
  auto refresh = [&] {  // the grow batch: this rank's share of the next global batch
    forward_backward();
    averager.average(comm, net);
  };
  auto next_batch = [&] {
    const auto idx = sampler.next();
    gather_rows(data.train.images.cview(), idx, x);
    gather_rows(data.train.labels.cview(), idx, y);
  };

  if (root)
    std::printf("dist_fashion: %d rank(s), global batch %ld (%ld per rank), %ld steps, %d growths by %s%s, %d thread(s) "
                "per rank\n",
                comm.size(), static_cast<long>(o.batch), static_cast<long>(sampler.local_batch()),
                static_cast<long>(o.steps), o.growths, o.method.c_str(), o.sync_bn ? ", synchronised BatchNorm" : "",
                o.threads);
  const auto widths = [&] {
    std::string w;
    model.for_each_site([&](auto& site) { w += (w.empty() ? "" : "-") + std::to_string(site.width()); });
    return w;
  };
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  double averaging_seconds = 0, growth_seconds = 0, window_loss = 0;
  int window = 0, growth = 0;
  for (std::int64_t step = 0; step < o.steps; ++step) {
    if (o.growths > 0 && growth < o.growths && step == (growth + 1) * o.steps / (o.growths + 1)) {
      const auto t0 = Clock::now();
      next_batch();
      std::vector<grow::GrowthReport> reports;
      std::size_t i = 0;
      model.for_each_site([&](auto& site) {
        const Index k = plan.neurons(i++, growth);
        if (k == 0) return;
        const auto norm = grow::NormRule::mean_norm(0.5);  // outgoing weights at half the existing norm, as in
                                                           // examples/fashion_mnist (the reference's CIFAR setting)
        if (o.method == "gradmax") reports.push_back(site.grow(k, grow::GradMax{.norm = norm}, grow_rng, refresh, grow_options));
        else reports.push_back(site.grow(k, grow::Random{.norm = norm}, grow_rng));
      });
      dist::require_identical(comm, net, "after growth " + std::to_string(growth + 1));
      growth_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
      ++growth;
      if (root) {
        std::printf("  step %5ld: growth %d -> widths %s, the same network on all %d ranks (hash %016llx)",
                    static_cast<long>(step), growth, widths().c_str(), comm.size(),
                    static_cast<unsigned long long>(dist::network_hash(net)));
        if (!reports.empty() && !reports.front().singular_values.empty())
          std::printf(", conv1 top sigma %.4g", reports.front().singular_values.front());
        std::printf("\n");
      }
    }
    next_batch();
    forward_backward();
    const auto t0 = Clock::now();
    averager.average(comm, net);
    averaging_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    sgd.step(net);
    window_loss += loss;
    ++window;
    if ((step + 1) % 100 == 0 || step + 1 == o.steps) {
      Tensor<double> l(Shape{1});
      l[0] = window_loss / window;
      dist::all_reduce_mean(comm, l.view());
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      if (root)
        std::printf("  step %5ld  loss %.4f  widths %s  %.0f images/s  averaging %.1f%% of the time\n",
                    static_cast<long>(step + 1), l[0], widths().c_str(),
                    static_cast<double>((step + 1) * o.batch) / seconds, 100.0 * averaging_seconds / seconds);
      window_loss = 0;
      window = 0;
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  // Test accuracy: each rank evaluates a contiguous share of the test set; the counts are summed.
  const Index n_test = data.test.size(), per = (n_test + comm.size() - 1) / comm.size();
  const Index begin = std::min(n_test, comm.rank() * per), count = std::min(per, n_test - begin);
  Tensor<double> counts(Shape{2});
  for (Index b = begin; b < begin + count; b += 500) {
    const Index m = std::min<Index>(500, begin + count - b);
    x.copy_from(data.test.images.cview().rows(b, m));
    y.copy_from(data.test.labels.cview().rows(b, m));
    const auto r = SoftmaxCrossEntropy{}.value(net.forward(x, Mode::eval), y);
    counts[0] += static_cast<double>(r.correct);
    counts[1] += static_cast<double>(m);
  }
  dist::all_reduce_sum(comm, counts.view());
  if (root) {
    std::printf("dist_fashion: test accuracy %.4f on %ld images, final widths %s, %ld parameters\n",
                counts[0] / counts[1], static_cast<long>(counts[1]), widths().c_str(),
                static_cast<long>(net.parameter_count()));
    std::printf("dist_fashion: %.1f s, %.0f training images/s over %d rank(s); averaging %.1f%% of the time "
                "(%ld gradient values = %.0f KiB per step in %zu bucket(s)); growth %.2f s in all\n",
                seconds, static_cast<double>(o.steps * o.batch) / seconds, comm.size(),
                100.0 * averaging_seconds / seconds, static_cast<long>(averager.averaged_elements()),
                static_cast<double>(averager.averaged_elements()) * sizeof(float) / 1024.0, averager.bucket_count(),
                growth_seconds);
  }
  if (!o.checkpoint.empty()) {
    io::TrainingState state;
    std::int64_t steps_done = o.steps;
    state.optimizer(sgd).sampler("train", sampler.global()).rng("grow", grow_rng).counter("step", steps_done);
    dist::save_checkpoint(comm, o.checkpoint, net, state);
    if (root) std::printf("dist_fashion: rank 0 wrote %s\n", o.checkpoint.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  dist::MpiSession session(argc, argv);
  dist::MpiCommunicator comm;
  return comm.run_or_abort([&] {
    const Options o = parse(argc, argv);
    omp_set_num_threads(o.threads);
    if (o.sync_bn) run<true>(comm, o);
    else run<false>(comm, o);
  });
}
