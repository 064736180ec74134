// Device side of test_graph.cpp (see graph_shim.hpp).
#include "graph_shim.hpp"

#include <type_traits>
#include <utility>

#include "netgrow/cuda.hpp"

namespace netgrow::test {

namespace {

using Mlp = Sequential<float, Cuda, Dense, Relu, Dense, Relu, Dense>;
using Cnn = Sequential<float, Cuda, Conv2d, BatchNorm, Relu, MaxPool2d, Flatten, Dense>;

Mlp make(std::uint64_t seed, Mlp*) {
  Rng rng(seed);
  return Mlp(rng, Dense{.in = 20, .out = 33}, Relu{}, Dense{.in = 33, .out = 17}, Relu{}, Dense{.in = 17, .out = 5});
}
Cnn make(std::uint64_t seed, Cnn*) {
  Rng rng(seed);
  return Cnn(rng, Conv2d{.in = 3, .out = 4, .kernel = 3, .stride = 1, .padding = 1}, BatchNorm{.channels = 4}, Relu{},
             MaxPool2d{}, Flatten{}, Dense{.in = 4 * 4 * 4, .out = 5});
}

Shape input_shape(bool cnn, Index batch) { return cnn ? Shape{batch, 3, 8, 8} : Shape{batch, 20}; }

struct Batch {
  Tensor<float, Cuda> x;
  Tensor<std::int32_t, Cuda> y;
};

Batch random_batch(bool cnn, Index n, Rng& rng) {
  Tensor<float, Cpu> x(input_shape(cnn, n));
  fill_normal(x.view(), 0.0, 1.0, rng);
  Tensor<std::int32_t, Cpu> y(Shape{n});
  for (Index i = 0; i < n; ++i) y[i] = static_cast<std::int32_t>(rng.uniform_int(5));
  return {to<Cuda>(x), to<Cuda>(y)};
}

template <class Net>
GraphRunTrace run(std::uint64_t seed, const GraphRunPlan& plan) {
  cuda::context().set_gemm_path(plan.native_gemm ? cuda::GemmPath::native : cuda::GemmPath::library);
  GraphRunTrace trace;
  Net eager = make(seed, static_cast<Net*>(nullptr));
  Net graphed = make(seed, static_cast<Net*>(nullptr));
  const LrSchedule sgd_rate = plan.scheduled_sgd ? LrSchedule(StepLr{.base = 0.05, .milestones = {3, 6}, .gamma = 0.5})
                                                 : LrSchedule(0.05);
  Sgd eager_sgd(sgd_rate, {.momentum = 0.9, .weight_decay = 1e-3});
  Sgd graph_sgd(sgd_rate, {.momentum = 0.9, .weight_decay = 1e-3});
  StagedSgd<Cuda> staged_sgd(graph_sgd);
  const auto schedule = [] { return WarmupLr{.warmup_steps = 4, .after = CosineLr{.base = 0.01, .total_steps = 20}}; };
  AdamW eager_adam(schedule()), graph_adam(schedule());
  StagedAdam<Cuda> staged(graph_adam);  // the changing lr and bias corrections read by each replay
  constexpr Index batch = 16;
  Rng data_rng(seed + 1);
  std::vector<Batch> batches;
  for (int s = 0; s < plan.steps; ++s) batches.push_back(random_batch(plan.cnn, batch, data_rng));
  const Batch evaluation = random_batch(plan.cnn, 23, data_rng);

  // The graph's inputs: fixed tensors each batch is copied into.
  Tensor<float, Cuda> x(input_shape(plan.cnn, batch)), eager_grad, graph_grad;
  Tensor<std::int32_t, Cuda> y(Shape{batch});
  cuda::StepGraph graph;
  cuda::QueuedCrossEntropy queued;
  for (int s = 0; s < plan.steps; ++s) {
    if (s == plan.grow_at) {
      for (Net* net : {&eager, &graphed}) {
        Rng rng(seed + 7);
        if constexpr (std::is_same_v<Net, Mlp>) {
          grow::grow_width<0, 2>(*net, 3, grow::Random{}, rng);
          if (plan.fade_steps > 0) net->template layer<2>().fade_inputs(33, 36, plan.fade_steps);
        } else {
          grow::grow_width<0, 5>(*net, 3, grow::Random{}, rng);  // through BatchNorm, Relu, pooling, Flatten
        }
      }
    }
    if (s == plan.evaluate_at) {
      (void)eager.forward(evaluation.x.cview(), Mode::eval);
      (void)graphed.forward(evaluation.x.cview(), Mode::eval);
    }
    const Batch& data = batches[static_cast<std::size_t>(s)];
    // Eager: the loss read back at once.
    const ConstView<float, Cuda> logits = eager.forward(data.x.cview());
    eager_grad.resize(logits.shape());
    const auto r = SoftmaxCrossEntropy{}(logits, data.y, eager_grad);
    eager.backward(eager_grad.cview());
    if (plan.adam) eager_adam.step(eager);
    else eager_sgd.step(eager);
    trace.eager_losses.push_back(r.loss);
    trace.eager_correct.push_back(r.correct);
    // Graph: new data into the same tensors, then one run.
    copy(data.x.cview(), x.view());
    copy(data.y.cview(), y.view());
    if (plan.adam) staged.stage();
    if (plan.scheduled_sgd) staged_sgd.stage();
    graph.run([&] {
      const ConstView<float, Cuda> z = graphed.forward(x.cview());
      graph_grad.resize(z.shape());
      queued.queue(z, y.cview(), graph_grad.view());
      graphed.backward(graph_grad.cview());
      if (plan.adam) staged.step(graphed);
      else if (plan.scheduled_sgd) staged_sgd.step(graphed);
      else graph_sgd.step(graphed);
    });
    const auto q = queued.result();
    trace.graph_losses.push_back(q.loss);
    trace.graph_correct.push_back(q.correct);
    grow::advance_fades(eager);
    grow::advance_fades(graphed);  // the gains rewritten in place: the recording stays valid
  }
  eager.visit_parameters([&](std::string_view name, Parameter<float, Cuda>& p) {
    trace.names.emplace_back(name);
    trace.eager_parameters.push_back(to<Cpu>(p.value));
  });
  graphed.visit_parameters(
      [&](std::string_view, Parameter<float, Cuda>& p) { trace.graph_parameters.push_back(to<Cpu>(p.value)); });
  trace.recordings = graph.recordings();
  trace.replays = graph.replays();
  trace.reserved_bytes = graph.reserved_bytes();
  cuda::context().set_gemm_path(cuda::GemmPath::library);
  return trace;
}

}  // namespace

GraphRunTrace graph_vs_eager_on_cuda(std::uint64_t seed, const GraphRunPlan& plan) {
  return plan.cnn ? run<Cnn>(seed, plan) : run<Mlp>(seed, plan);
}

UnrecordableResult record_a_read_back_on_cuda() {
  UnrecordableResult result;
  Mlp net = make(3, static_cast<Mlp*>(nullptr));
  Rng rng(4);
  const Batch data = random_batch(false, 8, rng);
  Tensor<float, Cuda> grad;
  cuda::StepGraph graph;
  try {
    graph.run([&] {
      const ConstView<float, Cuda> z = net.forward(data.x.cview());
      grad.resize(z.shape());
      (void)SoftmaxCrossEntropy{}(z, data.y, grad);  // waits for the loss: cannot be recorded
      net.backward(grad.cview());
    });
  } catch (const CudaError& e) {
    result.message = e.what();
  }
  Tensor<float, Cpu> probe(Shape{5});
  for (Index i = 0; i < 5; ++i) probe[i] = static_cast<float>(i) + 0.5f;
  try {
    const Tensor<float, Cpu> back = to<Cpu>(to<Cuda>(probe));
    result.stream_usable = back[4] == 4.5f && !graph.recorded();
  } catch (const CudaError&) {
    result.stream_usable = false;
  }
  return result;
}

}  // namespace netgrow::test
