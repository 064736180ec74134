// Host-callable GPU work of test_graph.cpp: the same training run eager and as a cuda::StepGraph.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "netgrow/core/tensor.hpp"

namespace netgrow::test {

// Which network and which events a graph-vs-eager run has.
struct GraphRunPlan {
  bool cnn = false;         // false: Dense 20-33-17-5 with Relu; true: Conv2d, BatchNorm, Relu, MaxPool2d, Dense
  bool native_gemm = false;  // the op facade's GEMM path: netgrow's kernels (true) or cuBLAS
  int steps = 12;
  int grow_at = -1;          // before this step both networks grow their first layer by 3 (Random)
  int evaluate_at = -1;      // before this step both networks run an evaluation batch of another size
  bool adam = false;         // AdamW under a warm-up + cosine schedule (the graph's through StagedAdam), not SGD
  bool scheduled_sgd = false;  // SGD under a step schedule, the graph's through StagedSgd (else a constant rate)
  int fade_steps = 0;        // MLP: > 0 fades the grown neurons in (MSG's mask on the next Dense's inputs),
                             // advanced after each step, outside the recorded body
};

// What both runs produced.
struct GraphRunTrace {
  std::vector<double> eager_losses, graph_losses;
  std::vector<std::int64_t> eager_correct, graph_correct;
  std::vector<Tensor<float, Cpu>> eager_parameters, graph_parameters;  // after the last step
  std::vector<std::string> names;
  std::size_t recordings = 0, replays = 0, reserved_bytes = 0;
};

GraphRunTrace graph_vs_eager_on_cuda(std::uint64_t seed, const GraphRunPlan& plan);

// Records a body that reads its loss back to the host; returns the error message (empty if none was
// thrown) and whether the context still works afterwards (a copy round-trips).
struct UnrecordableResult {
  std::string message;
  bool stream_usable = false;
};
UnrecordableResult record_a_read_back_on_cuda();

}  // namespace netgrow::test
