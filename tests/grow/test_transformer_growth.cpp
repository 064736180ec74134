// Tests grow/transformer.hpp, grow/heads.hpp and grow/gstack.hpp on a small causal character model
// (Embedding, PositionalEmbedding, Stack<TransformerBlock>, LayerNorm, Dense) in double, after a few
// Adam steps: MLP width with every width initializer, heads (random, GradMax, copies), depth (zero-output
// blocks, LEMON copies) keep the logits exactly in both modes and carry Adam's moments; GradMax's
// predicted gradients are the ones the next backward computes; G_stack changes the function and says so;
// bad requests throw and change nothing; a grown model round-trips through a checkpoint.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "netgrow/blocks/stack.hpp"
#include "netgrow/blocks/transformer_block.hpp"
#include "netgrow/data/char_corpus.hpp"
#include "netgrow/grow/depth.hpp"
#include "netgrow/grow/gradmax.hpp"
#include "netgrow/grow/gstack.hpp"
#include "netgrow/grow/heads.hpp"
#include "netgrow/grow/lemon.hpp"
#include "netgrow/grow/random.hpp"
#include "netgrow/grow/split.hpp"
#include "netgrow/grow/transformer.hpp"
#include "netgrow/grow/variance_transfer.hpp"
#include "netgrow/io/checkpoint.hpp"
#include "netgrow/layers/embedding.hpp"
#include "netgrow/layers/positional_embedding.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/network/sequential.hpp"
#include "netgrow/optim/adam.hpp"
#include "support/growth.hpp"

using namespace netgrow;

namespace {

using CharModel = Sequential<double, Cpu, Embedding, PositionalEmbedding, Stack<TransformerBlock>, LayerNorm, Dense>;

const char* const kText =
    "First Citizen: Before we proceed any further, hear me speak. All: Speak, speak. First Citizen: You are all "
    "resolved rather to die than to famish? All: Resolved. resolved.";

// A 2-block model (d 8, 2 heads x 4, mlp 16, context 12, residual dropout `dropout`) trained a few Adam
// steps on a fixed batch.
struct CharFixture {
  CharCorpus text = char_corpus_from_text(kText);
  Rng rng{7};
  CharModel net;
  Adam adam{1e-2};
  Tensor<double> x, grad;
  Tensor<std::int32_t> y;

  static TransformerBlock block_kind(double dropout) {
    return TransformerBlock{.dim = 8, .heads = 2, .head_dim = 4, .mlp = 16, .causal = true, .dropout = dropout};
  }
  explicit CharFixture(double dropout = 0)
      : net(rng, Embedding{.vocabulary = text.vocab_size(), .dim = 8}, PositionalEmbedding{.context = 12, .dim = 8},
            Stack<TransformerBlock>{{block_kind(dropout), block_kind(dropout)}}, LayerNorm{.features = 8},
            Dense{.in = 8, .out = text.vocab_size()}) {
    sample_windows(text, 6, 12, rng, x, y);
    for (int i = 0; i < 5; ++i) {
      refresh();
      adam.step(net);
    }
  }
  // Forward, loss, backward on the batch.
  double refresh() {
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    const double loss = SequenceCrossEntropy{}(logits, y, grad).loss;
    net.backward(grad);
    return loss;
  }
  Tensor<double> logits(Mode mode) {
    Tensor<double> out;
    out.copy_from(net.forward(x, mode));
    return out;
  }
  TransformerBlockLayer<double, Cpu>& block(std::size_t i) { return net.layer<2>().block(i); }
  // Every block keeps its current dropout masks (or draws new ones again).
  void hold_masks(bool hold) {
    for (std::size_t i = 0; i < net.layer<2>().size(); ++i) block(i).hold_dropout_masks(hold);
  }
};

// Both modes' logits before `grow`, compared after it (exact up to the summation order of copies).
template <class F>
void check_keeps_logits(CharFixture& f, F&& grow, double tolerance = 1e-12) {
  const Tensor<double> train = f.logits(Mode::train), eval = f.logits(Mode::eval);
  grow();
  CHECK(test::max_abs_diff(f.logits(Mode::train).cview(), train.cview()) <= tolerance);
  CHECK(test::max_abs_diff(f.logits(Mode::eval).cview(), eval.cview()) <= tolerance);
}

// Every trainable parameter's Adam moments have its value's shape.
void check_adam_state(CharModel& net) {
  net.visit_parameters([&](const std::string& name, Parameter<double, Cpu>& p) {
    if (!p.trainable) return;
    CAPTURE(name);
    REQUIRE(p.state.size() == 2);
    CHECK(p.state[0].shape() == p.value.shape());
    CHECK(p.state[1].shape() == p.value.shape());
  });
}

}  // namespace

