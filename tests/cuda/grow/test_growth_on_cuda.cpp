// Tests width growth on the GPU against the same growth on the Cpu (tests/cuda/grow/twin_growth.hpp):
// - MLP with BatchNorm between the first pair: GradMax growth (grow batch data and top-k SVD on the
//   device) and Random growth, then SGD steps with the padded momentum;
// - CNN: Random growth of a conv -> conv pair (BatchNorm between) and of a conv -> Flatten -> dense pair;
// - MLP with BatchNorm and LayerNorm: the Cpu-written initializers through the host (Split, LEMON,
//   GradMax-Opt, InverseGradMaxOpt), GradMax's loss-decrease signs, FireflyOpt refining on the device, BatchNorm and LayerNorm growing by copied channels on the device, Adam moments padded,
//   per-stage learning rates after growth;
// - Wide-ResNet depth growth: DepthGradMax, LEMON's block copies, DepthZero, DepthRandom;
// - a causal character transformer grown at every site: MLP width (GradMax, LEMON), heads (GradMax,
//   copies, random), depth (zero-output block, LEMON's copies, G_stack), model width (LEMON through every
//   LayerNorm, embedding and residual path); the same transformer grown by MSG (masks on the device).
// Each device must keep the network's function through growth (training and evaluation mode), and
// the GPU must match the CPU: singular values, grown weights, the new neurons' gradient, the losses,
// weights and momentum of the following steps.
//
// Tolerances (float): function preservation |after - before| <= 1e-5 + 1e-5 |before| on one device;
// GPU vs CPU 1e-3 relative + 1e-4 absolute (the SVDs differ in algorithm and precision: Eigen's Jacobi
// in double on the Cpu, the batched Jacobi in float on the device), singular values 1e-3 relative.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../backend/compare.hpp"
#include "netgrow/netgrow.hpp"
#include "twin_growth.hpp"
#include "twin_transformer.hpp"

using namespace netgrow;
using test::check_close;
using test::uniform_tensor;

namespace {

void check_preserved(const test::GrowthTrace& t, const std::string& device) {
  check_close<float>(t.after_train.cview(), t.before_train.cview(), 1e-5, 1e-5, device + ": output kept (train mode)");
  check_close<float>(t.after_eval.cview(), t.before_eval.cview(), 1e-5, 1e-5, device + ": output kept (eval mode)");
}

void check_twins(const test::GrowthTrace& gpu, const test::GrowthTrace& cpu) {
  const double rel = 1e-3, abs = 1e-4;
  REQUIRE(gpu.singular_values.size() == cpu.singular_values.size());
  for (std::size_t i = 0; i < cpu.singular_values.size(); ++i)
    CHECK(gpu.singular_values[i] == doctest::Approx(cpu.singular_values[i]).epsilon(1e-3));
  REQUIRE(gpu.grown.size() == cpu.grown.size());
  for (std::size_t i = 0; i < cpu.grown.size(); ++i)
    check_close<float>(gpu.grown[i].cview(), cpu.grown[i].cview(), rel, abs, "grown parameter " + std::to_string(i));
  if (!cpu.new_incoming_grad.empty())
    check_close<float>(gpu.new_incoming_grad.cview(), cpu.new_incoming_grad.cview(), rel, abs,
                       "gradient of the new incoming weights");
  REQUIRE(gpu.losses.size() == cpu.losses.size());
  for (std::size_t i = 0; i < cpu.losses.size(); ++i)
    CHECK(gpu.losses[i] == doctest::Approx(cpu.losses[i]).epsilon(rel));
  REQUIRE(gpu.trained.size() == cpu.trained.size());
  for (std::size_t i = 0; i < cpu.trained.size(); ++i) {
    check_close<float>(gpu.trained[i].cview(), cpu.trained[i].cview(), rel, abs, "trained parameter " + std::to_string(i));
    REQUIRE(gpu.state[i].size() == cpu.state[i].size());
    for (std::size_t s = 0; s < cpu.state[i].size(); ++s)
      check_close<float>(gpu.state[i][s].cview(), cpu.state[i][s].cview(), rel, abs,
                         "optimizer state " + std::to_string(s) + " of parameter " + std::to_string(i));
  }
}

// A character batch for the transformer twins: ids (3, 10) and targets (3, 10) in [0, 11), probe ids (2, 10).
struct CharData {
  static constexpr Index vocabulary = 11;
  Tensor<float, Cpu> ids{Shape{3, 10}}, probe{Shape{2, 10}};
  Tensor<std::int32_t, Cpu> targets{Shape{3, 10}};
  explicit CharData(std::uint64_t seed) {
    Rng rng(seed);
    for (Index i = 0; i < ids.numel(); ++i) ids[i] = static_cast<float>(rng.uniform_int(vocabulary));
    for (Index i = 0; i < targets.numel(); ++i) targets[i] = static_cast<std::int32_t>(rng.uniform_int(vocabulary));
    for (Index i = 0; i < probe.numel(); ++i) probe[i] = static_cast<float>(rng.uniform_int(vocabulary));
  }
};

}  // namespace

