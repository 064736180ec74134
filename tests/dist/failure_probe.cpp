// tests/dist/failure_probe.cpp: a 2-rank training loop in which rank 1 fails, for run_failure.cmake:
//   throw   rank 1 throws at step 3 (run_or_abort ends every rank)
//   kill    rank 1 is killed by SIGKILL at step 3 (the launcher ends the others)
//   stall   rank 1 stops calling collectives at step 3 and sleeps; rank 0's all-reduce times out after 2 s
// In every case the job must end with an error within seconds, never hang.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include "netgrow/dist.hpp"
#include "netgrow/dist/mpi.hpp"
#include "netgrow/layers.hpp"
#include "netgrow/network.hpp"
#include "netgrow/optim/sgd.hpp"

int main(int argc, char** argv) {
  using namespace netgrow;
  dist::MpiSession session(argc, argv);
  dist::MpiCommunicator comm(MPI_COMM_WORLD, std::chrono::seconds(2));
  const std::string mode = argc > 1 ? argv[1] : "";
  return comm.run_or_abort([&] {
    if (mode != "throw" && mode != "kill" && mode != "stall") throw ArgumentError("failure_probe: mode throw, kill or stall");
    Rng rng(1);
    auto net = make_sequential<float, Cpu>(rng, Dense{.in = 8, .out = 8}, Relu1{}, Dense{.in = 8, .out = 2});
    Sgd sgd(0.1);
    dist::GradientAverager<float> averager;
    Tensor<float> x({4, 8}), grad;
    Tensor<std::int32_t> y({4});
    for (int step = 0; step < 100; ++step) {
      if (step == 3 && comm.rank() == 1) {
        if (mode == "throw") throw std::runtime_error("a failure in rank 1's step 3");
        if (mode == "kill") std::raise(SIGKILL);
        std::this_thread::sleep_for(std::chrono::seconds(60));
      }
      const auto logits = net.forward(x);
      grad.resize(logits.shape());
      SoftmaxCrossEntropy{}(logits, y, grad);
      net.backward(grad);
      averager.average(comm, net);
      sgd.step(net);
    }
    std::printf("failure_probe: rank %d finished without the failure\n", comm.rank());
  });
}
