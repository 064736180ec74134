// The conv-family layers on Cuda against the same layers on Cpu (built from the same seed, same
// inputs), through the op facade: Conv2d, ConvTranspose2d, DepthwiseConv2d, BatchNorm (training and evaluation mode,
// running statistics), LayerNorm, MultiHeadAttention, TransformerBlock, Dropout (the same elements dropped), MaxPool2d, AvgPool2d, GlobalAvgPool,
// forward and backward, at odd
// sizes and at widths right after a growth step; and a small CNN trained a few SGD steps on both devices.
// Conv2d and ConvTranspose2d also on the implicit-GEMM path (cuda::ConvPath::implicit_gemm).
// Float only; tolerances (compare.hpp): `network` (2e-4 of the output scale) for layers whose CUDA path
// sums in another order (GEMMs, batch reductions), `elementwise` or exact where the order is the same.
#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <tuple>
#include <vector>

#include "cnn_twin.hpp"
#include "compare.hpp"
#include "layer_run.hpp"
#include "netgrow/backend/cuda/context.hpp"
#include "netgrow/layers/activation.hpp"

using namespace netgrow;
using test::difference;
using test::LayerRun;
using test::LayerRunOptions;

namespace {

using Tol = test::Tolerance<float>;

// Compares a Cuda run with its Cpu twin: outputs, input gradients, parameters and their gradients.
void check_twins(const LayerRun& gpu, const LayerRun& cpu, double tolerance) {
  CHECK(difference(gpu.y, cpu.y) <= tolerance);
  CHECK(difference(gpu.dx, cpu.dx) <= tolerance);
  REQUIRE(gpu.names == cpu.names);
  for (std::size_t i = 0; i < cpu.names.size(); ++i) {
    INFO("parameter ", cpu.names[i]);
    CHECK(difference(gpu.values[i], cpu.values[i]) <= tolerance);
    CHECK(difference(gpu.gradients[i], cpu.gradients[i]) <= tolerance);
  }
}

template <class Kind>
void check_layer(const Kind& kind, const Shape& in, std::uint64_t seed, const LayerRunOptions& options,
                 double tolerance, bool small_integer_input = false) {
  Rng rng(seed);
  Tensor<float> x = test::random_host<float>(in, rng);
  if (small_integer_input)  // ties inside pooling windows
    for (Index i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.uniform_int(3));
  Rng probe(seed + 1);
  layer_t<Kind, float, Cpu> shape_probe(kind, probe);
  const Tensor<float> dy = test::random_host<float>(shape_probe.output_shape(in), rng);
  const LayerRun cpu = test::run_layer<Kind, Cpu>(kind, seed + 2, x, dy, options);
  const LayerRun gpu = test::run_layer_on_cuda(kind, seed + 2, x, dy, options);
  check_twins(gpu, cpu, tolerance);
}


}  // namespace

TEST_CASE("Conv2d on Cuda matches Conv2d on Cpu (C_in 1, 3, 17, 19; kernel 1, 3, 5; stride 1, 2; padding 0, 1)") {
  std::uint64_t seed = 100;
  int variant = 0;
  for (Index in : {1, 3, 17, 19})  // 19: 16 channels + 3 grown
    for (Index k : {1, 3, 5})
      for (Index s : {1, 2})
        for (Index p : {0, 1}) {
          const Index out = std::initializer_list<Index>{1, 7, 19}.begin()[variant % 3];
          const Conv2d kind{.in = in, .out = out, .kernel = k, .stride = s, .padding = p, .bias = variant % 2 == 0};
          LayerRunOptions options;
          options.accumulate = variant % 4 == 1;
          options.input_grad = variant % 5 != 3;
          options.parameter_seed = variant % 3 == 0 ? 0 : seed;
          const Shape x{2 + variant % 2, in, 7, 9};
          INFO(kind.in, " -> ", kind.out, " k", k, " s", s, " p", p, " bias ", kind.bias, ", x ", x, ", accumulate ",
               options.accumulate, ", dx ", options.input_grad);
          check_layer(kind, x, seed++, options, Tol::network);
          ++variant;
        }
}