TEST_CASE_TEMPLATE("MLP width inside a block: every width initializer keeps the logits and carries Adam's moments",
                   Init, grow::GradMax, grow::Random, grow::Split, grow::Lemon, grow::VarianceTransfer) {
  CharFixture f;
  f.refresh();
  const grow::GrowthData<double> data = grow::mlp_data_from_last_backward(f.block(1));
  check_keeps_logits(f, [&] {
    const grow::GrowthReport r = grow::grow_mlp(f.block(1), 5, Init{}, f.rng, data);
    CHECK(r.old_width == 16);
    CHECK(r.new_width == 21);
  });
  CHECK(f.block(1).kind().mlp == 21);
  CHECK(f.block(1).describe() == "TransformerBlock(8, 2 heads x 4, mlp 21, causal)");
  check_adam_state(f.net);
  // The old moments are kept, the new ones are zero.
  const auto& m = f.block(1).fc1().weight().state[0];
  double old_part = 0, new_part = 0;
  for (Index r = 0; r < 21; ++r)
    for (Index c = 0; c < 8; ++c) (r < 16 ? old_part : new_part) += std::abs(m.at(r, c));
  CHECK(old_part > 0);
  CHECK(new_part == 0);
  f.refresh();
  f.adam.step(f.net);  // and the optimizer steps on the grown model
}

TEST_CASE("GradMax MLP growth: the new fc1 rows get the gradient (1/2) O M, of the SVD's norm") {
  CharFixture f;
  f.refresh();
  auto& block = f.block(0);
  const grow::GrowthData<double> data = grow::mlp_data_from_last_backward(block);
  // M = sum over (N T) rows of dz h^T with h = LN2's output (d = 8) and dz = dL/d(fc2 output) (8).
  REQUIRE(data.inputs().shape() == Shape{6 * 12, 8});
  const grow::GrowthReport r = grow::grow_mlp(block, 3, grow::GradMax{}, f.rng, data);
  REQUIRE(r.singular_values.size() == 3);
  f.refresh();
  const auto& fc1 = block.fc1().weight().grad;   // (19, 8)
  const auto& fc2 = block.fc2().weight().value;  // (8, 19)
  const double c = test::cols_norm(fc2.cview(), 16, 1);  // every new outgoing column has the same norm
  double s2 = 0;
  for (double s : r.singular_values) s2 += s * s;
  CHECK(test::rows_norm(fc1.cview(), 16, 3) == doctest::Approx(0.5 * c * std::sqrt(s2)).epsilon(1e-9));
}

TEST_CASE_TEMPLATE("heads: random, GradMax and copies keep the logits; Adam's moments follow", Init, grow::HeadsRandom,
                   grow::HeadsGradMax, grow::HeadsCopy) {
  CharFixture f;
  f.refresh();
  const grow::HeadData<double> data = grow::head_data_from_last_backward(f.block(0));
  check_keeps_logits(f, [&] {
    const grow::HeadReport r = grow::grow_heads(f.block(0).attention(), 3, Init{}, f.rng, data);
    CHECK(r.old_heads == 2);
    CHECK(r.new_heads == 5);
  });
  CHECK(f.block(0).attention().heads() == 5);
  CHECK(f.block(0).kind().heads == 5);
  CHECK(f.block(0).attention().query().weight().value.shape() == Shape{20, 8});
  CHECK(f.block(0).attention().output().weight().value.shape() == Shape{8, 20});
  check_adam_state(f.net);
  f.refresh();
  f.adam.step(f.net);
}

