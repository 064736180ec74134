// Tests backend/cuda/graph.hpp (cuda::StepGraph) and backend/cuda/queued_loss.hpp on the GPU: a training
// run recorded once and replayed gives the eager run's losses, accuracies and parameters; a growth and an
// evaluation batch of another size between steps make the next run record again (the pool saw memory
// the graph used being freed); a body that reads the loss back cannot be recorded, says why and leaves the
// stream usable; masked growth's fades replay with their changing gains, and so do Adam and SGD under
// schedules with their constants staged on the device (optim/staged.hpp). The pool's bookkeeping itself is
// tested without a GPU (emulated/test_device_pool_emulated).
//
// Tolerance: the replayed kernels are the recorded ones with the same arguments, so with netgrow's own
// GEMM the two runs must agree to the bit (any difference would mean a stale or shared buffer); with
// cuBLAS, which may pick another algorithm while a stream is captured, 1e-5 relative. The largest
// difference is reported either way.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "graph_shim.hpp"

using namespace netgrow;

namespace {

double max_relative_difference(const test::GraphRunTrace& t) {
  double worst = 0;
  for (std::size_t i = 0; i < t.eager_losses.size(); ++i)
    worst = std::max(worst, std::abs(t.graph_losses[i] - t.eager_losses[i]) / std::max(1.0, std::abs(t.eager_losses[i])));
  for (std::size_t p = 0; p < t.eager_parameters.size(); ++p) {
    const auto& a = t.eager_parameters[p];
    const auto& b = t.graph_parameters[p];
    REQUIRE(a.shape() == b.shape());
    for (Index i = 0; i < a.numel(); ++i)
      worst = std::max(worst, std::abs(double(b[i]) - double(a[i])) / std::max(1.0, std::abs(double(a[i]))));
  }
  return worst;
}

void check_same_run(const test::GraphRunTrace& t, bool bitwise = false) {
  REQUIRE(t.graph_losses.size() == t.eager_losses.size());
  REQUIRE(t.graph_parameters.size() == t.eager_parameters.size());
  CHECK(t.graph_correct == t.eager_correct);
  const double worst = max_relative_difference(t);
  MESSAGE("largest relative difference graph vs eager: ", worst);
  if (bitwise) CHECK(worst == 0.0);
  else CHECK(worst <= 1e-5);
  CHECK(t.eager_losses.back() < t.eager_losses.front());
}

}  // namespace

TEST_CASE("StepGraph: an MLP trained by replays equals the eager run (cuBLAS and native GEMM)") {
  for (bool native : {false, true}) {
    INFO("native GEMM ", native);
    const auto t = test::graph_vs_eager_on_cuda(11, {.cnn = false, .native_gemm = native, .steps = 12});
    check_same_run(t, native);
    CHECK(t.recordings == 1);
    CHECK(t.replays == 11);  // the first run executes the body, then records it
  }
}

TEST_CASE("StepGraph: a CNN with BatchNorm (running statistics updated inside the graph) equals the eager run") {
  const auto t = test::graph_vs_eager_on_cuda(12, {.cnn = true, .steps = 10});
  check_same_run(t);
  CHECK(t.recordings == 1);
  CHECK(t.replays == 9);
}

TEST_CASE("StepGraph: a growth and an evaluation batch of another size make the next run record again") {
  const auto t = test::graph_vs_eager_on_cuda(
      13, {.cnn = false, .native_gemm = true, .steps = 14, .grow_at = 5, .evaluate_at = 10});
  check_same_run(t, true);
  CHECK(t.names.size() == 6);
  CHECK(t.eager_parameters[0].dim(0) == 36);  // the first layer grew 33 -> 36
  CHECK(t.recordings == 3);                   // at steps 0, 5 and 10
  CHECK(t.replays == 11);
  const auto c = test::graph_vs_eager_on_cuda(14, {.cnn = true, .steps = 8, .grow_at = 4});
  check_same_run(c);
  CHECK(c.recordings == 2);
}

TEST_CASE("StepGraph: replays through an MSG fade (gains rewritten in place) equal the eager run; its end records "
          "again") {
  const auto t = test::graph_vs_eager_on_cuda(
      15, {.cnn = false, .native_gemm = true, .steps = 14, .grow_at = 5, .fade_steps = 4});
  check_same_run(t, true);
  CHECK(t.recordings == 3);  // at step 0, after the growth (step 5), after the fade ended (step 9)
  CHECK(t.replays == 11);
}

TEST_CASE("StepGraph: AdamW and SGD under schedules, their changing constants staged (StagedAdam, StagedSgd), "
          "replay like the eager run") {
  for (bool cnn : {false, true}) {
    INFO("cnn ", cnn);
    const auto t = test::graph_vs_eager_on_cuda(16, {.cnn = cnn, .native_gemm = !cnn, .steps = 10, .adam = true});
    check_same_run(t, !cnn);
    CHECK(t.recordings == 1);  // the changing constants did not force a recording
    CHECK(t.replays == 9);
  }
  const auto s = test::graph_vs_eager_on_cuda(17, {.native_gemm = true, .steps = 9, .scheduled_sgd = true});
  check_same_run(s, true);  // SGD with momentum under a step schedule, its rate staged (StagedSgd)
  CHECK(s.recordings == 1);
}

TEST_CASE("StepGraph: a body that waits for the device is refused with a reason and the stream still works") {
  const auto r = test::record_a_read_back_on_cuda();
  CHECK(r.message.find("cuda::StepGraph: recording the step failed") != std::string::npos);
  CHECK(r.message.find("QueuedCrossEntropy") != std::string::npos);
  CHECK(r.stream_usable);
}