TEST_CASE("ConvTranspose2d on Cuda matches ConvTranspose2d on Cpu (kernel 3, 4; stride 1, 2; padding 0, 1)") {
  std::uint64_t seed = 700;
  int variant = 0;
  for (Index k : {3, 4})
    for (Index s : {1, 2})
      for (Index p : {0, 1}) {
        const ConvTranspose2d kind{.in = variant % 2 == 0 ? 3 : 17, .out = variant % 3 == 0 ? 1 : 5, .kernel = k,
                                   .stride = s, .padding = p, .output_padding = s - 1, .bias = variant % 2 == 1};
        LayerRunOptions options;
        options.accumulate = variant % 4 == 1;
        options.input_grad = variant % 5 != 3;
        options.parameter_seed = seed;
        const Shape x{2, kind.in, 5, 7};
        INFO(kind.in, " -> ", kind.out, " k", k, " s", s, " p", p, ", x ", x);
        check_layer(kind, x, seed++, options, Tol::network);
        ++variant;
      }
}

// The implicit-GEMM convolutions (kernels/conv_implicit.cuh) on the same geometries as the two cases above,
// and a batch whose weight gradient splits its N Ho Wo = 8100 values into 3 k ranges (partial tiles
// summed in order).
TEST_CASE("Conv2d and ConvTranspose2d on the implicit-GEMM path match the Cpu, split-k weight gradient included") {
  const cuda::ConvPathScope implicit(cuda::ConvPath::implicit_gemm);
  std::uint64_t seed = 800;
  int variant = 0;
  for (Index in : {1, 3, 17, 19})
    for (Index k : {1, 3, 5})
      for (Index s : {1, 2})
        for (Index p : {0, 1}) {
          const Index out = std::initializer_list<Index>{1, 7, 19, 70}.begin()[variant % 4];  // 70: two row tiles
          const Conv2d kind{.in = in, .out = out, .kernel = k, .stride = s, .padding = p, .bias = variant % 2 == 0};
          LayerRunOptions options;
          options.accumulate = variant % 4 == 1;
          options.input_grad = variant % 5 != 3;
          options.parameter_seed = seed;
          const Shape x{2 + variant % 2, in, 7, 9};
          INFO(kind.in, " -> ", kind.out, " k", k, " s", s, " p", p, ", x ", x);
          check_layer(kind, x, seed++, options, Tol::network);
          ++variant;
        }
  for (Index k : {3, 4})
    for (Index s : {1, 2}) {
      const ConvTranspose2d kind{.in = 17, .out = 5, .kernel = k, .stride = s, .padding = 1, .output_padding = s - 1};
      LayerRunOptions options;
      options.parameter_seed = seed;
      INFO("transpose k", k, " s", s);
      check_layer(kind, Shape{2, 17, 5, 7}, seed++, options, Tol::network);
    }
  for (const bool accumulate : {false, true}) {
    LayerRunOptions options;
    options.accumulate = accumulate;
    options.parameter_seed = seed;
    INFO("split-k, accumulate ", accumulate);
    check_layer(Conv2d{.in = 3, .out = 5, .kernel = 3, .padding = 1}, Shape{9, 3, 30, 30}, seed++, options, Tol::network);
  }
}

TEST_CASE("DepthwiseConv2d on Cuda matches DepthwiseConv2d on Cpu") {
  std::uint64_t seed = 200;
  int variant = 0;
  for (Index c : {1, 3, 17})
    for (Index k : {1, 3, 5})
      for (Index s : {1, 2})
        for (Index p : {0, 1, 2}) {
          const DepthwiseConv2d kind{.channels = c, .kernel = k, .stride = s, .padding = p, .bias = variant % 2 == 0};
          LayerRunOptions options;
          options.accumulate = variant % 4 == 1;
          options.input_grad = variant % 5 != 3;
          options.parameter_seed = seed;
          const Shape x{2 + variant % 2, c, 6, 9};
          INFO("C ", c, " k", k, " s", s, " p", p, " bias ", kind.bias, ", x ", x);
          check_layer(kind, x, seed++, options, Tol::network);
          ++variant;
        }
}

