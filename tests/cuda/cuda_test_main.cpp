// Main of the CUDA test executable: runs the doctest cases when a GPU is present; otherwise says
// why nothing ran and exits 77 (CTest's SKIP_RETURN_CODE), so a GPU-less run shows "Skipped".
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "netgrow/core/cuda_check.hpp"

int main(int argc, char** argv) {
  if (netgrow::cuda::device_count() == 0) {
    std::printf("SKIPPED: no CUDA device is visible on this machine; the CUDA tests need a GPU.\n");
    return 77;
  }
  std::printf("running CUDA tests on %s\n", netgrow::cuda::device_description(0).c_str());
  doctest::Context context(argc, argv);
  return context.run();
}
