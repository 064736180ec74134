// examples/transformer_tour: the README's "Transformers that grow" section as a program, on a tiny
// character model and random ids: a few Adam steps, then every growth the section shows (context, model
// width by LEMON, MLP neurons by GradMax, heads by HeadsGradMax, a zero-output block, LEMON's copies),
// each checked to keep the logits, then G_stack (which does not) and MSG's masked growth with its fade.
// Exits 0 when every function-preserving growth kept the logits (float rounding) and the fade ended.
#include <netgrow/grow.hpp>
#include <netgrow/models/char_transformer.hpp>
#include <netgrow/network/loss.hpp>
#include <netgrow/optim/adam.hpp>

#include <cmath>
#include <cstdio>

using namespace netgrow;

int main() try {
  Rng rng(7);
  models::CharTransformer<float> gpt({.vocabulary = 65, .context = 8, .dim = 16, .layers = 2, .heads = 2, .head_dim = 8},
                                     rng);
  Tensor<float> x(Shape{4, 8}), grad;
  Tensor<std::int32_t> y(Shape{4, 8});
  for (Index i = 0; i < x.numel(); ++i) {
    x[i] = static_cast<float>(rng.uniform_int(65));
    y[i] = static_cast<std::int32_t>(rng.uniform_int(65));
  }
  Adam adam(1e-3);
  const auto refresh = [&] {  // forward, loss, backward: what data-driven growth reads
    const auto logits = gpt.net().forward(x);
    grad.resize(logits.shape());
    const double loss = SequenceCrossEntropy{}(logits, y, grad).loss;
    gpt.net().backward(grad);
    return loss;
  };
  for (int step = 0; step < 5; ++step) {
    refresh();
    adam.step(gpt.net());
  }
  Tensor<float> before;
  before.copy_from(gpt.net().forward(x, Mode::eval));
  bool kept = true;
  const auto check = [&](const char* what) {  // the logits must not move (float rounding aside)
    const auto after = gpt.net().forward(x, Mode::eval);
    double worst = 0;
    for (Index i = 0; i < after.numel(); ++i) worst = std::max(worst, std::abs(double(after[i]) - double(before[i])));
    std::printf("%-44s max |logit change| %.2e, %td parameters\n", what, worst, gpt.net().parameter_count());
    kept = kept && worst < 1e-4;
  };

  gpt.grow_context(16, rng);
  check("context 8 -> 16");
  gpt.expand_width(32, rng);
  check("d 16 -> 32 (LEMON through every LayerNorm)");
  refresh();
  for (std::size_t b = 0; b < gpt.depth(); ++b) {
    auto& block = gpt.blocks().block(b);
    grow::grow_mlp(block, 64, grow::GradMax{}, rng, grow::mlp_data_from_last_backward(block));
  }
  check("MLP 64 -> 128 per block (GradMax)");
  refresh();
  for (std::size_t b = 0; b < gpt.depth(); ++b) {
    auto& block = gpt.blocks().block(b);
    grow::grow_heads(block.attention(), 2, grow::HeadsGradMax{}, rng, grow::head_data_from_last_backward(block));
  }
  check("heads 2 -> 4 per block (HeadsGradMax)");
  grow::grow_depth(gpt.blocks(), 1, grow::DepthZero{}, rng);
  check("a zero-output block at position 1");
  grow::expand_depth(gpt.blocks(), 6);
  check("depth 3 -> 6 (LEMON's zero-output copies)");

  // MSG: random new units, each multiplied by a mask rising 0 -> 1 over 10 steps.
  gpt.expand_width(48, rng, grow::Msg{.fade_steps = 10});
  grow::grow_heads_masked(gpt.blocks().block(0).attention(), 1, grow::Msg{.fade_steps = 10}, rng);
  check("MSG: d 32 -> 48 and a head, masked");
  int steps = 0;
  while (grow::fading(gpt.net())) {
    refresh();
    adam.step(gpt.net());
    grow::advance_fades(gpt.net());
    ++steps;
  }
  std::printf("MSG's masks reached 1 after %d steps; loss %.3f\n", steps, refresh());

  before.copy_from(gpt.net().forward(x, Mode::eval));
  grow::stack_copies(gpt.blocks(), 2);
  const auto stacked = gpt.net().forward(x, Mode::eval);
  double moved = 0;
  for (Index i = 0; i < stacked.numel(); ++i) moved = std::max(moved, std::abs(double(stacked[i]) - double(before[i])));
  kept = kept && gpt.depth() == 12;
  std::printf("G_stack: depth 6 -> %zu by stacked copies, not function-preserving: max |logit change| %.2e\n",
              gpt.depth(), moved);
  std::printf(kept && steps == 10 ? "every function-preserving growth kept the logits\n" : "FAILED\n");
  return kept && steps == 10 ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "transformer_tour: %s\n", e.what());
  return 1;
}
