// bench/cpu/bench_transformer.cpp: transformer training steps and the cost of each transformer growth
// operation, the rows bench/compare/transformer_torch.py times beside PyTorch:
//
//   char_gpt_big_step     models::CharTransformer d 128, 4 layers, 4 heads x 32, MLP 512, causal, context
//                         128, vocabulary 65, batch 32: forward, sequence cross-entropy, backward, Adam
//   char_gpt_dropout_step  the same with residual dropout 0.1 in every block
//   vit_big_step          models::Vit d 64, 4 layers, 4 heads x 16, MLP 256, 7 x 7 patches of 28 x 28 images
//                         (16 tokens + class token), batch 64: forward, cross-entropy, backward, Adam
//   grow_*                one growth of the small char model (d 64, 2 layers, 2 heads, context 64) to the
//                         big one's size in that dimension, on a fresh model each time (building it and the
//                         grow batch's forward and backward are not timed): width d by LEMON and by MSG,
//                         MLP width of every block by LEMON and GradMax, heads of every block by HeadsCopy
//                         and HeadsGradMax, depth 2 -> 4 by expand_depth (LEMON)
//   dropout_forward       Dropout p = 0.1 in training mode on the big char model's residual stream
//                         (32, 128, 128) floats, a new mask each call (one hash per element)
//
// Steps are validated first (a few steps must lower the loss). Threads: OMP_NUM_THREADS.
#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include "netgrow/core/init.hpp"
#include "netgrow/grow/depth.hpp"
#include "netgrow/grow/gradmax.hpp"
#include "netgrow/grow/lemon.hpp"
#include "netgrow/grow/msg.hpp"
#include "netgrow/grow/transformer.hpp"
#include "netgrow/layers/dropout.hpp"
#include "netgrow/models/char_transformer.hpp"
#include "netgrow/models/vit.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/optim/adam.hpp"

using namespace netgrow;

namespace {

models::CharTransformerConfig char_config(bool big, double dropout = 0) {
  return big ? models::CharTransformerConfig{.vocabulary = 65, .context = 128, .dim = 128, .layers = 4, .heads = 4,
                                             .head_dim = 32, .dropout = dropout}
             : models::CharTransformerConfig{.vocabulary = 65, .context = 64, .dim = 64, .layers = 2, .heads = 2,
                                             .head_dim = 32, .dropout = dropout};
}

void random_ids(Tensor<float>& x, Tensor<std::int32_t>& y, Index batch, Index context, Rng& rng) {
  x.resize(Shape{batch, context});
  y.resize(Shape{batch, context});
  for (Index i = 0; i < x.numel(); ++i) {
    x.data()[i] = static_cast<float>(rng.uniform_int(65));
    y.data()[i] = static_cast<std::int32_t>(rng.uniform_int(65));
  }
}

template <int DropoutPercent = 0>
struct CharStep {
  Rng rng{1};
  models::CharTransformer<float> model{char_config(true, DropoutPercent / 100.0), rng};
  Adam adam{1e-3};
  Tensor<float> x, grad;
  Tensor<std::int32_t> y;
  CharStep() {
    random_ids(x, y, 32, 128, rng);
    // A learnable target: the next token is the current one, so the loss falls within a few steps.
    for (Index i = 0; i < y.numel(); ++i) y.data()[i] = static_cast<std::int32_t>(x.data()[i]);
  }
  double step() {
    const auto logits = model.net().forward(x);
    grad.resize(logits.shape());
    const double loss = SequenceCrossEntropy{}(logits, y, grad).loss;
    model.net().backward(grad);
    adam.step(model.net());
    return loss;
  }
};

struct VitStep {
  Rng rng{2};
  models::Vit<float> model{models::VitConfig{.dim = 64, .layers = 4, .heads = 4, .head_dim = 16}, rng};
  Adam adam{1e-3};
  Tensor<float> x{Shape{64, 1, 28, 28}}, grad;
  Tensor<std::int32_t> y{Shape{64}};
  VitStep() {
    fill_normal(x.view(), 0.0, 1.0, rng);
    for (Index i = 0; i < y.numel(); ++i) y[i] = static_cast<std::int32_t>(rng.uniform_int(10));
  }
  double step() {
    const auto logits = model.net().forward(x);
    grad.resize(logits.shape());
    const double loss = SoftmaxCrossEntropy{}(logits, y, grad).loss;
    model.net().backward(grad);
    adam.step(model.net());
    return loss;
  }
};

template <class Step>
void run_step(benchmark::State& state, const char* name, Index samples) {
  Step s;
  const double first = s.step();
  double last = first;
  for (int i = 0; i < 5; ++i) last = s.step();
  if (!(std::isfinite(last) && last < first)) throw std::runtime_error(std::string(name) + ": the loss did not fall");
  for (auto _ : state) benchmark::DoNotOptimize(s.step());
  state.SetItemsProcessed(state.iterations() * samples);
}

// A small char model after a forward and backward on a batch of 16 x 64 (what data-driven growth reads).
struct Small {
  Rng rng{3};
  models::CharTransformer<float> model{char_config(false), rng};
  Small() {
    Tensor<float> x, grad;
    Tensor<std::int32_t> y;
    random_ids(x, y, 16, 64, rng);
    const auto logits = model.net().forward(x);
    grad.resize(logits.shape());
    SequenceCrossEntropy{}(logits, y, grad);
    model.net().backward(grad);
  }
};

template <class Grow>
void run_growth(benchmark::State& state, Grow grow) {
  for (auto _ : state) {
    state.PauseTiming();
    auto small = std::make_unique<Small>();
    state.ResumeTiming();
    grow(small->model, small->rng);
    state.PauseTiming();
    small.reset();
    state.ResumeTiming();
  }
}

using Model = models::CharTransformer<float>;

}  // namespace

