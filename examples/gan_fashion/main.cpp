// examples/gan_fashion: sparse GANs with balanced training (DDST) on Fashion-MNIST.
//
// A DCGAN-style pair for 28 x 28 images (pixels scaled to [-1, 1]):
//   G   z (64) -> Dense(64 7 7) -> Unflatten(64, 7, 7) -> BatchNorm -> Relu -> ConvTranspose2d(64 -> 32, 4, s2)
//       -> BatchNorm -> Relu -> ConvTranspose2d(32 -> 1, 4, s2) -> Tanh                  (N, 1, 28, 28)
//   D   Conv2d(1 -> 32, 4, s2) -> LeakyRelu(0.2) -> Conv2d(32 -> 64, 4, s2) -> LeakyRelu(0.2) -> Flatten
//       -> Dense(64 7 7 -> 1)                                                          (N, 1) logits
// trained with the non-saturating loss (BceWithLogits: D on real -> 1 and fake -> 0; G on fake -> 1), Adam
// (lr 2e-4, beta1 0.5) for each, batch 64, one D step then one G step.
//
// Modes (--modes), at each generator density of --densities (the weights of G's and D's Dense, Conv2d and
// ConvTranspose2d layers; biases and BatchNorm dense):
//   Dense    both dense (once per seed, whatever the densities)
//   Static   G and D sparse at the density from the start (random masks, RigL's Erdos-Renyi-Kernel layer
//            densities), masks fixed
//   SDST     Static, and G's connections move (prune::DynamicSparse, RigL: magnitude drop, gradient regrowth,
//            fraction --dst-fraction on a cosine decay, every --dst-every steps, until 3/4 of training);
//            D's masks fixed
//   DDST     SDST, and D's density follows the balance ratio (prune::DensityBalancer: +-0.05 every
//            --dst-every steps when BR leaves [--br-lower, --br-upper], within [0.05, 1]), starting at the
//            generator's density. The default band, [0.08, 0.15], is the range of the dense pair's BR here
//            (3 seeds): DDST steers the sparse pair toward the dense pair's balance.
// The balance ratio (prune::BalanceRatio, the DDST paper's definition) is measured every --br-every steps
// (two extra forward passes, left out of the FLOPs) over a window of 20 measurements, and logged.
//
// Quality: the Fréchet distance between the features (the 128-unit hidden layer after its Relu) of a
// small CNN classifier that netgrow trains first on the real training images (--classifier-epochs), for
// --fd-samples generated images against as many real test images. This is NOT the Inception-based FID and
// is not comparable with published FID numbers; lower is better, and real training images against the
// real test images give the floor it prints first.
//
// Prints per mode and density: final FD (mean and 80% interval over --seeds), final BR and D density,
// training FLOPs relative to the dense GAN (sparse counts, prune/flops.hpp) and seconds. Writes, with
// the prefix --out: <out>_curves.csv (FD, BR, densities per evaluation), <out>_curves.png/.gp (their means
// over seeds, with gnuplot), <out>_summary.json, and a PNG grid of 64 samples per mode, density and seed 0
// (<out>_<mode>_<density>.png).
#include <chrono>
#include <cstdio>
#include <map>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "../common/plot.hpp"
#include "../common/summary.hpp"
#include "netgrow/io/png.hpp"
#include "netgrow/models/small_cnn.hpp"
#include "netgrow/netgrow.hpp"
#include "netgrow/train/frechet.hpp"
#include "netgrow/train/run_summary.hpp"

using namespace netgrow;