TEST_CASE("HeadsCopy with symmetric noise (HyperCloning) keeps the logits; the split columns differ") {
  CharFixture f;
  auto& attention = f.block(1).attention();
  const Tensor<double> before = attention.output().weight().value.clone();
  check_keeps_logits(f, [&] { grow::grow_heads(attention, 2, grow::HeadsCopy{.noise = 0.5}, f.rng); }, 1e-12);
  const auto& wo = attention.output().weight().value;  // (8, 16): head 2 copies head 0, head 3 head 1
  for (Index r = 0; r < 8; ++r)
    for (Index c = 0; c < 8; ++c) {
      CHECK(wo.at(r, c) + wo.at(r, 8 + c) == doctest::Approx(before.at(r, c)).epsilon(1e-12));
      CHECK(wo.at(r, c) != wo.at(r, 8 + c));
    }
  const auto& wq = attention.query().weight().value;
  for (Index r = 0; r < 8; ++r)
    for (Index c = 0; c < 8; ++c) CHECK(wq.at(8 + r, c) == wq.at(r, c));
}

TEST_CASE("GradMax heads: the next backward gives the zero output columns the predicted gradient M V^T") {
  CharFixture f;
  f.refresh();
  auto& attention = f.block(1).attention();
  const grow::HeadData<double> data = grow::head_data_from_last_backward(f.block(1));
  const grow::HeadReport r = grow::grow_heads(attention, 2, grow::HeadsGradMax{}, f.rng, data);
  REQUIRE(r.singular_values.size() == 8);
  CHECK(r.predicted_gradient_norm > 0);
  f.refresh();
  const auto& g = attention.output().weight().grad;  // (8, 16): columns 8..15 belong to the new heads
  double new_norm2 = 0;
  for (Index row = 0; row < 8; ++row)
    for (Index c = 8; c < 16; ++c) new_norm2 += g.at(row, c) * g.at(row, c);
  CHECK(std::sqrt(new_norm2) == doctest::Approx(r.predicted_gradient_norm).epsilon(1e-9));
  // The value rows are orthogonal within a head (singular vectors), of equal norm.
  const auto& v = attention.value().weight().value;
  for (Index a = 8; a < 12; ++a)
    for (Index b = a + 1; b < 12; ++b) {
      double dot = 0;
      for (Index c = 0; c < 8; ++c) dot += v.at(a, c) * v.at(b, c);
      CHECK(std::abs(dot) < 1e-10);
    }

  // Random heads with the same norms get a smaller first gradient on this batch.
  CharFixture g2;
  g2.refresh();
  auto& random_attention = g2.block(1).attention();
  grow::grow_heads(random_attention, 2, grow::HeadsRandom{}, g2.rng);
  g2.refresh();
  const auto& gr = random_attention.output().weight().grad;
  double random_norm2 = 0;
  for (Index row = 0; row < 8; ++row)
    for (Index c = 8; c < 16; ++c) random_norm2 += gr.at(row, c) * gr.at(row, c);
  CHECK(std::sqrt(random_norm2) < std::sqrt(new_norm2));
}

TEST_CASE_TEMPLATE("depth: a zero-output transformer block keeps the logits at every position", Init, grow::DepthZero,
                   grow::DepthRandom, grow::DepthGradMax) {
  for (std::size_t index : {0u, 1u, 2u}) {
    CAPTURE(index);
    CharFixture f;
    f.refresh();
    auto& stack = f.net.layer<2>();
    const grow::DepthData<double> data = grow::depth_data_from_last_backward(stack, index);
    check_keeps_logits(f, [&] {
      const grow::DepthReport r = grow::grow_depth(stack, index, Init{}, f.rng, data);
      CHECK(r.new_depth == 3);
    });
    CHECK(stack.block(index).kind().mlp == 16);
    check_adam_state(f.net);
    f.refresh();
    f.adam.step(f.net);
  }
}

