// examples/vit_fashion: growing a Vision Transformer on Fashion-MNIST (7 x 7 patches, 16 tokens and a class
// token) from d 32, 2 layers, 2 heads to d 64, 4 layers, 4 heads, against both sizes trained from scratch:
// LEMON's ViT claim (Wang et al. 2024) transposed to a data set this machine trains in minutes.
//
// Model: models::Vit (PatchEmbedding with a class token, learned positions, pre-LN transformer blocks with
// MLP 4 d, final LayerNorm, class-token pooling, Dense head), Adam with a linear warm-up and a cosine
// decay, batch --batch images, residual dropout --dropout in every block (default 0). Methods (examples/common/transformer_growth.hpp), all trained the same
// number of steps, growing once at --grow-at:
//   Baseline-Small, Baseline-Big   the two sizes throughout
//   LEMON     lossless expansion of every dimension, then a cosine from the maximum rate over the rest
//   GradMax   d by LEMON's expansion, GradMax MLP neurons and heads, zero-output blocks with GradMax MLPs
//   Random    as GradMax with Random neurons, HeadsRandom and DepthRandom blocks
//   MSG       masked structural growth: random new units faded in over --fade-steps steps
//   G_stack   widths as LEMON, depth by stacking copies (not function-preserving)
// Prints per method the final test accuracy on all 10000 test images (mean and 80% interval over --seeds),
// training FLOPs and seconds against Baseline-Big, the accuracy jump the growth caused on the evaluation
// images (0 for lossless growth) and the fraction of Big's FLOPs at which the method first reached Big's
// final accuracy on the evaluation images (--eval-images, the first test images; same seed). Writes
// <out>_curves.csv, <out>_summary.json and <out>_curves.png (gnuplot). Data: --data, else
// $NETGROW_FASHION_MNIST, else /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../common/comparison.hpp"
#include "../common/transformer_growth.hpp"
#include "netgrow/data/batches.hpp"
#include "netgrow/data/fashion_mnist.hpp"
#include "netgrow/grow/gradmax.hpp"
#include "netgrow/grow/random.hpp"
#include "netgrow/models/vit.hpp"
#include "netgrow/network/flops.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/optim/adam.hpp"
#include "netgrow/optim/lr_schedule.hpp"
#include "netgrow/train/csv.hpp"
#include "netgrow/train/progress.hpp"
#include "netgrow/train/run_summary.hpp"

using namespace netgrow;

