// tests/dist/nccl_check.cu: the device communicators on a GPU. Every rank works on GPU 0 (all ranks of a
// one-GPU machine share it): CUDA tensors through the MPI communicator's host staging (any number of
// ranks), and the NCCL communicator (one rank: NCCL refuses two ranks on one device). Without a GPU it
// says so and exits 77 (CTest: Skipped).
#include <cmath>
#include <cstdio>

#include "netgrow/cuda.hpp"
#include "netgrow/dist.hpp"
#include "netgrow/dist/nccl.hpp"

using namespace netgrow;

namespace {

int failures = 0;

void expect(bool ok, const char* what, int rank) {
  if (ok) return;
  std::printf("FAILED on rank %d: %s\n", rank, what);
  ++failures;
}

// x on the device, filled with value, reduced by comm's mean, must come back as `expected`.
template <class Comm>
void check_mean(Comm& comm, float value, float expected, const char* what) {
  Tensor<float, Cpu> host({7});
  ops::fill<float>(host.view(), value);
  Tensor<float, Cuda> x = to<Cuda>(host);
  dist::all_reduce_mean(comm, x.view());
  const Tensor<float, Cpu> back = to<Cpu>(x);
  bool ok = true;
  for (Index i = 0; i < 7; ++i) ok = ok && std::abs(back[i] - expected) < 1e-6f;
  expect(ok, what, comm.rank());
}

}  // namespace

int main(int argc, char** argv) {
  dist::MpiSession session(argc, argv);
  dist::MpiCommunicator mpi(MPI_COMM_WORLD, std::chrono::seconds(60));
  if (netgrow::cuda::device_count() == 0) {
    if (mpi.rank() == 0) std::printf("SKIPPED: no CUDA device is visible; the NCCL and CUDA-tensor MPI tests need a GPU.\n");
    return 77;
  }
  const int r = mpi.rank(), n = mpi.size();
  check_mean(mpi, static_cast<float>(r), (n - 1) / 2.0f, "MPI all_reduce_mean of a CUDA tensor (host staging)");
  // A CUDA network's gradients averaged through MPI.
  Rng rng(3);
  auto net = make_sequential<float, Cuda>(rng, Dense{.in = 5, .out = 4}, Relu1{}, Dense{.in = 4, .out = 3});
  dist::GradientAverager<float, Cuda> averager;
  net.visit_parameters([&](const std::string&, auto& p) { ops::fill<float>(p.grad.view(), static_cast<float>(r)); });
  averager.average(mpi, net);
  dist::require_identical(mpi, net, "CUDA network");
  if (n == 1) {
    dist::NcclCommunicator nccl(mpi);
    check_mean(nccl, 2.5f, 2.5f, "NCCL all_reduce_mean on one rank");
    dist::GradientAverager<float, Cuda> nccl_averager;
    nccl_averager.average(nccl, net);
    Tensor<float, Cpu> b({3});
    Tensor<float, Cuda> d = to<Cuda>(b);
    dist::broadcast(nccl, d.view(), 0);
  } else if (r == 0) {
    std::printf("NCCL part not run: %d ranks share one GPU, which NCCL refuses\n", n);
  }
  std::printf("rank %d: %s\n", r, failures == 0 ? "passed" : "FAILED");
  return failures == 0 ? 0 : 1;
}
