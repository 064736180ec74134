// Tests GradMax's data for convolutional pairs on the GPU (backend/cuda/pair_data.hpp, kernels/
// pair_data.cuh) against the Cpu reference (grow/pair_data.hpp) on the four networks of
// twin_pair_data.hpp: every device path (centring, stride, the route back through pooling, routed and
// averaged patches), at odd sizes and batch 3, and a GradMax growth of a conv pair from that data.
// Tolerance (float): 1e-4 relative to M's largest entry (sums over N Y1 patch products in another order).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "../backend/compare.hpp"
#include "netgrow/netgrow.hpp"
#include "twin_pair_data.hpp"

using namespace netgrow;
using test::uniform_tensor;

TEST_CASE("GradMax data of conv pairs on the GPU matches the CPU: centring, stride, pooling, Flatten, average") {
  Rng data_rng(51);
  const Tensor<float, Cpu> x = uniform_tensor<float>(Shape{3, 2, 9, 11}, data_rng, -2, 2);
  for (int which = 0; which < 4; ++which) {
    CAPTURE(which);
    const test::PairDataTrace cpu = test::conv_pair_data_twin<Cpu>(which, x, 17);
    const test::PairDataTrace gpu = test::conv_pair_data_on_cuda(which, x, 17);
    REQUIRE(gpu.matrix.shape() == cpu.matrix.shape());
    CHECK(gpu.gradient_scale == doctest::Approx(cpu.gradient_scale));
    double largest = 0, worst = 0;
    for (Index i = 0; i < cpu.matrix.numel(); ++i) largest = std::max(largest, std::abs(double(cpu.matrix[i])));
    for (Index i = 0; i < cpu.matrix.numel(); ++i)
      worst = std::max(worst, std::abs(double(gpu.matrix[i]) - double(cpu.matrix[i])));
    REQUIRE(largest > 0);
    CHECK(worst <= 1e-4 * largest);
    if (which == 0) {
      REQUIRE(gpu.singular_values.size() == cpu.singular_values.size());
      for (std::size_t i = 0; i < cpu.singular_values.size(); ++i)
        CHECK(gpu.singular_values[i] == doctest::Approx(cpu.singular_values[i]).epsilon(1e-3));
      test::check_close<float>(gpu.grown_outgoing.cview(), cpu.grown_outgoing.cview(), 1e-3, 1e-4,
                               "consumer weight after GradMax growth");
    }
  }
}
