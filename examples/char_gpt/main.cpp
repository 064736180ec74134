// examples/char_gpt: growing a character-level GPT on Tiny Shakespeare, from d 64, 2 layers, 2 heads,
// context 64 to d 128, 4 layers, 4 heads, context 128, against both sizes trained from scratch.
//
// Model: models::CharTransformer (Embedding, learned positions, pre-LN causal transformer blocks with
// MLP 4 d, final LayerNorm, Dense head), Adam with a linear warm-up and a cosine decay, batch --batch
// windows of the current context, residual dropout --dropout in every block (default 0; its masks follow
// every growth, so the lossless methods stay lossless in training mode). Methods, all trained for the same
// number of steps:
//   Baseline-Small  the small model throughout (context 64)
//   Baseline-Big    the big model throughout (context 128)
//   LEMON           small until --grow-at, then expanded losslessly in one step (Wang et al. 2024):
//                   context (grow_context), model width d (grow::expand_stream: LEMON through every
//                   LayerNorm), MLP width (grow::Lemon), heads (HeadsCopy: duplicated, output columns
//                   split), depth (expand_depth: zero-output copies, interpolation order); then LEMON's
//                   schedule: a cosine from the same maximum rate over the remaining steps
//   GradMax         the same step, d by LEMON's expansion (no other way keeps the function), then GradMax
//                   MLP neurons, GradMax heads (grow/heads.hpp) and zero-output blocks whose MLP is GradMax's
//                   (DepthGradMax, LLaMA-Pro style), each on a fresh grow batch; the global schedule goes on
//   Random          as GradMax with Random neurons, HeadsRandom and DepthRandom blocks
//   MSG             masked structural growth (Yao et al. 2024): d, MLP width, heads and depth (interleaved
//                   random blocks) with random new weights, every new unit faded in by a mask rising from
//                   0 to 1 over --fade-steps steps (grow/msg.hpp); the global schedule goes on
//   G_stack         as LEMON for widths, then depth by stacking copies of the blocks (Du et al. 2024):
//                   NOT function-preserving; the jump it causes is measured (below)
// Prints, per method, the final validation bits per character (mean and 80% interval over --seeds),
// training FLOPs and wall-clock against Baseline-Big, the jump in validation bits per character the growth
// itself caused (the same windows at the small context just before and after: 0 for lossless growth), and
// the fraction of Baseline-Big's training FLOPs at which the method first reached Big's final validation
// loss (same seed; "-" when it never did). Writes, with the prefix --out (default ./char_gpt):
//   <out>_curves.csv     step, train loss, validation bits per character, FLOPs, seconds, sizes per evaluation
//   <out>_summary.json   settings and every result, per seed and aggregated
//   <out>_curves.png/.gp validation bits per character against training FLOPs and against seconds (gnuplot)
// The data: --data, else $NETGROW_SHAKESPEARE, else ../shared/data/tinyshakespeare.txt (90/10 split).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../common/comparison.hpp"
#include "../common/transformer_growth.hpp"
#include "netgrow/data/char_corpus.hpp"
#include "netgrow/grow/depth.hpp"
#include "netgrow/grow/gradmax.hpp"
#include "netgrow/grow/lemon.hpp"
#include "netgrow/grow/msg.hpp"
#include "netgrow/grow/random.hpp"
#include "netgrow/grow/transformer.hpp"
#include "netgrow/models/char_transformer.hpp"
#include "netgrow/network/flops.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/optim/adam.hpp"
#include "netgrow/optim/lr_schedule.hpp"
#include "netgrow/train/csv.hpp"
#include "netgrow/train/progress.hpp"
#include "netgrow/train/run_summary.hpp"

using namespace netgrow;

