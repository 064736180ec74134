// Host-callable shims around kernels/gemm.cuh for the GEMM tests (the test cases are host code).
#pragma once

#include <string>
#include <vector>

#include "netgrow/core/config.hpp"

namespace netgrow::test {

// Mirrors kernels::GemmVersion, which lives in a .cuh the host compiler cannot read.
enum class GemmKernel { v1_smem_tiled, v2_register_blocked, v3_double_buffered, v4_split_k_cluster, automatic };

inline constexpr GemmKernel all_gemm_kernels[] = {GemmKernel::v1_smem_tiled, GemmKernel::v2_register_blocked,
                                                  GemmKernel::v3_double_buffered, GemmKernel::v4_split_k_cluster,
                                                  GemmKernel::automatic};

std::string gemm_kernel_name(GemmKernel kernel);

// Tiles of the register-blocked versions: 0 is kernels::GemmTile::automatic, 1..gemm_fixed_tile_count()
// the fixed tiles in the order of kernels::gemm_fixed_tiles.
int gemm_fixed_tile_count();
std::string gemm_tile_name(int tile);

// Whether v4_split_k_cluster really runs on this GPU (thread-block clusters, sm_90+); elsewhere it runs v3.
bool gemm_split_k_available();

// One row-major GEMM on the GPU: C = alpha op(A) op(B) + beta C with the sizes, strides and transposes of
// the call. The host vectors are copied whole into fresh device buffers (cudaMalloc: 256-byte aligned),
// and the kernel gets buffer + offset, so an offset of 1 misaligns float4 runs exactly as intended; c is
// copied back whole (elements outside the C view must come back unchanged). Runs on a stream of its
// own and waits for it. Exceptions from the launcher (bad arguments) propagate.
template <class T>
struct GemmCall {
  GemmKernel kernel = GemmKernel::automatic;
  int tile = 0;
  bool trans_a = false, trans_b = false;
  Index m = 0, n = 0, k = 0;
  T alpha = T(1), beta = T(0);
  Index a_offset = 0, lda = 0;
  Index b_offset = 0, ldb = 0;
  Index c_offset = 0, ldc = 0;
};

void gemm_on_device(const GemmCall<float>& call, const std::vector<float>& a, const std::vector<float>& b,
                    std::vector<float>& c);
void gemm_on_device(const GemmCall<double>& call, const std::vector<double>& a, const std::vector<double>& b,
                    std::vector<double>& c);

}  // namespace netgrow::test