namespace {

constexpr Index latent = 64;

using Generator = Sequential<float, Cpu, Dense, Unflatten, BatchNorm, Relu, ConvTranspose2d, BatchNorm, Relu,
                             ConvTranspose2d, Tanh>;
using Discriminator = Sequential<float, Cpu, Conv2d, LeakyRelu, Conv2d, LeakyRelu, Flatten, Dense>;
using Classifier = models::SmallCnn<float, Cpu>;

Generator make_generator(Rng& rng) {
  return Generator(rng, Dense{.in = latent, .out = 64 * 7 * 7, .bias = false}, Unflatten{.channels = 64, .height = 7, .width = 7},
                   BatchNorm{.channels = 64}, Relu{}, ConvTranspose2d{.in = 64, .out = 32, .bias = false},
                   BatchNorm{.channels = 32}, Relu{}, ConvTranspose2d{.in = 32, .out = 1}, Tanh{});
}

Discriminator make_discriminator(Rng& rng) {
  return Discriminator(rng, Conv2d{.in = 1, .out = 32, .kernel = 4, .stride = 2, .padding = 1}, LeakyRelu{.slope = 0.2},
                       Conv2d{.in = 32, .out = 64, .kernel = 4, .stride = 2, .padding = 1}, LeakyRelu{.slope = 0.2},
                       Flatten{}, Dense{.in = 64 * 7 * 7, .out = 1});
}

// Rows `idx` of images (N, 1, 28, 28) in [0, 1], scaled to [-1, 1].
void gather_scaled(const Tensor<float>& images, std::span<const Index> idx, Tensor<float>& out) {
  gather_rows(images, idx, out);
  for (Index i = 0; i < out.numel(); ++i) out.data()[i] = 2 * out.data()[i] - 1;
}

double mean(ConstView<float, Cpu> v) {
  double m = 0;
  for (Index i = 0; i < v.numel(); ++i) m += v.data()[i];
  return m / static_cast<double>(v.numel());
}

void normal_fill(Tensor<float>& z, Rng& rng) {
  for (Index i = 0; i < z.numel(); ++i) z.data()[i] = static_cast<float>(rng.normal());
}

// The classifier's hidden features (N, 128) of images (N, 1, 28, 28) in [-1, 1], in batches of 500.
Tensor<float> features(Classifier& c, const Tensor<float>& images) {
  const Index n = images.dim(0);
  Tensor<float> out({n, 128});
  for (Index b = 0; b < n; b += 500) {
    const Index m = std::min<Index>(500, n - b);
    c.net().forward(images.cview().rows(b, m), Mode::eval);
    ops::copy<float>(c.net().output<Classifier::fc1 + 1>(), out.view().rows(b, m));
  }
  return out;
}

// Trains the small CNN on the real training images in [-1, 1] (SGD, cosine, batch 128); returns its test accuracy.
double train_classifier(Classifier& c, const FashionMnist& data, double epochs, std::uint64_t seed) {
  const std::int64_t steps = static_cast<std::int64_t>(epochs * static_cast<double>(data.train.size() / 128));
  Sgd sgd(CosineLr{.base = 0.05, .total_steps = steps}, {.momentum = 0.9, .nesterov = true, .weight_decay = 5e-4});
  BatchSampler sampler(data.train.size(), 128, Rng(seed));
  Tensor<float> x, grad;
  Tensor<std::int32_t> y;
  for (std::int64_t s = 0; s < steps; ++s) {
    const auto idx = sampler.next();
    gather_scaled(data.train.images, idx, x);
    gather_rows(data.train.labels, idx, y);
    const auto logits = c.net().forward(x);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, y, grad);
    c.net().backward(grad);
    sgd.step(c.net());
  }
  Index correct = 0;
  Tensor<float> xt;
  for (Index b = 0; b < data.test.size(); b += 500) {
    const Index m = std::min<Index>(500, data.test.size() - b);
    std::vector<Index> idx(static_cast<std::size_t>(m));
    for (Index i = 0; i < m; ++i) idx[static_cast<std::size_t>(i)] = b + i;
    gather_scaled(data.test.images, idx, xt);
    Tensor<std::int32_t> yt;
    gather_rows(data.test.labels, idx, yt);
    correct += SoftmaxCrossEntropy{}.value(c.net().forward(xt, Mode::eval), yt).correct;
  }
  return static_cast<double>(correct) / static_cast<double>(data.test.size());
}