TEST_CASE("GradMax and Random width growth of an MLP with BatchNorm on the GPU match the CPU") {
  Rng data_rng(41);
  const Tensor<float, Cpu> x = uniform_tensor<float>(Shape{23, 9}, data_rng, -2, 2);
  const Tensor<float, Cpu> target = uniform_tensor<float>(Shape{23, 4}, data_rng);
  const Tensor<float, Cpu> probe = uniform_tensor<float>(Shape{7, 9}, data_rng, -2, 2);
  const test::GrowthTrace cpu = test::grow_mlp_twin<Cpu>(5, x, target, probe);
  const test::GrowthTrace gpu = test::grow_mlp_on_cuda(5, x, target, probe);
  REQUIRE(cpu.singular_values.size() == 5);
  check_preserved(cpu, "cpu");
  check_preserved(gpu, "gpu");
  check_twins(gpu, cpu);
  // GradMax gave the new neurons a gradient (it is what the method is for).
  double norm = 0;
  for (Index i = 0; i < gpu.new_incoming_grad.numel(); ++i) norm += std::pow(gpu.new_incoming_grad[i], 2);
  CHECK(norm > 0);
}

TEST_CASE("Random width growth of conv -> conv and conv -> dense pairs on the GPU matches the CPU") {
  Rng data_rng(43);
  const Tensor<float, Cpu> x = uniform_tensor<float>(Shape{3, 2, 7, 9}, data_rng, -2, 2);
  const Tensor<float, Cpu> target = uniform_tensor<float>(Shape{3, 4}, data_rng);
  const Tensor<float, Cpu> probe = uniform_tensor<float>(Shape{2, 2, 7, 9}, data_rng, -2, 2);
  const test::GrowthTrace cpu = test::grow_cnn_twin<Cpu>(9, x, target, probe);
  const test::GrowthTrace gpu = test::grow_cnn_on_cuda(9, x, target, probe);
  check_preserved(cpu, "cpu");
  check_preserved(gpu, "gpu");
  check_twins(gpu, cpu);
}

TEST_CASE("Split, LEMON (through BatchNorm and LayerNorm), GradMax-Opt and its inverse, GradMax's loss-decrease signs, "
          "FireflyOpt and stage learning rates on the GPU match the CPU") {
  Rng data_rng(47);
  const Tensor<float, Cpu> x = uniform_tensor<float>(Shape{19, 9}, data_rng, -2, 2);
  const Tensor<float, Cpu> target = uniform_tensor<float>(Shape{19, 4}, data_rng);
  const Tensor<float, Cpu> probe = uniform_tensor<float>(Shape{6, 9}, data_rng, -2, 2);
  const test::GrowthTrace cpu = test::grow_copies_twin<Cpu>(13, x, target, probe);
  const test::GrowthTrace gpu = test::grow_copies_on_cuda(13, x, target, probe);
  check_preserved(cpu, "cpu");
  check_preserved(gpu, "gpu");
  check_twins(gpu, cpu);
  // The grown widths: 12 + 5 + 2 + 2 + 2 + 3 neurons in the first pair, 10 + 13 in the second (the last
  // Dense's weight, before its bias).
  CHECK(gpu.grown[0].dim(0) == 26);
  CHECK(gpu.grown[gpu.grown.size() - 2].dim(1) == 23);
  // Two stages (the seed, the grown slices), the second with its own factor, the same on both devices.
  REQUIRE(cpu.stage_factors.size() == 2);
  CHECK(cpu.stage_factors[1] != doctest::Approx(1.0));
  REQUIRE(gpu.stage_factors.size() == 2);
  CHECK(gpu.stage_factors[1] == doctest::Approx(cpu.stage_factors[1]).epsilon(1e-4));
}

TEST_CASE("depth growth of a Wide-ResNet on the GPU (GradMax, LEMON's copies, zero, random) matches the CPU") {
  Rng data_rng(59);
  const Tensor<float, Cpu> x = uniform_tensor<float>(Shape{4, 3, 9, 9}, data_rng, -2, 2);
  const Tensor<float, Cpu> target = uniform_tensor<float>(Shape{4, 3}, data_rng);
  const Tensor<float, Cpu> probe = uniform_tensor<float>(Shape{3, 3, 9, 9}, data_rng, -2, 2);
  const test::GrowthTrace cpu = test::grow_depth_twin<Cpu>(15, x, target, probe);
  const test::GrowthTrace gpu = test::grow_depth_on_cuda(15, x, target, probe);
  REQUIRE_FALSE(cpu.singular_values.empty());
  check_preserved(cpu, "cpu");
  check_preserved(gpu, "gpu");
  check_twins(gpu, cpu);
}