TEST_CASE("depth: LEMON's zero-output copies in both orders keep the logits; G_stack does not and says so") {
  for (const auto order : {grow::LemonDepthOrder::interpolation, grow::LemonDepthOrder::stack}) {
    CharFixture f;
    check_keeps_logits(f, [&] { grow::expand_depth(f.net.layer<2>(), 4, order); });
    CHECK(f.net.layer<2>().size() == 4);
    check_adam_state(f.net);
  }
  CharFixture f;
  const Tensor<double> before = f.logits(Mode::eval);
  const grow::DepthReport r = grow::stack_copies(f.net.layer<2>(), 2);
  CHECK(r.old_depth == 2);
  CHECK(r.new_depth == 4);
  CHECK(test::max_abs_diff(f.logits(Mode::eval).cview(), before.cview()) > 1e-3);
  // Copies in order b1 b2 b1 b2, values equal, fresh (zero) optimizer state.
  auto& stack = f.net.layer<2>();
  CHECK(test::max_abs_diff(stack.block(2).fc1().weight().value.cview(), stack.block(0).fc1().weight().value.cview()) == 0);
  CHECK(test::max_abs_diff(stack.block(3).attention().key().weight().value.cview(),
                           stack.block(1).attention().key().weight().value.cview()) == 0);
  check_adam_state(f.net);
  CHECK(ops::squared_norm<double>(stack.block(3).fc2().weight().state[1].cview()) == 0);
  CHECK_THROWS_AS(grow::stack_copies(stack, 0), ArgumentError);
}

TEST_CASE("bad head growth throws and changes nothing") {
  CharFixture f;
  auto& attention = f.block(0).attention();
  const Tensor<double> before = f.logits(Mode::eval);
  CHECK_THROWS_AS(grow::grow_heads(attention, -1, grow::HeadsRandom{}, f.rng), ArgumentError);
  CHECK_THROWS_WITH_AS(grow::grow_heads(attention, 1, grow::HeadsGradMax{}, f.rng), doctest::Contains("grow batch"),
                       ArgumentError);
  const Tensor<double> wrong(Shape{2, 3, 5});
  CHECK_THROWS_AS(grow::grow_heads(attention, 1, grow::HeadsGradMax{}, f.rng, {wrong.cview(), wrong.cview()}), ShapeError);
  NewHeads<double, Cpu> other_dim;  // heads of another head dimension do not fit
  other_dim.count = 1;
  for (Tensor<double>* w : {&other_dim.query, &other_dim.key, &other_dim.value, &other_dim.output})
    *w = Tensor<double>(Shape{3, 8});
  CHECK_THROWS_AS(attention.grow_heads(other_dim), ShapeError);
  CHECK(attention.heads() == 2);
  CHECK(test::max_abs_diff(f.logits(Mode::eval).cview(), before.cview()) == 0);
}

TEST_CASE("a grown character model round-trips through a checkpoint into one built at seed size") {
  CharFixture f;
  f.refresh();
  grow::grow_mlp(f.block(0), 4, grow::GradMax{}, f.rng, grow::mlp_data_from_last_backward(f.block(0)));
  f.refresh();
  grow::grow_heads(f.block(1).attention(), 1, grow::HeadsGradMax{}, f.rng, grow::head_data_from_last_backward(f.block(1)));
  f.refresh();
  grow::grow_depth(f.net.layer<2>(), 1, grow::DepthGradMax{}, f.rng, grow::depth_data_from_last_backward(f.net.layer<2>(), 1));
  f.refresh();
  f.adam.step(f.net);
  const Tensor<double> grown = f.logits(Mode::eval);
  const auto path = std::filesystem::temp_directory_path() / "netgrow_test_transformer_growth.safetensors";
  io::save_checkpoint(path, f.net);
  CharFixture fresh;
  io::load_checkpoint(path, fresh.net);
  std::filesystem::remove(path);
  CHECK(fresh.net.layer<2>().size() == 3);
  CHECK(fresh.block(0).kind().mlp == 20);
  CHECK(fresh.block(2).attention().heads() == 3);
  CHECK(test::max_abs_diff(fresh.logits(Mode::eval).cview(), grown.cview()) == 0);
}