static void char_gpt_big_step(benchmark::State& s) { run_step<CharStep<>>(s, "char_gpt_big_step", 32); }
static void char_gpt_dropout_step(benchmark::State& s) {
  run_step<CharStep<10>>(s, "char_gpt_dropout_step", 32);
}
BENCHMARK(char_gpt_dropout_step)->Unit(benchmark::kMillisecond)->UseRealTime();
static void vit_big_step(benchmark::State& s) { run_step<VitStep>(s, "vit_big_step", 64); }
BENCHMARK(char_gpt_big_step)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(vit_big_step)->Unit(benchmark::kMillisecond)->UseRealTime();

static void dropout_forward(benchmark::State& s) {
  Rng rng(5);
  DropoutLayer<float, Cpu> layer(Dropout{.p = 0.1}, rng);
  Tensor<float> x(Shape{32, 128, 128}), y(x.shape());
  fill_normal(x.view(), 0.0, 1.0, rng);
  layer.forward(x.cview(), y.view(), Mode::train);
  Index dropped = 0;
  for (Index i = 0; i < y.numel(); ++i) dropped += y[i] == 0.0f;
  const double rate = static_cast<double>(dropped) / static_cast<double>(y.numel());
  if (std::abs(rate - 0.1) > 0.005) throw std::runtime_error("dropout_forward: dropped " + std::to_string(rate));
  for (auto _ : s) {
    layer.forward(x.cview(), y.view(), Mode::train);
    benchmark::DoNotOptimize(y.data());
  }
  s.SetBytesProcessed(s.iterations() * 2 * x.numel() * static_cast<std::int64_t>(sizeof(float)));
}
BENCHMARK(dropout_forward)->Unit(benchmark::kMillisecond)->UseRealTime();

static void grow_width_lemon(benchmark::State& s) {
  run_growth(s, [](Model& m, Rng& rng) { m.expand_width(128, rng); });
}
static void grow_width_msg(benchmark::State& s) {
  run_growth(s, [](Model& m, Rng& rng) { m.expand_width(128, rng, grow::Msg{.fade_steps = 100}); });
}
static void grow_mlp_lemon(benchmark::State& s) {
  run_growth(s, [](Model& m, Rng& rng) {
    for (std::size_t b = 0; b < m.blocks().size(); ++b) grow::grow_mlp(m.blocks().block(b), 256, grow::Lemon{}, rng);
  });
}
static void grow_mlp_gradmax(benchmark::State& s) {
  run_growth(s, [](Model& m, Rng& rng) {
    for (std::size_t b = 0; b < m.blocks().size(); ++b) {
      auto& block = m.blocks().block(b);
      grow::grow_mlp(block, 256, grow::GradMax{}, rng, grow::mlp_data_from_last_backward(block));
    }
  });
}
static void grow_heads_copy(benchmark::State& s) {
  run_growth(s, [](Model& m, Rng& rng) {
    for (std::size_t b = 0; b < m.blocks().size(); ++b) grow::grow_heads(m.blocks().block(b).attention(), 2, grow::HeadsCopy{}, rng);
  });
}
static void grow_heads_gradmax(benchmark::State& s) {
  run_growth(s, [](Model& m, Rng& rng) {
    for (std::size_t b = 0; b < m.blocks().size(); ++b) {
      auto& block = m.blocks().block(b);
      grow::grow_heads(block.attention(), 2, grow::HeadsGradMax{}, rng, grow::head_data_from_last_backward(block));
    }
  });
}
static void grow_depth_lemon(benchmark::State& s) {
  run_growth(s, [](Model& m, Rng&) { grow::expand_depth(m.blocks(), 4); });
}
BENCHMARK(grow_width_lemon)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(grow_width_msg)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(grow_mlp_lemon)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(grow_mlp_gradmax)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(grow_heads_copy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(grow_heads_gradmax)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(grow_depth_lemon)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