namespace {

using Model = models::Vit<float>;

struct Settings {
  models::VitConfig small, big;
  std::int64_t steps = 0, grow_at = 0, warmup = 0, eval_every = 0, fade_steps = 100;
  Index batch = 64, eval_images = 2000;
  double lr = 1e-3;
};

// Accuracy of the first `count` images of `data` (eval mode).
double accuracy(Model& model, const LabeledImages& data, Index count) {
  Tensor<float> x;
  Tensor<std::int32_t> y;
  Index correct = 0;
  for (Index begin = 0; begin < count; begin += 500) {
    const Index n = std::min<Index>(500, count - begin);
    x.copy_from(data.images.cview().rows(begin, n));
    y.copy_from(data.labels.cview().rows(begin, n));
    correct += SoftmaxCrossEntropy{}.value(model.net().forward(x, Mode::eval), y).correct;
  }
  return static_cast<double>(correct) / static_cast<double>(count);
}

struct Method {
  std::string name;
  bool grows = false, big = false;
  examples::TransformerRecipe<Model> grow;
  bool lemon_schedule = false;
};

Index mlp_of(const models::VitConfig& c) { return c.mlp > 0 ? c.mlp : 4 * c.dim; }

examples::ComparisonRun train(const FashionMnist& data, const Settings& s, const Method& m, std::uint64_t seed, ProgressOptions po) {
  Rng rng(seed);
  Model model(m.big ? s.big : s.small, rng);
  auto& net = model.net();
  Adam adam(WarmupLr{.warmup_steps = s.warmup, .after = CosineLr{.base = s.lr, .total_steps = s.steps}});
  BatchSampler sampler(data.train.size(), s.batch, Rng(seed + 1)), grow_sampler(data.train.size(), s.batch, Rng(seed + 2));
  Tensor<float> x, gx, grad, ggrad;
  Tensor<std::int32_t> y, gy;
  const std::function<void()> refresh = [&] {
    const auto idx = grow_sampler.next();
    gather_rows(data.train.images, idx, gx);
    gather_rows(data.train.labels, idx, gy);
    const auto logits = net.forward(gx);
    ggrad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, gy, ggrad);
    net.backward(ggrad);
  };
  const examples::TransformerTarget target{.dim = s.big.dim, .layers = s.big.layers, .heads = s.big.heads,
                                           .mlp = mlp_of(s.big), .context = 0, .fade_steps = s.fade_steps};
  examples::ComparisonRun run;
  double loss_avg = 0, seconds = 0;
  ProgressLine progress(s.steps, po);
  for (std::int64_t step = 0; step < s.steps; ++step) {
    if (m.grows && step == s.grow_at) {
      const double before = accuracy(model, data.test, s.eval_images);
      const auto g0 = std::chrono::steady_clock::now();
      m.grow(model, target, rng, refresh);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - g0).count();
      run.jump = accuracy(model, data.test, s.eval_images) - before;
      if (m.lemon_schedule) {
        const CosineLr rest{.base = s.lr, .total_steps = s.steps - step};
        adam.set_schedule([rest, step](std::int64_t t) { return rest(t - step); });
      }
      progress.message(po.label + ": step " + std::to_string(step) + ", grew to " + examples::transformer_sizes(model));
    }
    const auto t0 = std::chrono::steady_clock::now();
    const auto idx = sampler.next();
    gather_rows(data.train.images, idx, x);
    gather_rows(data.train.labels, idx, y);
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    const double loss = SoftmaxCrossEntropy{}(logits, y, grad).loss;
    if (!std::isfinite(loss)) {
      run.diverged = "loss " + std::to_string(loss) + " at step " + std::to_string(step);
      break;
    }
    net.backward(grad);
    adam.step(net);
    grow::advance_fades(net);  // MSG's masks (nothing for the other methods)
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    run.flops += training_step_flops(net, x.shape());
    loss_avg = step == 0 ? loss : 0.98 * loss_avg + 0.02 * loss;
    if ((step + 1) % s.eval_every == 0 || step + 1 == s.steps)
      run.curve.push_back({step + 1, loss_avg, accuracy(model, data.test, s.eval_images), run.flops, seconds,
                           net.parameter_count(), examples::transformer_sizes(model)});
    progress.update(step + 1, {.loss = loss_avg, .parameters = net.parameter_count(), .width = examples::transformer_sizes(model)});
  }
  progress.finish();
  run.seconds = seconds;
  run.final_metric = run.diverged.empty() ? accuracy(model, data.test, data.test.size())
                                           : std::numeric_limits<double>::quiet_NaN();
  return run;
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Flags flags(argc, argv,
                        {{"data", ""},
                         {"steps", "3000"},
                         {"grow-at", "0.3"},
                         {"batch", "64"},
                         {"lr", "0.001"},
                         {"warmup", "100"},
                         {"eval-every", "100"},
                         {"eval-images", "2000"},
                         {"seeds", "1"},
                         {"small", "32,2,2"},
                         {"big", "64,4,4"},
                         {"head-dim", "16"},
                         {"fade-steps", "100"},
                         {"dropout", "0"},
                         {"methods", "Baseline-Small,Baseline-Big,LEMON,GradMax,Random,MSG,G_stack"},
                         {"progress", "auto"},
                         {"plots", "on"},
                         {"out", "vit_fashion"}});
  if (flags.help()) {
    std::printf("vit_fashion: growing a ViT on Fashion-MNIST\n  --small/--big d,layers,heads\n%s", flags.usage().c_str());
    return 0;
  }
  RunSummary summary("vit_fashion", argc, argv);
  const FashionMnist data = load_fashion_mnist({.directory = flags.str("data")});
  Settings s;
  const auto sizes = [&](const std::string& flag) {
    const auto v = examples::integer_list(flags, flag, 3, "d,layers,heads");
    return models::VitConfig{.dim = v[0], .layers = v[1], .heads = v[2], .head_dim = flags.integer("head-dim"),
                             .dropout = flags.number("dropout")};
  };
  s.small = sizes("small");
  s.big = sizes("big");
  require(s.big.dim >= s.small.dim && s.big.layers >= s.small.layers && s.big.heads >= s.small.heads,
          "--big must be at least --small in every size");
  s.steps = flags.integer("steps");
  s.grow_at = static_cast<std::int64_t>(flags.number("grow-at") * static_cast<double>(s.steps));
  s.batch = flags.integer("batch");
  s.lr = flags.number("lr");
  s.warmup = flags.integer("warmup");
  s.eval_every = flags.integer("eval-every");
  s.eval_images = std::min(flags.integer("eval-images"), data.test.size());
  s.fade_steps = flags.integer("fade-steps");
  require(s.steps > 0 && s.grow_at > 0 && s.grow_at < s.steps && s.eval_every > 0 && s.eval_images > 0,
          "--steps, --grow-at, --eval-every and --eval-images must give 0 < grow step < steps");

  const std::vector<Method> all = {
      {"Baseline-Small", false, false, {}},
      {"Baseline-Big", false, true, {}},
      {"LEMON", true, false, examples::lemon_recipe<Model>(false), true},
      {"GradMax", true, false, examples::recipe_by<Model>(grow::GradMax{}, grow::HeadsGradMax{}, grow::DepthGradMax{})},
      {"Random", true, false, examples::recipe_by<Model>(grow::Random{}, grow::HeadsRandom{}, grow::DepthRandom{})},
      {"MSG", true, false, examples::msg_recipe<Model>()},
      {"G_stack", true, false, examples::lemon_recipe<Model>(true)},
  };
  const std::vector<Method> methods = examples::select_methods(all, flags.str("methods"));
  const int seeds = static_cast<int>(flags.integer("seeds"));
  {
    Rng unused(0);
    Model small(s.small, unused), big(s.big, unused);
    std::printf("netgrow ViT on Fashion-MNIST: %td training / %td test images, 7x7 patches (16 tokens + class token)\n"
                "small %s (%td parameters) -> big %s (%td parameters), %lld steps of %td images, growth at step "
                "%lld, Adam lr %g (warm-up %lld, cosine), %d seed(s)\n\n",
                data.train.size(), data.test.size(), examples::transformer_sizes(small).c_str(), small.net().parameter_count(),
                examples::transformer_sizes(big).c_str(), big.net().parameter_count(), static_cast<long long>(s.steps), s.batch,
                static_cast<long long>(s.grow_at), s.lr, static_cast<long long>(s.warmup), seeds);
  }
  std::map<std::string, std::vector<examples::ComparisonRun>> runs;
  std::vector<std::pair<std::string, bool>> table;
  for (const auto& m : methods) {
    table.emplace_back(m.name, m.grows);
    for (int seed = 0; seed < seeds; ++seed)
      runs[m.name].push_back(train(data, s, m, static_cast<std::uint64_t>(seed),
                                   examples::progress_options(flags, m.name + " seed " + std::to_string(seed), s.batch)));
  }
  summary["config"] = {{"steps", s.steps},           {"grow_step", s.grow_at},   {"batch", s.batch},
                       {"lr", s.lr},                 {"warmup", s.warmup},       {"small", flags.str("small")},
                       {"big", flags.str("big")},    {"head_dim", flags.integer("head-dim")},
                       {"fade_steps", s.fade_steps}, {"dropout", s.small.dropout}, {"seeds", seeds},           {"eval_images", s.eval_images}};
  examples::report_comparison(
      table, runs,
      {.name = "test accuracy", .key = "test_accuracy", .curve_column = "eval_accuracy", .lower_is_better = false}, flags,
      "ViT on Fashion-MNIST", summary);
  const std::string out = flags.str("out");
  summary.write(out + "_summary.json");
  std::printf("summary written to %s_summary.json\n", out.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "vit_fashion: %s\n", e.what());
  return 1;
}