namespace {

using Model = models::CharTransformer<float>;

struct Settings {
  models::CharTransformerConfig small, big;
  std::int64_t steps = 0, grow_at = 0, warmup = 0, eval_every = 0, fade_steps = 100;
  Index batch = 16, eval_windows = 64;
  double lr = 2e-3;
};

// Mean validation bits per character over fixed windows of `context` characters.
double validation_bits(Model& model, const CharCorpus& validation, Index windows, Index context) {
  Tensor<float> x(Shape{windows, context});
  Tensor<std::int32_t> y(Shape{windows, context});
  const Index span = validation.size() - context - 1;
  for (Index i = 0; i < windows; ++i) put_window(validation, span * i / windows, i, x, y);
  double loss = 0;
  const Index chunk = 16;
  for (Index begin = 0; begin < windows; begin += chunk) {
    const Index count = std::min(chunk, windows - begin);
    Tensor<float> xs;
    Tensor<std::int32_t> ys;
    xs.copy_from(x.cview().rows(begin, count));
    ys.copy_from(y.cview().rows(begin, count));
    loss += SequenceCrossEntropy{}.value(model.net().forward(xs, Mode::eval), ys).loss * static_cast<double>(count);
  }
  return loss / static_cast<double>(windows) / std::log(2.0);
}

struct Method {
  std::string name;
  bool grows = false, big = false;
  examples::TransformerRecipe<Model> grow;
  bool lemon_schedule = false;  // after growth: a cosine from the maximum rate over the remaining steps
};

Index mlp_of(const models::CharTransformerConfig& c) { return c.mlp > 0 ? c.mlp : 4 * c.dim; }

examples::TransformerTarget target_of(const Settings& s) {
  return {.dim = s.big.dim, .layers = s.big.layers, .heads = s.big.heads, .mlp = mlp_of(s.big),
          .context = s.big.context, .fade_steps = s.fade_steps};
}

examples::ComparisonRun train(const CharCorpus& train_text, const CharCorpus& validation, const Settings& s, const Method& m,
          std::uint64_t seed, ProgressOptions progress_options) {
  Rng rng(seed);
  models::CharTransformerConfig start = m.big ? s.big : s.small;
  Model model(start, rng);
  auto& net = model.net();
  Adam adam(WarmupLr{.warmup_steps = s.warmup, .after = CosineLr{.base = s.lr, .total_steps = s.steps}});
  Rng data_rng(seed + 1), grow_rng(seed + 2);
  Tensor<float> x, gx, grad, ggrad;
  Tensor<std::int32_t> y, gy;
  const std::function<void()> refresh = [&] {
    sample_windows(train_text, s.batch, model.context(), grow_rng, gx, gy);
    const auto logits = net.forward(gx);
    ggrad.resize(logits.shape());
    SequenceCrossEntropy{}(logits, gy, ggrad);
    net.backward(ggrad);
  };
  examples::ComparisonRun run;
  double loss_avg = 0, seconds = 0;
  ProgressLine progress(s.steps, progress_options);
  for (std::int64_t step = 0; step < s.steps; ++step) {
    if (m.grows && step == s.grow_at) {
      const double before = validation_bits(model, validation, s.eval_windows, s.small.context);
      const auto g0 = std::chrono::steady_clock::now();
      m.grow(model, target_of(s), rng, refresh);
      const double g = std::chrono::duration<double>(std::chrono::steady_clock::now() - g0).count();
      seconds += g;
      run.jump = validation_bits(model, validation, s.eval_windows, s.small.context) - before;
      if (m.lemon_schedule) {
        const CosineLr rest{.base = s.lr, .total_steps = s.steps - step};
        adam.set_schedule([rest, step](std::int64_t t) { return rest(t - step); });
      }
      progress.message(progress_options.label + ": step " + std::to_string(step) + ", grew to " + examples::transformer_sizes(model));
    }
    const auto t0 = std::chrono::steady_clock::now();
    sample_windows(train_text, s.batch, model.context(), data_rng, x, y);
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    const double loss = SequenceCrossEntropy{}(logits, y, grad).loss;
    if (!std::isfinite(loss)) {
      run.diverged = "loss " + std::to_string(loss) + " at step " + std::to_string(step);
      break;
    }
    net.backward(grad);
    adam.step(net);
    grow::advance_fades(net);  // MSG's masks (nothing for the other methods)
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    run.flops += training_step_flops(net, x.shape());
    loss_avg = step == 0 ? loss : 0.95 * loss_avg + 0.05 * loss;
    if ((step + 1) % s.eval_every == 0 || step + 1 == s.steps) {
      const double bits = validation_bits(model, validation, s.eval_windows, model.context());
      run.curve.push_back({step + 1, loss_avg / std::log(2.0), bits, run.flops, seconds, net.parameter_count(),
                           examples::transformer_sizes(model)});
    }
    progress.update(step + 1, {.loss = loss_avg / std::log(2.0), .parameters = net.parameter_count(), .width = examples::transformer_sizes(model)});
  }
  progress.finish();
  run.seconds = seconds;
  run.final_metric = run.diverged.empty() && !run.curve.empty() ? run.curve.back().metric
                                                                 : std::numeric_limits<double>::quiet_NaN();
  return run;
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Flags flags(argc, argv,
                        {{"data", ""},
                         {"steps", "1500"},
                         {"grow-at", "0.3"},
                         {"batch", "16"},
                         {"lr", "0.002"},
                         {"warmup", "50"},
                         {"eval-every", "50"},
                         {"eval-windows", "64"},
                         {"seeds", "1"},
                         {"small", "64,2,2,64"},
                         {"big", "128,4,4,128"},
                         {"head-dim", "32"},
                         {"fade-steps", "100"},
                         {"dropout", "0"},
                         {"methods", "Baseline-Small,Baseline-Big,LEMON,GradMax,Random,MSG,G_stack"},
                         {"progress", "auto"},
                         {"plots", "on"},
                         {"out", "char_gpt"}});
  if (flags.help()) {
    std::printf("char_gpt: growing a character-level GPT on Tiny Shakespeare\n"
                "  --small/--big d,layers,heads,context\n%s",
                flags.usage().c_str());
    return 0;
  }
  RunSummary summary("char_gpt", argc, argv);
  const std::string path = flags.str("data").empty() ? default_shakespeare_path() : flags.str("data");
  const CharCorpus text = read_char_corpus(path);
  const auto [train_text, validation] = split_corpus(text, 0.9);

  Settings s;
  const auto sizes = [&](const std::string& flag) {
    const auto v = examples::integer_list(flags, flag, 4, "d,layers,heads,context");
    return models::CharTransformerConfig{.vocabulary = text.vocab_size(), .context = v[3], .dim = v[0], .layers = v[1],
                                         .heads = v[2], .head_dim = flags.integer("head-dim"),
                                         .dropout = flags.number("dropout")};
  };
  s.small = sizes("small");
  s.big = sizes("big");
  require(s.big.dim >= s.small.dim && s.big.layers >= s.small.layers && s.big.heads >= s.small.heads &&
              s.big.context >= s.small.context,
          "--big must be at least --small in every size");
  s.steps = flags.integer("steps");
  s.grow_at = static_cast<std::int64_t>(flags.number("grow-at") * static_cast<double>(s.steps));
  s.batch = flags.integer("batch");
  s.lr = flags.number("lr");
  s.warmup = flags.integer("warmup");
  s.eval_every = flags.integer("eval-every");
  s.eval_windows = flags.integer("eval-windows");
  s.fade_steps = flags.integer("fade-steps");
  require(s.steps > 0 && s.grow_at > 0 && s.grow_at < s.steps && s.eval_every > 0, "--steps, --grow-at and --eval-every "
          "must give 0 < grow step < steps");

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
  std::printf("netgrow char GPT: %s, %td training / %td validation characters, vocabulary %td\n", path.c_str(),
              train_text.size(), validation.size(), text.vocab_size());
  {
    Rng unused(0);
    Model small(s.small, unused), big(s.big, unused);
    std::printf("small %s (%td parameters) -> big %s (%td parameters), %lld steps of %td windows, growth at step %lld, "
                "Adam lr %g (warm-up %lld, cosine), %d seed(s)\n\n",
                examples::transformer_sizes(small).c_str(), small.net().parameter_count(), examples::transformer_sizes(big).c_str(), big.net().parameter_count(),
                static_cast<long long>(s.steps), s.batch, static_cast<long long>(s.grow_at), s.lr,
                static_cast<long long>(s.warmup), seeds);
  }

  std::map<std::string, std::vector<examples::ComparisonRun>> runs;
  std::vector<std::pair<std::string, bool>> table;
  for (const auto& m : methods) {
    table.emplace_back(m.name, m.grows);
    for (int seed = 0; seed < seeds; ++seed)
      runs[m.name].push_back(train(train_text, validation, s, m, static_cast<std::uint64_t>(seed),
                                   examples::progress_options(flags, m.name + " seed " + std::to_string(seed), s.batch)));
  }
  summary["config"] = {{"data", path},           {"steps", s.steps},         {"grow_step", s.grow_at},
                       {"batch", s.batch},       {"lr", s.lr},               {"warmup", s.warmup},
                       {"small", flags.str("small")}, {"big", flags.str("big")}, {"head_dim", flags.integer("head-dim")},
                       {"fade_steps", s.fade_steps}, {"dropout", s.small.dropout},
                       {"seeds", seeds},         {"eval_windows", s.eval_windows}};
  examples::report_comparison(table, runs, {.name = "val bits/char", .key = "val_bits", .curve_column = "val_bits"},
                              flags, "char GPT on Tiny Shakespeare", summary);
  const std::string out = flags.str("out");
  summary.write(out + "_summary.json");
  std::printf("summary written to %s_summary.json\n", out.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "char_gpt: %s\n", e.what());
  return 1;
}