TEST_CASE("BatchNorm on Cuda matches BatchNorm on Cpu in training and evaluation mode, running statistics included") {
  std::uint64_t seed = 300;
  for (const Shape& x : {Shape{2, 3, 5, 7}, Shape{3, 17, 4, 6}, Shape{2, 1, 9, 5}, Shape{7, 3}, Shape{5, 19},
                         Shape{4, 19, 3, 5}, Shape{3, 2, 64, 70}})
    for (Mode mode : {Mode::train, Mode::eval})
      for (bool accumulate : {false, true}) {
        INFO("x ", x, ", training mode ", mode == Mode::train, ", accumulate ", accumulate);
        LayerRunOptions options;
        options.mode = mode;
        options.accumulate = accumulate;
        options.steps = 2;  // the running statistics compound
        options.parameter_seed = seed;
        check_layer(BatchNorm{.channels = x[1], .momentum = 0.1, .eps = 1e-5}, x, seed++, options, Tol::network);
      }
}

TEST_CASE("LayerNorm on Cuda matches LayerNorm on Cpu at odd sizes (N 5 with D 37, 1, 1000; more rows than a chunk)") {
  std::uint64_t seed = 350;
  for (const Shape& x : {Shape{5, 37}, Shape{5, 1}, Shape{5, 1000}, Shape{3, 129}, Shape{300, 37}})
    for (bool accumulate : {false, true})
      for (bool input_grad : {true, false}) {
        INFO("x ", x, ", accumulate ", accumulate, ", dx ", input_grad);
        LayerRunOptions options;
        options.mode = accumulate ? Mode::eval : Mode::train;  // the same computation in both
        options.accumulate = accumulate;
        options.input_grad = input_grad;
        options.steps = 2;
        options.parameter_seed = seed;  // gamma about 1, beta about 0, both random
        check_layer(LayerNorm{.features = x[1], .eps = 1e-5}, x, seed++, options, Tol::reduction);
      }
}

TEST_CASE("MultiHeadAttention on Cuda matches it on Cpu: causal or not, odd T, h dh != d, one token, one head") {
  std::uint64_t seed = 380;
  for (const bool causal : {false, true})
    for (auto [n, t, d, h, dh] : std::initializer_list<std::tuple<Index, Index, Index, Index, Index>>{
             {2, 7, 5, 2, 3}, {3, 1, 4, 1, 4}, {1, 130, 16, 4, 8}, {2, 33, 6, 3, 5}})
      for (bool accumulate : {false, true}) {
        INFO("N ", n, " T ", t, " d ", d, " h ", h, " dh ", dh, ", causal ", causal, ", accumulate ", accumulate);
        LayerRunOptions options;
        options.accumulate = accumulate;
        options.parameter_seed = seed;
        check_layer(MultiHeadAttention{.dim = d, .heads = h, .head_dim = dh, .causal = causal}, Shape{n, t, d}, seed++,
                    options, Tol::network);
      }
}