TEST_CASE("with residual dropout (masks held) every growth keeps the training-mode logits: MLP width, heads, model "
          "width by LEMON's copies and by MSG, depth; LEMON's averages are refused, the model unchanged") {
  CharFixture f(0.25);
  f.refresh();
  f.hold_masks(true);
  SUBCASE("MLP width by GradMax") {
    const grow::GrowthData<double> data = grow::mlp_data_from_last_backward(f.block(1));
    check_keeps_logits(f, [&] { grow::grow_mlp(f.block(1), 5, grow::GradMax{}, f.rng, data); });
  }
  SUBCASE("heads by GradMax") {
    const grow::HeadData<double> data = grow::head_data_from_last_backward(f.block(0));
    check_keeps_logits(f, [&] { grow::grow_heads(f.block(0).attention(), 2, grow::HeadsGradMax{}, f.rng, data); });
  }
  SUBCASE("model width by LEMON: 8 -> 16, copies dropped where their sources are") {
    check_keeps_logits(f, [&] { grow::expand_stream(f.net, 16, grow::Lemon{}, f.rng); });
    CHECK(f.block(1).kind().dropout_keys == std::vector<Index>{0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7});
  }
  SUBCASE("model width by MSG: 8 -> 13") {
    check_keeps_logits(f, [&] { grow::expand_stream(f.net, 13, grow::Msg{.fade_steps = 3}, f.rng); });
  }
  SUBCASE("model width by LEMON: 8 -> 13 needs averages, refused") {
    const Index before = f.net.parameter_count();
    CHECK_THROWS_AS(grow::expand_stream(f.net, 13, grow::Lemon{}, f.rng), ArchitectureError);
    CHECK(f.net.parameter_count() == before);
    CHECK(f.block(0).kind().dropout_keys.empty());
  }
  SUBCASE("depth: a zero-output block with a stream of its own") {
    auto& stack = f.net.layer<2>();
    const grow::DepthData<double> data = grow::depth_data_from_last_backward(stack, 1);
    check_keeps_logits(f, [&] { grow::grow_depth(stack, 1, grow::DepthGradMax{}, f.rng, data); });
    CHECK(f.block(1).kind().dropout == 0.25);
    CHECK(f.block(1).kind().dropout_seed != f.block(0).kind().dropout_seed);
  }
  // And the model trains on, drawing new masks: 6 before the growth (5 steps and the grow batch), 1 now.
  f.hold_masks(false);
  CHECK(std::isfinite(f.refresh()));
  f.adam.step(f.net);
  CHECK(f.block(0).kind().dropout_draws == 7);
}

TEST_CASE("a character model with residual dropout resumes from its checkpoint: streams, counts and keys restored") {
  CharFixture f(0.2);
  grow::expand_stream(f.net, 16, grow::Lemon{}, f.rng);
  f.refresh();
  f.adam.step(f.net);
  const auto path = std::filesystem::temp_directory_path() / "netgrow_test_transformer_dropout.safetensors";
  io::save_checkpoint(path, f.net);
  CharFixture fresh(0.2);  // seed width, other streams drawn after its own training
  io::load_checkpoint(path, fresh.net);
  std::filesystem::remove(path);
  for (std::size_t b = 0; b < 2; ++b) {
    CAPTURE(b);
    CHECK(fresh.block(b).kind().dropout_seed == f.block(b).kind().dropout_seed);
    CHECK(fresh.block(b).kind().dropout_draws == f.block(b).kind().dropout_draws);
    CHECK(fresh.block(b).kind().dropout_keys == f.block(b).kind().dropout_keys);
  }
  // The next training-mode forward draws the same masks in both.
  CHECK(test::max_abs_diff(fresh.logits(Mode::train).cview(), f.logits(Mode::train).cview()) == 0);
}

TEST_CASE("a checkpoint written before the blocks had dropout fields still loads (as dropout 0)") {
  CharFixture f;
  io::Safetensors st = io::make_checkpoint(f.net);
  auto architecture = nlohmann::json::parse(st.metadata.at("netgrow.architecture"));
  for (auto& block : architecture[2]["config"]["blocks"])
    for (const char* added : {"dropout", "dropout_seed", "dropout_draws", "dropout_keys"}) block.erase(added);
  st.metadata["netgrow.architecture"] = architecture.dump();
  CharFixture fresh;
  grow::grow_depth(fresh.net.layer<2>(), 1, grow::DepthZero{}, fresh.rng);  // a depth to rebuild from the file
  io::restore_checkpoint(st, fresh.net);
  CHECK(fresh.net.layer<2>().size() == 2);
  CHECK(fresh.block(0).kind().dropout == 0);
  CHECK(test::max_abs_diff(fresh.logits(Mode::eval).cview(), f.logits(Mode::eval).cview()) == 0);
}
