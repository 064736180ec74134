// The doctest main of the MPI tests: every rank runs every test case; the job fails when any rank fails.
// Launched by CTest under mpirun with 1, 2 and 3 ranks (tests/dist/CMakeLists.txt).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>

#include "dist_support.hpp"

namespace netgrow::test {
namespace {
dist::MpiCommunicator* world_communicator = nullptr;
}
dist::MpiCommunicator& world() { return *world_communicator; }
}  // namespace netgrow::test

int main(int argc, char** argv) {
  using namespace netgrow;
  dist::MpiSession session(argc, argv);
  // A test that breaks the ranks' lockstep fails by timeout rather than hanging CTest.
  dist::MpiCommunicator comm(MPI_COMM_WORLD, std::chrono::seconds(60));
  test::world_communicator = &comm;
  doctest::Context context(argc, argv);
  if (comm.rank() != 0) context.setOption("minimal", true);  // rank 0 reports; the others print failures only
  const int failed = context.run() != 0 ? 1 : 0;
  if (context.shouldExit()) return failed;
  int any = 0;
  for (const std::uint64_t f : comm.all_gather(static_cast<std::uint64_t>(failed))) any |= static_cast<int>(f);
  if (comm.rank() == 0) std::printf("netgrow dist tests on %d rank(s): %s\n", comm.size(), any ? "FAILED" : "passed");
  return any;
}