TEST_CASE("Embedding, PositionalEmbedding, SequencePool and PatchEmbedding on Cuda match them on Cpu (repeated ids sum their "
          "gradients; a sequence shorter than the context; class-token and mean pooling)") {
  std::uint64_t seed = 370;
  for (bool accumulate : {false, true}) {
    INFO("accumulate ", accumulate);
    LayerRunOptions options;
    options.accumulate = accumulate;
    options.parameter_seed = seed;
    // ids 0, 1, 2 (small integers): every id repeats across the (3, 5) batch
    check_layer(Embedding{.vocabulary = 11, .dim = 7}, Shape{3, 5}, seed++, options, Tol::elementwise, true);
    check_layer(PositionalEmbedding{.context = 9, .dim = 6}, Shape{2, 7, 6}, seed++, options, Tol::reduction);
    check_layer(SequencePool{.pooling = SequencePooling::first}, Shape{3, 5, 4}, seed++, options, Tol::elementwise);
    check_layer(SequencePool{.pooling = SequencePooling::mean}, Shape{3, 5, 4}, seed++, options, Tol::reduction);
    for (const bool token : {false, true}) {  // 28 x 28 in 7 x 7 patches (the ViT's); 2 channels, 6 x 9 in 3 x 3
      check_layer(PatchEmbedding{.channels = 1, .patch = 7, .dim = 5, .class_token = token}, Shape{3, 1, 28, 28}, seed++,
                  options, Tol::network);
      check_layer(PatchEmbedding{.channels = 2, .patch = 3, .dim = 4, .class_token = token}, Shape{2, 2, 6, 9}, seed++,
                  options, Tol::network);
    }
  }
}

TEST_CASE("TransformerBlock on Cuda matches it on Cpu (LayerNorms, attention, GELU MLP, residuals; residual dropout "
          "dropping the same elements)") {
  std::uint64_t seed = 390;
  for (const double dropout : {0.0, 0.2})
    for (const bool causal : {false, true})
      for (const Shape& x : {Shape{2, 9, 12}, Shape{3, 5, 7}}) {
        INFO("x ", x, ", causal ", causal, ", dropout ", dropout);
        LayerRunOptions options;
        options.steps = 2;
        check_layer(TransformerBlock{.dim = x[2], .heads = 2, .head_dim = 5, .mlp = 2 * x[2] + 1, .causal = causal,
                                     .dropout = dropout},
                    x, seed++, options, Tol::network);
      }
}

TEST_CASE("Dropout on Cuda drops exactly the elements the Cpu drops, with the same scale (any rank, odd sizes, the "
          "third mask of a stream, evaluation mode)") {
  std::uint64_t seed = 400;
  for (const double p : {0.0, 0.1, 0.5, 0.9})
    for (const Shape& x : {Shape{3, 7}, Shape{2, 5, 3, 7}, Shape{3, 9, 13}, Shape{257, 129}, Shape{5}}) {
      INFO("p ", p, ", x ", x);
      LayerRunOptions options;
      options.steps = 3;  // the third mask of the stream (drawn from the build seed on both)
      check_layer(Dropout{.p = p}, x, seed++, options, 0.0);
      options.mode = Mode::eval;
      check_layer(Dropout{.p = p, .seed = 12345, .draws = 7}, x, seed++, options, 0.0);
    }
}

TEST_CASE("a CUDA graph refuses to record Dropout in training mode (a replay would reuse the mask) and records it "
          "in evaluation mode") {
  CHECK(test::record_dropout_in_graph(Mode::train).find("cannot be recorded into a CUDA graph") != std::string::npos);
  CHECK(test::record_dropout_in_graph(Mode::eval).empty());
}

TEST_CASE("pooling layers on Cuda match them on Cpu (max-pool ties exactly)") {
  std::uint64_t seed = 400;
  for (auto [k, s, p] : std::initializer_list<std::tuple<Index, Index, Index>>{{2, 2, 0}, {3, 2, 1}, {3, 1, 1},
                                                                               {1, 2, 0}, {5, 2, 2}})
    for (const Shape& x : {Shape{2, 3, 7, 9}, Shape{3, 1, 6, 5}, Shape{2, 19, 8, 6}}) {
      INFO("k", k, " s", s, " p", p, ", x ", x);
      check_layer(MaxPool2d{.kernel = k, .stride = s, .padding = p}, x, seed++, {}, 0.0, true);
      check_layer(MaxPool2d{.kernel = k, .stride = s, .padding = p}, x, seed++, {}, 0.0);
      check_layer(AvgPool2d{.kernel = k, .stride = s, .padding = p}, x, seed++, {}, Tol::elementwise);
    }
  for (const Shape& x : {Shape{2, 3, 7, 9}, Shape{3, 17, 1, 1}, Shape{2, 19, 33, 29}}) {
    INFO("x ", x);
    check_layer(GlobalAvgPool{}, x, seed++, {}, Tol::reduction);
  }
}