TEST_CASE("transformer growth on the GPU (MLP width, heads, depth, model width) matches the CPU") {
  const CharData d(61);
  const test::GrowthTrace cpu = test::grow_transformer_twin<Cpu>(19, CharData::vocabulary, d.ids, d.targets, d.probe);
  const test::GrowthTrace gpu = test::grow_transformer_on_cuda(19, CharData::vocabulary, d.ids, d.targets, d.probe);
  REQUIRE(cpu.singular_values.size() == 8);  // 4 of the MLP's GradMax, 4 (dh) of the head's
  check_preserved(cpu, "cpu");
  check_preserved(gpu, "gpu");
  check_twins(gpu, cpu);
}

TEST_CASE("masked structural growth (MSG) of a transformer on the GPU: fades in model width, MLP, heads and depth "
          "as on the CPU") {
  const CharData d(67);
  std::vector<bool> cpu_fading, gpu_fading;
  const test::GrowthTrace cpu =
      test::grow_transformer_msg_twin<Cpu>(23, CharData::vocabulary, d.ids, d.targets, d.probe, cpu_fading);
  const test::GrowthTrace gpu =
      test::grow_transformer_msg_on_cuda(23, CharData::vocabulary, d.ids, d.targets, d.probe, gpu_fading);
  CHECK(cpu_fading == std::vector<bool>{true, false});  // masked for 4 steps, plain after
  CHECK(gpu_fading == cpu_fading);
  check_preserved(cpu, "cpu");
  check_preserved(gpu, "gpu");
  check_twins(gpu, cpu);
}

TEST_CASE("models::Vit on the GPU, grown through its own sites (MLP width, model width, depth), matches the CPU") {
  Rng data_rng(71);
  const Tensor<float, Cpu> images = uniform_tensor<float>(Shape{5, 1, 8, 8}, data_rng, -1, 1);
  const Tensor<float, Cpu> probe = uniform_tensor<float>(Shape{3, 1, 8, 8}, data_rng, -1, 1);
  Tensor<std::int32_t, Cpu> labels(Shape{5});
  for (Index i = 0; i < 5; ++i) labels[i] = static_cast<std::int32_t>(i % 3);
  const test::GrowthTrace cpu = test::grow_vit_twin<Cpu>(31, images, labels, probe);
  const test::GrowthTrace gpu = test::grow_vit_on_cuda(31, images, labels, probe);
  check_preserved(cpu, "cpu");
  check_preserved(gpu, "gpu");
  check_twins(gpu, cpu);
}

TEST_CASE("GradMax directions from a given matrix on the GPU: exact, randomized and rank-deficient cases") {
  struct Case {
    Index rows, cols, rank, k;  // rank < k: the complement path
  };
  for (const Case c : {Case{10, 20, 10, 4}, Case{200, 150, 150, 4}, Case{40, 30, 3, 5}}) {
    CAPTURE(c.rows);
    CAPTURE(c.k);
    // M = A B with A (rows, rank), B (rank, cols): rank c.rank; A's columns decay by 0.6 each, so the
    // top singular values are well separated (the randomized path converges to them).
    Rng rng(7);
    Tensor<float, Cpu> a = uniform_tensor<float>(Shape{c.rows, c.rank}, rng);
    for (Index i = 0; i < c.rows; ++i)
      for (Index r = 0; r < c.rank; ++r) a.at(i, r) *= static_cast<float>(std::pow(0.6, double(r)));
    const Tensor<float, Cpu> b = uniform_tensor<float>(Shape{c.rank, c.cols}, rng);
    Tensor<float, Cpu> m(Shape{c.rows, c.cols});
    for (Index i = 0; i < c.rows; ++i)
      for (Index j = 0; j < c.cols; ++j) {
        double sum = 0;
        for (Index r = 0; r < c.rank; ++r) sum += double(a.at(i, r)) * double(b.at(r, j));
        m.at(i, j) = static_cast<float>(sum);
      }
    const test::DirectionsTrace cpu = test::gradmax_directions_twin<Cpu>(m, c.k, 3);
    const test::DirectionsTrace gpu = test::gradmax_directions_on_cuda(m, c.k, 3);
    REQUIRE(gpu.singular_values.size() == cpu.singular_values.size());
    CHECK(cpu.singular_values.size() == static_cast<std::size_t>(std::min(c.rank, c.k)));
    for (std::size_t i = 0; i < cpu.singular_values.size(); ++i)
      CHECK(gpu.singular_values[i] == doctest::Approx(cpu.singular_values[i]).epsilon(1e-3));
    // The singular directions agree (same sign rule); with rank < k the complement is random but
    // drawn from the same Rng stream and built on the host from (nearly) the same found rows.
    check_close<float>(gpu.rows.cview(), cpu.rows.cview(), 1e-3, 2e-3, "directions");
    // Rows are orthonormal on the GPU as well.
    for (Index i = 0; i < c.k; ++i)
      for (Index j = 0; j <= i; ++j) {
        double dot = 0;
        for (Index t = 0; t < gpu.rows.dim(1); ++t) dot += double(gpu.rows.at(i, t)) * double(gpu.rows.at(j, t));
        CHECK(dot == doctest::Approx(i == j ? 1.0 : 0.0).epsilon(1e-4).scale(1.0));
      }
  }
}
