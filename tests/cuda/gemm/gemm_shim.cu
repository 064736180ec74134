// Device side of the GEMM tests: runs kernels::gemm_with_tile on device copies of host matrices.
#include <netgrow/kernels/gemm.cuh>

#include <iterator>

#include "device_buffer.hpp"
#include "gemm_shim.hpp"

namespace netgrow::test {

namespace {

namespace k = netgrow::kernels;

static_assert(static_cast<int>(GemmKernel::v1_smem_tiled) == static_cast<int>(k::GemmVersion::v1_smem_tiled));
static_assert(static_cast<int>(GemmKernel::v2_register_blocked) ==
              static_cast<int>(k::GemmVersion::v2_register_blocked));
static_assert(static_cast<int>(GemmKernel::v3_double_buffered) == static_cast<int>(k::GemmVersion::v3_double_buffered));
static_assert(static_cast<int>(GemmKernel::v4_split_k_cluster) == static_cast<int>(k::GemmVersion::v4_split_k_cluster));
static_assert(static_cast<int>(GemmKernel::automatic) == static_cast<int>(k::GemmVersion::automatic));

k::GemmTile tile_of(int tile) {
  if (tile <= 0 || tile > gemm_fixed_tile_count()) return k::GemmTile::automatic;
  return k::gemm_fixed_tiles[tile - 1];
}

template <class T>
void run_gemm(const GemmCall<T>& call, const std::vector<T>& a, const std::vector<T>& b, std::vector<T>& c) {
  TestStream stream;
  DeviceBuffer<T> dev_a(a, stream.get()), dev_b(b, stream.get()), dev_c(c, stream.get());
  k::gemm_with_tile<T>(call.trans_a, call.trans_b, call.m, call.n, call.k, call.alpha, dev_a.data() + call.a_offset,
                       call.lda, dev_b.data() + call.b_offset, call.ldb, call.beta, dev_c.data() + call.c_offset,
                       call.ldc, stream.get(), static_cast<k::GemmVersion>(call.kernel), tile_of(call.tile));
  dev_c.copy_to(c, stream.get());
}

}  // namespace

std::string gemm_kernel_name(GemmKernel kernel) {
  return k::gemm_version_name(static_cast<k::GemmVersion>(kernel));
}

int gemm_fixed_tile_count() {
  return static_cast<int>(std::size(k::gemm_fixed_tiles));
}

std::string gemm_tile_name(int tile) {
  return k::gemm_tile_name(tile_of(tile));
}

bool gemm_split_k_available() {
  return k::gemm_detail::split_k_available<float>();
}

void gemm_on_device(const GemmCall<float>& call, const std::vector<float>& a, const std::vector<float>& b,
                    std::vector<float>& c) {
  run_gemm(call, a, b, c);
}

void gemm_on_device(const GemmCall<double>& call, const std::vector<double>& a, const std::vector<double>& b,
                    std::vector<double>& c) {
  run_gemm(call, a, b, c);
}

}  // namespace netgrow::test
