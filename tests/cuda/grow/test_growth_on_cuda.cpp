// Tests width growth on the GPU against the same growth on the Cpu (tests/cuda/grow/twin_growth.hpp):
// - MLP with BatchNorm between the first pair: GradMax growth (grow batch data and top-k SVD on the
//   device) and Random growth, then SGD steps with the padded momentum;
// - CNN: Random growth of a conv -> conv pair (BatchNorm between) and of a conv -> Flatten -> dense pair.
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

#include "../backend/compare.hpp"
#include "netgrow/netgrow.hpp"
#include "twin_growth.hpp"

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