struct Settings {
  std::int64_t steps = 1500, dst_every = 100, br_every = 10, eval_every = 500;
  Index batch = 64, fd_samples = 2000;
  double dst_fraction = 0.3, br_lower = 0.08, br_upper = 0.15;
};

struct CurveRow {
  std::int64_t step;
  double fd, br, g_density, d_density, flops;
};

struct Result {
  double fd = 0, br = 0, d_density = 1, g_density = 1, flops = 0, seconds = 0;
  std::vector<CurveRow> curve;
  bool diverged = false;
};

// Random ERK masks at `density` on every weight matrix of `net` (density 1: no masks).
template <class Net>
void sparsify(Net& net, double density, Shape input, Rng& rng) {
  if (density >= 1) return;
  prune::enable_masks(net);
  Tensor<float> x(input);
  normal_fill(x, rng);
  prune::prune_at_init(net, prune::RandomScore{}, prune::ScoreContext<float>{.inputs = x.cview(), .rng = &rng},
                       {.density = density, .scope = prune::Scope::erk});
}

template <class Net>
double masked_density(Net& net) {
  const auto [active, total] = prune::masked_entries(net);
  return total > 0 ? static_cast<double>(active) / static_cast<double>(total) : 1.0;
}

Result train_gan(const FashionMnist& data, Classifier& classifier, const FeatureStatistics& real_stats,
                 const std::string& mode, double density, std::uint64_t seed, const Settings& s,
                 const std::string& grid_path) {
  Rng rng(seed);
  Generator g = make_generator(rng);
  Discriminator d = make_discriminator(rng);
  const bool sparse = mode != "Dense";
  if (sparse) {
    sparsify(g, density, Shape{s.batch, latent}, rng);
    sparsify(d, density, Shape{s.batch, 1, 28, 28}, rng);
  }
  Adam g_opt(2e-4, {.beta1 = 0.5}), d_opt(2e-4, {.beta1 = 0.5});
  prune::DynamicSparse g_dst({.regrow = prune::Regrow::gradient, .fraction = s.dst_fraction, .every = s.dst_every,
                              .end_step = s.steps * 3 / 4, .seed = seed + 7});
  prune::DensityBalancer balancer({.lower = s.br_lower, .upper = s.br_upper, .every = s.dst_every, .seed = seed + 8});
  prune::BalanceRatio br(20);
  const bool moves_g = mode == "SDST" || mode == "DDST", balances = mode == "DDST";

  BatchSampler sampler(data.train.size(), s.batch, Rng(seed + 1), true, /*drop_last=*/true);  // full batches: fixed targets
  Tensor<float> real, z({s.batch, latent}), fake, ones({s.batch, 1}), zeros({s.batch, 1}), grad;
  ones.fill(1.f);
  Tensor<float> z_eval({s.fd_samples, latent});
  Rng eval_rng(12345);  // the same noise for every run's evaluations
  normal_fill(z_eval, eval_rng);

  const auto step_flops = [&] {  // G: 1 forward (D's step) + 3 (its own); D: 3 on 2 batches + 3 (G's step)
    const double fg = prune::sparse_forward_flops(g, Shape{s.batch, latent});
    const double fd = prune::sparse_forward_flops(d, Shape{s.batch, 1, 28, 28});
    return 4 * fg + 9 * fd;
  };
  const auto evaluate = [&] {
    Tensor<float> samples({s.fd_samples, 1, 28, 28});
    for (Index b = 0; b < s.fd_samples; b += 500) {
      const Index m = std::min<Index>(500, s.fd_samples - b);
      ops::copy<float>(g.forward(z_eval.cview().rows(b, m), Mode::eval), samples.view().rows(b, m));
    }
    const Tensor<float> f = features(classifier, samples);
    return std::pair{frechet_distance(feature_statistics<float>(f), real_stats), std::move(samples)};
  };

  Result r;
  double flops_per_step = step_flops();
  const auto start = std::chrono::steady_clock::now();
  double eval_seconds = 0;
  for (std::int64_t step = 0; step < s.steps; ++step) {
    gather_scaled(data.train.images, sampler.next(), real);
    // D: real -> 1, fake -> 0.
    normal_fill(z, rng);
    fake.copy_from(g.forward(z));
    auto logits = d.forward(real);
    grad.resize(logits.shape());
    double d_loss = BceWithLogits{}(logits, ones, grad);
    d.backward(grad);
    logits = d.forward(fake);
    d_loss += BceWithLogits{}(logits, zeros, grad);
    d.backward(grad, {.accumulate = true});
    d_opt.step(d);
    // G: fake -> 1, through D.
    normal_fill(z, rng);
    const auto generated = g.forward(z);
    logits = d.forward(generated);
    const double d_fake = mean(logits);
    const double g_loss = BceWithLogits{}(logits, ones, grad);
    d.backward(grad, {.input_grad = true});
    g.backward(d.input_grad());
    if (moves_g) g_dst.update(g, step);
    g_opt.step(g);
    if (!std::isfinite(d_loss) || !std::isfinite(g_loss)) {
      r.diverged = true;
      break;
    }
    if (step % s.br_every == 0) {  // BR: D(G'(z)) with the updated G and the same z, D(x) with the updated D
      const double d_fake_after = mean(d.forward(g.forward(z)));
      const double d_real = mean(d.forward(real));
      br.record(d_real, d_fake, d_fake_after);
    }
    // (SDST keeps each parameter's active count, so only DDST changes the FLOPs per step.)
    if (balances && balancer.update(d, step, br)) flops_per_step = step_flops();
    r.flops += flops_per_step;
    if ((step + 1) % s.eval_every == 0 || step + 1 == s.steps) {
      const auto e0 = std::chrono::steady_clock::now();
      auto [fd, samples] = evaluate();
      r.curve.push_back({step + 1, fd, br.value(), sparse ? masked_density(g) : 1.0, sparse ? masked_density(d) : 1.0, r.flops});
      std::printf("  %-6s density %.2f seed %llu  step %5lld  FD %8.2f  BR %6.3f  D density %.3f  (D loss %.3f, G loss %.3f)\n",
                  mode.c_str(), density, static_cast<unsigned long long>(seed), static_cast<long long>(step + 1), fd,
                  br.value(), r.curve.back().d_density, d_loss, g_loss);
      std::fflush(stdout);
      if (step + 1 == s.steps && !grid_path.empty())
        io::write_png_gray(grid_path, io::image_grid<float>(samples.cview().rows(0, 64), 8));
      eval_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() - eval_seconds;
  if (!r.curve.empty()) {
    r.fd = r.curve.back().fd;
    r.br = r.curve.back().br;
    r.g_density = r.curve.back().g_density;
    r.d_density = r.curve.back().d_density;
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Flags flags(argc, argv,
                        {{"modes", "Dense,Static,SDST,DDST"},
                         {"densities", "0.1,0.3"},
                         {"seeds", "3"},
                         {"steps", "1500"},
                         {"dst-every", "100"},
                         {"dst-fraction", "0.3"},
                         {"br-every", "10"},
                         {"br-lower", "0.08"},
                         {"br-upper", "0.15"},
                         {"eval-every", "500"},
                         {"fd-samples", "2000"},
                         {"classifier-epochs", "1"},
                         {"out", "gan_fashion"}});
  if (flags.help()) {
    std::printf("gan_fashion: sparse GANs (Dense, Static, SDST, DDST) on Fashion-MNIST\n%s", flags.usage().c_str());
    return 0;
  }
  RunSummary summary("gan_fashion", argc, argv);
  const FashionMnist data = load_fashion_mnist({.standardize = false});
  Settings s;
  s.steps = flags.integer("steps");
  s.dst_every = flags.integer("dst-every");
  s.dst_fraction = flags.number("dst-fraction");
  s.br_every = flags.integer("br-every");
  s.br_lower = flags.number("br-lower");
  s.br_upper = flags.number("br-upper");
  s.eval_every = flags.integer("eval-every");
  s.fd_samples = flags.integer("fd-samples");
  require(s.steps > 0 && s.dst_every > 0 && s.br_every > 0 && s.eval_every > 0 && s.fd_samples >= 500 &&
              s.fd_samples % 500 == 0 && s.fd_samples <= data.test.size(),
          "gan_fashion: --steps, --dst-every, --br-every and --eval-every must be positive, --fd-samples a multiple of "
          "500 up to the test set's size");
  const std::string out = flags.str("out");

  // The feature network and the real statistics (test images); the floor: real training images.
  Rng crng(99);
  Classifier classifier({}, crng);
  const auto c0 = std::chrono::steady_clock::now();
  const double accuracy = train_classifier(classifier, data, flags.number("classifier-epochs"), 98);
  std::vector<Index> test_idx, train_idx;
  for (Index i = 0; i < s.fd_samples; ++i) {
    test_idx.push_back(i);
    train_idx.push_back(i * (data.train.size() / s.fd_samples));
  }
  Tensor<float> real_test, real_train;
  gather_scaled(data.test.images, test_idx, real_test);
  gather_scaled(data.train.images, train_idx, real_train);
  const FeatureStatistics real_stats = feature_statistics<float>(features(classifier, real_test));
  const double floor = frechet_distance(feature_statistics<float>(features(classifier, real_train)), real_stats);
  std::printf("feature classifier: small CNN, %.1f epoch(s), test accuracy %.4f (%.1f s); FD of %td real training "
              "images against %td real test images (the floor): %.3f\n\n",
              flags.number("classifier-epochs"), accuracy,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count(), s.fd_samples, s.fd_samples,
              floor);
  summary["classifier_test_accuracy"] = accuracy;
  summary["fd_floor_real_train_vs_test"] = floor;

  std::vector<std::string> modes;
  std::stringstream ml(flags.str("modes"));
  for (std::string m; std::getline(ml, m, ',');) {
    require(m == "Dense" || m == "Static" || m == "SDST" || m == "DDST", "--modes: unknown mode '", m, "'");
    modes.push_back(m);
  }
  std::vector<double> densities;
  std::stringstream dl(flags.str("densities"));
  for (std::string d; std::getline(dl, d, ',');) {
    densities.push_back(std::stod(d));
    require(densities.back() > 0 && densities.back() <= 1, "--densities: each in (0, 1], got ", d);
  }
  const int seeds = static_cast<int>(flags.integer("seeds"));
  CsvWriter curves(out + "_curves.csv", {"mode", "density", "seed", "step", "fd", "balance_ratio", "g_density",
                                         "d_density", "train_flops"});
  struct Row {
    std::string mode;
    double density;
    std::vector<Result> runs;
  };
  std::vector<Row> rows;
  for (const auto& mode : modes)
    for (double density : densities) {
      if (mode == "Dense" && density != densities.front()) continue;  // the dense GAN ignores the density
      Row row{mode, mode == "Dense" ? 1.0 : density, {}};
      for (int seed = 0; seed < seeds; ++seed) {
        const std::string grid = seed == 0 ? out + "_" + mode + "_" + format_fixed(row.density, 2) + ".png" : "";
        Result r = train_gan(data, classifier, real_stats, mode, row.density, 1000 + static_cast<std::uint64_t>(seed), s, grid);
        for (const auto& c : r.curve)
          curves.row(mode, row.density, seed, c.step, c.fd, c.br, c.g_density, c.d_density, c.flops);
        if (!grid.empty()) std::printf("  samples written to %s\n", grid.c_str());
        row.runs.push_back(std::move(r));
      }
      rows.push_back(std::move(row));
    }

  double dense_flops = 0;
  for (const auto& row : rows)
    if (row.mode == "Dense") dense_flops = row.runs.front().flops;
  std::printf("\n%-7s %-8s %-28s %-9s %-12s %-15s %s\n", "mode", "density", "FD (80% CI; lower is better)", "final BR",
              "D density", "FLOPs vs Dense", "seconds");
  auto& results = summary["results"];
  for (const auto& row : rows) {
    std::vector<double> fd, br, dd, flops, seconds;
    int diverged = 0;
    for (const auto& r : row.runs) {
      if (r.diverged) {
        ++diverged;
        continue;
      }
      fd.push_back(r.fd);
      br.push_back(r.br);
      dd.push_back(r.d_density);
      flops.push_back(r.flops);
      seconds.push_back(r.seconds);
    }
    const auto mean_of = [](const std::vector<double>& v) {
      double m = 0;
      for (double x : v) m += x / static_cast<double>(v.size());
      return v.empty() ? std::nan("") : m;
    };
    std::printf("%-7s %-8.2f %-28s %-9.3f %-12.3f %-15s %.1f%s\n", row.mode.c_str(), row.density,
                examples::format_interval(examples::interval_80(fd)).c_str(), mean_of(br), mean_of(dd),
                dense_flops > 0 ? format_fixed(mean_of(flops) / dense_flops, 3).c_str() : "n/a", mean_of(seconds),
                diverged ? (" (" + std::to_string(diverged) + " diverged)").c_str() : "");
    auto& j = results[row.mode + "@" + format_fixed(row.density, 2)];
    j["fd"] = fd;
    j["balance_ratio"] = br;
    j["d_density"] = dd;
    j["train_flops"] = flops;
    j["seconds"] = seconds;
    j["diverged"] = diverged;
  }
  // FD, BR and D's density over steps, mean over each row's finished seeds.
  examples::Panel fd_panel{.title = "Fréchet distance (classifier features; not FID)", .xlabel = "step", .ylabel = "FD"};
  examples::Panel br_panel{.title = "balance ratio", .xlabel = "step", .ylabel = "BR"};
  examples::Panel dd_panel{.title = "discriminator density", .xlabel = "step", .ylabel = "density", .key = "bottom right"};
  for (const auto& row : rows) {
    const std::string name = row.mode + " " + format_fixed(row.density, 2);
    examples::Series fd{name}, brs{name}, dds{name};
    for (std::size_t k = 0;; ++k) {
      double sum_fd = 0, sum_br = 0, sum_dd = 0;
      int n = 0;
      std::int64_t step = 0;
      for (const auto& r : row.runs)
        if (!r.diverged && k < r.curve.size()) {
          sum_fd += r.curve[k].fd, sum_br += r.curve[k].br, sum_dd += r.curve[k].d_density, step = r.curve[k].step, ++n;
        }
      if (n == 0) break;
      for (auto* series : {&fd, &brs, &dds}) series->x.push_back(static_cast<double>(step));
      fd.y.push_back(sum_fd / n), brs.y.push_back(sum_br / n), dds.y.push_back(sum_dd / n);
    }
    fd_panel.series.push_back(std::move(fd));
    br_panel.series.push_back(std::move(brs));
    dd_panel.series.push_back(std::move(dds));
  }
  examples::report_plot(examples::plot_panels(out + "_curves", "sparse GANs on Fashion-MNIST (mean over seeds)",
                                              {fd_panel, br_panel, dd_panel}));
  const std::string path = out + "_summary.json";
  summary.write(path);
  curves.close();
  std::printf("\ncurves written to %s_curves.csv, summary to %s\n", out.c_str(), path.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "gan_fashion: %s\n", e.what());
  return 1;
}