namespace {

template <class S>
test::CnnData<S> cnn_data(std::uint64_t seed) {
  Rng rng(seed);
  test::CnnData<S> data;
  for (int b = 0; b < 3; ++b) {
    data.inputs.push_back(test::random_host<S>(Shape{6, 3, 11, 13}, rng));
    Tensor<std::int32_t> labels(Shape{6});
    for (Index i = 0; i < 6; ++i) labels[i] = static_cast<std::int32_t>(rng.uniform_int(5));
    data.labels.push_back(std::move(labels));
  }
  data.probe = test::random_host<S>(Shape{5, 3, 11, 13}, rng);
  return data;
}

template <class S>
void check_cnn_twins(const test::CnnTrace<S>& gpu, const test::CnnTrace<S>& cpu, double tolerance) {
  CHECK(difference(gpu.first_logits, cpu.first_logits) <= tolerance);
  REQUIRE(gpu.losses.size() == cpu.losses.size());
  for (std::size_t i = 0; i < cpu.losses.size(); ++i) {
    INFO("step ", i);
    CHECK(gpu.losses[i] == doctest::Approx(cpu.losses[i]).epsilon(tolerance));
  }
  CHECK(cpu.losses.back() < cpu.losses.front());
  CHECK(difference(gpu.probe_output, cpu.probe_output) <= tolerance);
  REQUIRE(gpu.names == cpu.names);
  for (std::size_t i = 0; i < cpu.names.size(); ++i) {
    INFO("parameter ", cpu.names[i]);
    CHECK(difference(gpu.values[i], cpu.values[i]) <= tolerance);
    CHECK(difference(gpu.gradients[i], cpu.gradients[i]) <= tolerance);
  }
}

}  // namespace

// Float: 3 steps. The first forward pass agrees to rounding; later steps carry the differences of GEMM
// and reduction order through the weights, still inside 2e-4 of each quantity's scale. (A Relu1 input
// or a max-pool near-tie within ~1e-6 of flipping could exceed it; at these sizes that is rare.)
TEST_CASE("a small CNN (Conv2d, BatchNorm, Relu1, MaxPool2d, Conv2d, Relu1, GlobalAvgPool, Dense) trains alike on "
          "Cuda and Cpu in float") {
  const auto data = cnn_data<float>(500);
  check_cnn_twins(test::train_cnn_on_cuda(7, data, 3), test::train_cnn<float, Cpu>(7, data, 3), Tol::network);
}

// Double: 6 steps, agreement to 1e-10 (rounding differences stay far from any kink).
TEST_CASE("the same small CNN trains alike on Cuda and Cpu in double") {
  const auto data = cnn_data<double>(501);
  check_cnn_twins(test::train_cnn_on_cuda(8, data, 6), test::train_cnn<double, Cpu>(8, data, 6),
                  test::Tolerance<double>::network);
}

TEST_CASE("the small CNN trains alike with the implicit-GEMM convolutions, in float and double") {
  const cuda::ConvPathScope implicit(cuda::ConvPath::implicit_gemm);
  const auto data = cnn_data<float>(500);
  check_cnn_twins(test::train_cnn_on_cuda(7, data, 3), test::train_cnn<float, Cpu>(7, data, 3), Tol::network);
  const auto data64 = cnn_data<double>(501);
  check_cnn_twins(test::train_cnn_on_cuda(8, data64, 6), test::train_cnn<double, Cpu>(8, data64, 6),
                  test::Tolerance<double>::network);
}
