// kernels/svd_topk.cuh: the top-k singular triplets of a matrix, or of a product a^T b never formed,
// on the GPU; the device twin of svd_topk / svd_topk_of_product in backend/cpu/svd.hpp.
//
// Versions
//   svd_topk_v1_subspace_iteration   randomized subspace iteration (Halko, Martinsson & Tropp 2011,
//       algorithm 4.4), as on the CPU: a Rademacher start block Omega (n, l), l = k + oversampling,
//       from a counter-based hash of (seed, index), so it is deterministic for a seed; Y = M Omega;
//       `power_iterations` rounds of Z = M^T Y, Y = M Z, each product re-orthonormalised; then
//       B^T = M^T Y (n, l) = Q R (Cholesky QR) and the small SVD R = U_R S V_R^T by svd_jacobi, so that
//       M ~ (Y V_R) S (B^T V_R S^-1)^T: u = Y V_R, v = B^T V_R S^-1.
//     Orthonormalisation is mixed-precision Cholesky QR: the Gram matrix Y^T Y is accumulated in
//     double (gram_v1_double_tiles), its Cholesky factor and the factor's inverse are computed in
//     double by one block (cholesky_v1_right_looking), and Y <- Y R^-1 is a GEMM. With a double Gram
//     matrix one round leaves an orthogonality error ~ l eps(T) cond(Y) (plain float Cholesky QR
//     breaks down at cond(Y) ~ 3e3); the intermediate bases take one round, the final basis two.
//     A column whose pivot falls below floor * max pivot (numerically dependent on the earlier ones)
//     is replaced by a random one and the factorisation resumes at that column, so the basis is
//     always orthonormal (the CPU path replaces such columns by random directions too).
//   svd_topk exact path   svd_jacobi (kernels/svd_jacobi.cuh) on the whole matrix; for the product
//       form the product is formed first (one GEMM).
//   `automatic` picks randomized when (k + oversampling) * 4 <= min(m, n), like the CPU.
//
// Every GEMM goes through a policy object `gemm` called as
//   gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, stream)
// (row-major, like netgrow::kernels::gemm); CublasGemm is the library one. Work memory comes from a
// DeviceWorkspace (sized by svd_topk_workspace_bytes / svd_topk_of_product_workspace_bytes) or is
// allocated stream-ordered by the launcher. Nothing synchronises the stream.
//
// Outputs follow the CPU contract: sigma descending; u (m, k) with orthonormal columns, also when k
// exceeds the rank (the extra columns come from the random replacements: orthonormal, arbitrary);
// each u column's largest-magnitude entry positive, v flipped with it. v's columns for numerically
// zero singular values (sigma_j <= zero_sigma_relative * sigma_0) are completed to an orthonormal
// set by the deterministic rule of svd_jacobi.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <netgrow/kernels/svd_jacobi.cuh>

#include "netgrow/core/cuda_check.hpp"
#include "netgrow/core/cuda_library_check.hpp"
#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"

namespace netgrow::kernels {

// The same choices and defaults as ops::SvdMethod / ops::SvdOptions in backend/cpu/svd.hpp (which
// cannot be included here: it brings Eigen).
enum class SvdMethod { automatic, exact, randomized };

struct SvdOptions {
  SvdMethod method = SvdMethod::automatic;
  Index oversampling = 10;      // randomized: extra columns beyond k
  int power_iterations = 2;     // randomized: rounds of (M M^T)
  std::uint64_t seed = 0x5eed;  // randomized: start block (and replacement columns)
  JacobiSvdOptions jacobi{};    // the small (or exact) SVD
  // Optional, for timing the randomized path's parts: called on the host with "begin" before its first
  // launch and then with the name of each stage once that stage's work is queued on `stream` (a
  // benchmark records a CUDA event there). Stages in order: "range" (start block, Y = M Omega, its
  // basis), "power" (the power iterations), "basis" (Y's second orthonormalisation), "project"
  // (B^T = M^T Y and its Cholesky factor R), "small_svd" (svd_jacobi of R), "vectors" (u, v, signs).
  void (*stage_hook)(void* user, const char* stage, cudaStream_t stream) = nullptr;
  void* stage_user = nullptr;
};

// True when `automatic` picks the randomized path for an (m, n) matrix and k vectors.
inline bool prefers_randomized_svd(Index m, Index n, Index k, const SvdOptions& o) {
  return (k + o.oversampling) * 4 <= std::min(m, n);
}

// The GEMM policy backed by cuBLAS: row-major C (m, n) = alpha op(A) op(B) + beta C through the
// column-major identity C^T = op(B)^T op(A)^T. It sets `handle`'s stream to each call's stream.
// Default math mode (no TF32).
struct CublasGemm {
  cublasHandle_t handle = nullptr;

  void operator()(bool trans_a, bool trans_b, Index m, Index n, Index k, float alpha, const float* a, Index lda,
                  const float* b, Index ldb, float beta, float* c, Index ldc, cudaStream_t stream) const {
    if (!prepare(m, n, k, lda, ldb, ldc, stream)) return;
    NETGROW_CUBLAS_CHECK(cublasSgemm(handle, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                     static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b,
                                     static_cast<int>(std::max<Index>(ldb, 1)), a,
                                     static_cast<int>(std::max<Index>(lda, 1)), &beta, c, static_cast<int>(ldc)));
  }
  void operator()(bool trans_a, bool trans_b, Index m, Index n, Index k, double alpha, const double* a, Index lda,
                  const double* b, Index ldb, double beta, double* c, Index ldc, cudaStream_t stream) const {
    if (!prepare(m, n, k, lda, ldb, ldc, stream)) return;
    NETGROW_CUBLAS_CHECK(cublasDgemm(handle, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                     static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b,
                                     static_cast<int>(std::max<Index>(ldb, 1)), a,
                                     static_cast<int>(std::max<Index>(lda, 1)), &beta, c, static_cast<int>(ldc)));
  }

 private:
  bool prepare(Index m, Index n, Index k, Index lda, Index ldb, Index ldc, cudaStream_t stream) const {
    require(handle != nullptr, "CublasGemm: no cuBLAS handle");
    require(m >= 0 && n >= 0 && k >= 0 && m < INT_MAX && n < INT_MAX && k < INT_MAX && lda < INT_MAX && ldb < INT_MAX &&
                ldc < INT_MAX,
            "CublasGemm: sizes (", m, ", ", n, ", ", k, ") outside cuBLAS's int range");
    if (m == 0 || n == 0) return false;
    NETGROW_CUBLAS_CHECK(cublasSetStream(handle, stream));
    return true;
  }
};

namespace svd_detail {

// ---------------------------------------------------------------------------------------------
// Counter-based random numbers: the same value for the same (seed, counters) on every run and GPU.

__host__ __device__ inline std::uint64_t mix64(std::uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

__host__ __device__ inline std::uint64_t hash_counters(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0,
                                                       std::uint64_t c = 0) {
  return mix64(seed ^ mix64(a ^ mix64(b ^ mix64(c))));
}

// x[e] = +-1, the sign from bit 63 of hash(seed, e).
template <class T>
__global__ void fill_rademacher_kernel(T* x, Index count, std::uint64_t seed) {
  for (Index e = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; e < count;
       e += static_cast<Index>(gridDim.x) * blockDim.x)
    x[e] = (hash_counters(seed, static_cast<std::uint64_t>(e)) >> 63) ? T(1) : T(-1);
}

// ---------------------------------------------------------------------------------------------
// gram_v1_double_tiles: partial Gram matrices of y (rows, l) row-major (row stride ldy), accumulated
// in double: partials[s] (l, l) = sum over rows of chunk s of y[r, i] y[r, j], for the upper
// triangle's 16 x 16 tiles (diagonal tiles whole). Grid (tiles, tiles, chunks), block (16, 16).

template <class T>
__global__ void __launch_bounds__(256)
    gram_v1_double_tiles(const T* y, Index rows, int l, Index ldy, Index rows_per_chunk, double* partials) {
  const int tile_j = static_cast<int>(blockIdx.x), tile_i = static_cast<int>(blockIdx.y);
  if (tile_i > tile_j) return;  // the lower triangle is never read
  __shared__ T left[16][17], right[16][17];
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int i0 = 16 * tile_i, j0 = 16 * tile_j;
  const Index begin = blockIdx.z * rows_per_chunk, end = std::min<Index>(rows, begin + rows_per_chunk);
  double acc = 0;
  for (Index r0 = begin; r0 < end; r0 += 16) {
    const Index r = r0 + ty;
    left[ty][tx] = (r < end && i0 + tx < l) ? y[r * ldy + i0 + tx] : T(0);
    right[ty][tx] = (r < end && j0 + tx < l) ? y[r * ldy + j0 + tx] : T(0);
    __syncthreads();
#pragma unroll
    for (int rr = 0; rr < 16; ++rr) acc += static_cast<double>(left[rr][ty]) * static_cast<double>(right[rr][tx]);
    __syncthreads();
  }
  if (i0 + ty < l && j0 + tx < l)
    partials[blockIdx.z * static_cast<Index>(l) * l + static_cast<Index>(i0 + ty) * l + j0 + tx] = acc;
}

// ---------------------------------------------------------------------------------------------
// cholesky_v1_right_looking: one block factors G = sum of the partial Gram matrices as G = R^T R (R
// upper triangular, in double), one column per step with a rank-1 update of the trailing part.
//   replace mode: a pivot <= floor (the column numerically depends on the earlier ones) makes the
//     kernel overwrite column j of y with random signs (scaled like y), recompute row and column j
//     of the factorisation from the new column's dot products, and retry (8 attempts);
//   zero mode: such a row of R is set to zero (R then has that zero singular value).
// Outputs (row-major (l, l), T, zero below the diagonal): R and/or R^-1.

template <class T>
struct CholeskyParams {
  const double* partials;  // (chunks, l, l)
  int chunks, l;
  T* y;  // (rows, l) row-major, row stride ldy: the matrix whose Gram matrix this is (replace mode)
  Index rows, ldy;
  bool replace;
  double floor_relative;
  std::uint64_t seed;
  T* r_out;                // (l, l) or nullptr
  T* rinv_out;             // (l, l) or nullptr
  double* global_storage;  // l * l + 2 l doubles when the factor does not fit in shared memory
};

constexpr std::size_t cholesky_small_shared_bytes() {
  return 32 * sizeof(double) + 36 * sizeof(int) + 16;
}
constexpr std::size_t cholesky_matrix_bytes(Index l) {
  return (static_cast<std::size_t>(l) * static_cast<std::size_t>(l) + 2 * static_cast<std::size_t>(l)) * sizeof(double);
}

template <class T>
__global__ void __launch_bounds__(256, 1) cholesky_v1_right_looking(const CholeskyParams<T> p) {
  extern __shared__ __align__(16) unsigned char cholesky_shared[];
  double* red = reinterpret_cast<double*>(cholesky_shared);  // 32
  int* index_red = reinterpret_cast<int*>(red + 32);         // 36
  (void)index_red;
  double* s =
      p.global_storage ? p.global_storage : reinterpret_cast<double*>(cholesky_shared + cholesky_small_shared_bytes());
  const int l = p.l;
  double* gcol = s + static_cast<Index>(l) * l;  // l: dot products of a replaced column
  double* rdiag = gcol + l;                      // l: diagonal of R
  const int tid = static_cast<int>(threadIdx.x), threads = static_cast<int>(blockDim.x);
  const int lane = tid & 31, warp = tid >> 5, warps = threads >> 5;
  const Index ll = static_cast<Index>(l) * l;

  // G's upper triangle, the partial sums added in a fixed order (deterministic).
  for (Index e = tid; e < ll; e += threads) {
    if (e / l > e % l) continue;
    double g = 0;
    for (int c = 0; c < p.chunks; ++c) g += p.partials[c * ll + e];
    s[e] = g;
  }
  __syncthreads();
  double local_max = 0;
  for (int j = tid; j < l; j += threads) local_max = MaxOp{}(local_max, s[static_cast<Index>(j) * l + j]);
  const double max_diag = block_reduce(local_max, MaxOp{}, red);
  const double floor = max_diag * p.floor_relative;
  // Replacement columns get entries +-amplitude: a norm like y's largest column.
  const double amplitude = (max_diag > 0 && isfinite(max_diag)) ? sqrt(max_diag / static_cast<double>(p.rows)) : 1.0;

  // R's diagonal lives in rdiag, its strict upper triangle in s; the pivot s[j][j] is only read during
  // step j (until a replacement or a zero row rewrites it, after a barrier).
  for (int j = 0; j < l; ++j) {
    const Index jl = static_cast<Index>(j) * l;
    double d = s[jl + j];
    if (!(d > floor) && p.replace) {
      for (int attempt = 0; attempt < 8 && !(d > floor); ++attempt) {
        for (Index r = tid; r < p.rows; r += threads) {
          const bool negative = (hash_counters(p.seed, static_cast<std::uint64_t>(attempt),
                                               static_cast<std::uint64_t>(j), static_cast<std::uint64_t>(r)) >>
                                 63) != 0;
          p.y[r * p.ldy + j] = static_cast<T>(negative ? -amplitude : amplitude);
        }
        __syncthreads();                         // the new column is visible to the whole block
        for (int i = warp; i < l; i += warps) {  // gcol[i] = <y_i, y_j> in double
          double dot = 0;
          for (Index r = lane; r < p.rows; r += 32)
            dot += static_cast<double>(p.y[r * p.ldy + i]) * static_cast<double>(p.y[r * p.ldy + j]);
          dot = group_sum(dot, 32);
          if (lane == 0) gcol[i] = dot;
        }
        __syncthreads();
        if (warp == 0) {  // column j of R above the diagonal: forward substitution with R^T
          for (int q = 0; q < j; ++q) {
            double partial = 0;
            for (int t = lane; t < q; t += 32)
              partial += s[static_cast<Index>(t) * l + q] * s[static_cast<Index>(t) * l + j];
            partial = group_sum(partial, 32);
            if (lane == 0) s[static_cast<Index>(q) * l + j] = (gcol[q] - partial) / rdiag[q];
            __syncwarp();
          }
        }
        __syncthreads();
        for (int i = j + tid; i < l; i += threads) {  // row j of the trailing matrix
          double x = gcol[i];
          for (int q = 0; q < j; ++q) x -= s[static_cast<Index>(q) * l + j] * s[static_cast<Index>(q) * l + i];
          s[jl + i] = x;
        }
        __syncthreads();
        d = s[jl + j];
      }
    }
    if (!(d > floor)) {  // zero mode, or replacement failed (non-finite input): a zero row of R
      __syncthreads();   // everyone has read the pivot before the row is cleared
      for (int i = j + tid; i < l; i += threads) s[jl + i] = 0;
      if (tid == 0) rdiag[j] = 0;
      __syncthreads();
      continue;
    }
    const double rjj = sqrt(d), inverse = 1 / rjj;
    for (int i = j + 1 + tid; i < l; i += threads) s[jl + i] *= inverse;
    if (tid == 0) rdiag[j] = rjj;
    __syncthreads();
    // Trailing update s[a][b] -= r[j][a] r[j][b] for j < a <= b: a warp per row, lanes along it.
    for (int a = j + 1 + warp; a < l; a += warps) {
      const double ra = s[jl + a];
      for (int b = a + lane; b < l; b += 32) s[static_cast<Index>(a) * l + b] -= ra * s[jl + b];
    }
    __syncthreads();
  }

  if (p.r_out)
    for (Index e = tid; e < ll; e += threads) {
      const Index i = e / l, jj = e % l;
      p.r_out[e] = static_cast<T>(i < jj ? s[e] : (i == jj ? rdiag[i] : 0.0));
    }
  if (p.rinv_out) {
    // X = R^-1 column by column, one thread per column c (back substitution, four partial sums to
    // shorten the dependency chain); X(i, c) is kept at s[c][i], on and below the diagonal, so R's
    // strict upper triangle stays readable.
    for (int c = tid; c < l; c += threads) {
      const double* xc = s + static_cast<Index>(c) * l;
      for (int i = c; i >= 0; --i) {
        const double* ri = s + static_cast<Index>(i) * l;
        double a0 = (i == c) ? 1.0 : 0.0, a1 = 0, a2 = 0, a3 = 0;
        int q = i + 1;
        for (; q + 3 <= c; q += 4) {
          a0 -= ri[q] * xc[q];
          a1 -= ri[q + 1] * xc[q + 1];
          a2 -= ri[q + 2] * xc[q + 2];
          a3 -= ri[q + 3] * xc[q + 3];
        }
        for (; q <= c; ++q) a0 -= ri[q] * xc[q];
        s[static_cast<Index>(c) * l + i] = ((a0 + a1) + (a2 + a3)) / rdiag[i];
      }
    }
    __syncthreads();
    for (Index e = tid; e < ll; e += threads) {
      const Index i = e / l, c = e % l;
      p.rinv_out[e] = static_cast<T>(i <= c ? s[c * l + i] : 0.0);
    }
  }
}

// w (l, k) = vr (l, k) with column r divided by sigma[r], or zero where sigma[r] <= zero_below * sigma[0].
template <class T>
__global__ void divide_columns_by_sigma_kernel(const T* vr, T* w, int l, int k, const T* sigma, T zero_below) {
  const Index count = static_cast<Index>(l) * k;
  for (Index e = blockIdx.x * static_cast<Index>(blockDim.x) + threadIdx.x; e < count;
       e += static_cast<Index>(gridDim.x) * blockDim.x) {
    const int r = static_cast<int>(e % k);
    w[e] = sigma[r] > zero_below * sigma[0] ? vr[e] / sigma[r] : T(0);
  }
}

inline unsigned elementwise_blocks(Index count) {
  return static_cast<unsigned>(std::max<Index>(1, std::min<Index>((count + 255) / 256, 4096)));
}

// ---------------------------------------------------------------------------------------------
// Host-side plan: sizes and workspace layout of one top-k call.

// Pivots below this fraction of the largest are treated as zero (numerically dependent columns).
template <class T>
constexpr double cholesky_floor_relative() {
  return std::is_same_v<T, float> ? 1e-10 : 1e-14;
}

inline int gram_chunks(Index rows) {
  return static_cast<int>(std::clamp<Index>((rows + 255) / 256, 1, 8));
}

struct TopkPlan {
  bool randomized = false;
  Index l = 0;
  // byte offsets into the workspace; the last is the total
  std::size_t y0 = 0, y1 = 0, z0 = 0, z1 = 0, tmp = 0, partials = 0, chol = 0, rfac = 0, rinv = 0, vr = 0, wv = 0,
              scratch = 0, jacobi = 0, product = 0, total = 0;
  bool chol_in_shared = true;
  std::size_t chol_shared_bytes = 0;
};

// rows > 0: product form with a (rows, m), b (rows, n); rows == 0: an explicit (m, n) matrix.
template <class T>
TopkPlan plan_topk(Index rows, Index m, Index n, Index k, bool want_v, const SvdOptions& o, const char* who) {
  require(m >= 0 && n >= 0 && rows >= 0, who, ": negative size");
  require(k >= 0 && k <= std::min(m, n), who, ": k = ", k, " outside [0, min(m, n) = ", std::min(m, n), "] for (", m,
          ", ", n, ")");
  require(o.oversampling >= 0 && o.power_iterations >= 0, who,
          ": oversampling and power_iterations must be non-negative");
  require(m < INT_MAX && n < INT_MAX && rows < INT_MAX, who, ": sizes outside int range");
  TopkPlan plan;
  plan.randomized = k > 0 && (o.method == SvdMethod::randomized ||
                              (o.method == SvdMethod::automatic && prefers_randomized_svd(m, n, k, o)));
  std::size_t at = 0;
  const auto take = [&](std::size_t bytes) {
    const std::size_t offset = at;
    at += align_up(bytes);
    return offset;
  };
  if (k == 0) return plan;
  if (!plan.randomized) {
    if (rows > 0) plan.product = take(static_cast<std::size_t>(m) * n * sizeof(T));
    plan.jacobi = take(svd_jacobi_workspace_bytes<T>(1, m, n, true, want_v, o.jacobi));
    plan.total = at;
    return plan;
  }
  const Index l = std::min(k + o.oversampling, std::min(m, n));
  plan.l = l;
  const std::size_t ts = sizeof(T);
  plan.y0 = take(static_cast<std::size_t>(m) * l * ts);
  plan.y1 = take(static_cast<std::size_t>(m) * l * ts);
  plan.z0 = take(static_cast<std::size_t>(n) * l * ts);
  plan.z1 = take(static_cast<std::size_t>(n) * l * ts);
  if (rows > 0) plan.tmp = take(static_cast<std::size_t>(rows) * l * ts);
  plan.partials = take(static_cast<std::size_t>(std::max(gram_chunks(m), gram_chunks(n))) * l * l * sizeof(double));
  const std::size_t limit = max_dynamic_shared_bytes();
  plan.chol_in_shared = cholesky_small_shared_bytes() + cholesky_matrix_bytes(l) <= limit;
  plan.chol_shared_bytes = cholesky_small_shared_bytes() + (plan.chol_in_shared ? cholesky_matrix_bytes(l) : 0);
  if (!plan.chol_in_shared) plan.chol = take(cholesky_matrix_bytes(l));
  plan.rfac = take(static_cast<std::size_t>(l) * l * ts);
  plan.rinv = take(static_cast<std::size_t>(l) * l * ts);
  plan.vr = take(static_cast<std::size_t>(l) * k * ts);
  if (want_v) {
    plan.wv = take(static_cast<std::size_t>(l) * k * ts);
    plan.scratch = take(static_cast<std::size_t>(n) * ts);
  }
  plan.jacobi = take(svd_jacobi_workspace_bytes<T>(1, l, l, false, true, o.jacobi));
  plan.total = at;
  return plan;
}

// The randomized path over an operator given by its two products:
//   times(x (n, l), y (m, l))   y = M x
//   times_t(y (m, l), z (n, l)) z = M^T y
template <class T, class Gemm, class Times, class TimesT>
void randomized_topk(const Gemm& gemm, Index m, Index n, Index k, Times&& times, TimesT&& times_t, T* sigma, T* u,
                     Index ldu, T* v, Index ldv, cudaStream_t stream, const SvdOptions& o, const TopkPlan& plan,
                     unsigned char* work) {
  const Index l = plan.l;
  const auto ptr = [&](std::size_t offset) { return reinterpret_cast<T*>(work + offset); };
  T* ybuf[2] = {ptr(plan.y0), ptr(plan.y1)};
  T* zbuf[2] = {ptr(plan.z0), ptr(plan.z1)};
  double* partials = reinterpret_cast<double*>(work + plan.partials);
  T* rfac = ptr(plan.rfac);
  T* rinv = ptr(plan.rinv);
  T* vr = ptr(plan.vr);
  std::uint64_t salt = 0;

  allow_dynamic_shared(cholesky_v1_right_looking<T>, plan.chol_shared_bytes);
  // Gram matrix of x (rows, l) and its Cholesky factor: R^-1 (replace mode, columns of x may be
  // replaced) or R (zero mode).
  const auto factor = [&](T* x, Index rows, bool replace) {
    const int chunks = gram_chunks(rows);
    const Index per_chunk = (rows + chunks - 1) / chunks;
    const unsigned tiles = static_cast<unsigned>((l + 15) / 16);
    gram_v1_double_tiles<T><<<dim3(tiles, tiles, static_cast<unsigned>(chunks)), dim3(16, 16), 0, stream>>>(
        x, rows, static_cast<int>(l), l, per_chunk, partials);
    NETGROW_CUDA_CHECK(cudaGetLastError());
    CholeskyParams<T> cp{};
    cp.partials = partials;
    cp.chunks = chunks;
    cp.l = static_cast<int>(l);
    cp.y = x;
    cp.rows = rows;
    cp.ldy = l;
    cp.replace = replace;
    cp.floor_relative = cholesky_floor_relative<T>();
    cp.seed = hash_counters(o.seed, 0x0c401e5cull, ++salt);
    cp.r_out = replace ? nullptr : rfac;
    cp.rinv_out = replace ? rinv : nullptr;
    cp.global_storage = plan.chol_in_shared ? nullptr : reinterpret_cast<double*>(work + plan.chol);
    cholesky_v1_right_looking<T><<<1, 256, plan.chol_shared_bytes, stream>>>(cp);
    NETGROW_CUDA_CHECK(cudaGetLastError());
  };
  // out (rows, l) = orthonormal basis of the columns of in (rows, l): one Cholesky QR round.
  const auto orthonormalize = [&](T* in, T* out, Index rows) {
    factor(in, rows, true);
    gemm(false, false, rows, l, l, T(1), in, l, rinv, l, T(0), out, l, stream);
  };

  const auto stage = [&](const char* name) {
    if (o.stage_hook) o.stage_hook(o.stage_user, name, stream);
  };
  stage("begin");
  fill_rademacher_kernel<T><<<elementwise_blocks(n * l), 256, 0, stream>>>(zbuf[0], n * l, o.seed);
  NETGROW_CUDA_CHECK(cudaGetLastError());
  times(zbuf[0], ybuf[0]);
  orthonormalize(ybuf[0], ybuf[1], m);
  stage("range");
  for (int q = 0; q < o.power_iterations; ++q) {
    times_t(ybuf[1], zbuf[0]);
    orthonormalize(zbuf[0], zbuf[1], n);
    times(zbuf[1], ybuf[0]);
    orthonormalize(ybuf[0], ybuf[1], m);
  }
  stage("power");
  orthonormalize(ybuf[1], ybuf[0], m);  // second round for the basis u is built from
  stage("basis");
  const T* y = ybuf[0];
  T* bt = zbuf[0];
  times_t(y, bt);        // B^T = M^T Y (n, l)
  factor(bt, n, false);  // B^T = Q R
  stage("project");
  // R = U_R S V_R^T: the top k of S and V_R.
  svd_jacobi<T>(1, l, l, rfac, l, 0, k, sigma, k, nullptr, 0, 0, vr, k, 0, stream, o.jacobi,
                DeviceWorkspace{plan.jacobi == plan.total ? nullptr : work + plan.jacobi,
                                svd_jacobi_workspace_bytes<T>(1, l, l, false, true, o.jacobi)});
  stage("small_svd");
  gemm(false, false, m, k, l, T(1), y, l, vr, k, T(0), u, ldu, stream);  // u = Y V_R
  if (v) {  // v = B^T V_R S^-1, columns of zero singular values completed
    T* wv = ptr(plan.wv);
    const T zero_below = static_cast<T>(std::sqrt(cholesky_floor_relative<T>()));
    divide_columns_by_sigma_kernel<T><<<elementwise_blocks(l * k), 256, 0, stream>>>(
        vr, wv, static_cast<int>(l), static_cast<int>(k), sigma, zero_below);
    NETGROW_CUDA_CHECK(cudaGetLastError());
    gemm(false, false, n, k, l, T(1), bt, l, wv, k, T(0), v, ldv, stream);
    complete_zero_singular_columns<T>(v, ldv, n, k, sigma, zero_below, ptr(plan.scratch), stream);
  }
  fix_singular_vector_signs<T>(u, ldu, m, v, ldv, n, k, stream);
  stage("vectors");
}

template <class T>
void check_topk_outputs(Index m, Index n, Index k, const T* sigma, const T* u, Index ldu, const T* v, Index ldv,
                        const char* who) {
  require(sigma != nullptr && u != nullptr, who, ": sigma and u must be device pointers, got null");
  require(ldu >= k && (!v || ldv >= k), who, ": ldu = ", ldu, ", ldv = ", ldv, " smaller than k = ", k);
  (void)m;
  (void)n;
}

}  // namespace svd_detail

// Bytes of workspace svd_topk needs (want_v: v is requested).
template <class T>
std::size_t svd_topk_workspace_bytes(Index m, Index n, Index k, bool want_v, const SvdOptions& options = {}) {
  return svd_detail::plan_topk<T>(0, m, n, k, want_v, options, "svd_topk").total;
}

// Bytes of workspace svd_topk_of_product needs for a (rows, m) and b (rows, n).
template <class T>
std::size_t svd_topk_of_product_workspace_bytes(Index rows, Index m, Index n, Index k, bool want_v,
                                                const SvdOptions& options = {}) {
  require(rows >= 1, "svd_topk_of_product: needs at least one row, got ", rows);
  return svd_detail::plan_topk<T>(rows, m, n, k, want_v, options, "svd_topk_of_product").total;
}

// Top-k singular triplets of a (m, n) row-major (row stride lda), 0 <= k <= min(m, n):
//   sigma (k) descending, u (m, k) row stride ldu, v (n, k) row stride ldv or nullptr (all assigned).
// Device pointers; runs on `stream` without synchronising.
template <class T, class Gemm>
void svd_topk(const Gemm& gemm, Index m, Index n, const T* a, Index lda, Index k, T* sigma, T* u, Index ldu, T* v,
              Index ldv, cudaStream_t stream, const SvdOptions& options = {}, DeviceWorkspace workspace = {}) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "svd_topk: float or double");
  const svd_detail::TopkPlan plan = svd_detail::plan_topk<T>(0, m, n, k, v != nullptr, options, "svd_topk");
  if (k == 0) return;
  require(a != nullptr && lda >= n, "svd_topk: a must be a device pointer with lda >= n");
  svd_detail::check_topk_outputs(m, n, k, sigma, u, ldu, v, ldv, "svd_topk");
  svd_detail::SvdScratch own;
  auto* work =
      static_cast<unsigned char*>(svd_detail::resolve_workspace(workspace, plan.total, own, stream, "svd_topk"));
  if (!plan.randomized) {
    svd_jacobi<T>(1, m, n, a, lda, 0, k, sigma, k, u, ldu, 0, v, ldv, 0, stream, options.jacobi,
                  DeviceWorkspace{work ? work + plan.jacobi : nullptr, plan.total - plan.jacobi});
    return;
  }
  const Index l = plan.l;
  svd_detail::randomized_topk<T>(
      gemm, m, n, k, [&](const T* x, T* y) { gemm(false, false, m, l, n, T(1), a, lda, x, l, T(0), y, l, stream); },
      [&](const T* y, T* z) { gemm(true, false, n, l, m, T(1), a, lda, y, l, T(0), z, l, stream); }, sigma, u, ldu, v,
      ldv, stream, options, plan, work);
}

// Top-k singular triplets of scale * a^T b without forming it: a (rows, m) row stride lda, b (rows, n)
// row stride ldb, rows >= 1 (GradMax's M = D^T H / N is a = D, b = H, scale = 1 / N). Outputs as for
// svd_topk. Each product with the operator costs two GEMMs through a (rows, l) temporary.
template <class T, class Gemm>
void svd_topk_of_product(const Gemm& gemm, Index rows, Index m, Index n, const T* a, Index lda, const T* b, Index ldb,
                         T scale, Index k, T* sigma, T* u, Index ldu, T* v, Index ldv, cudaStream_t stream,
                         const SvdOptions& options = {}, DeviceWorkspace workspace = {}) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "svd_topk_of_product: float or double");
  require(rows >= 1, "svd_topk_of_product: needs at least one row, got ", rows);
  const svd_detail::TopkPlan plan =
      svd_detail::plan_topk<T>(rows, m, n, k, v != nullptr, options, "svd_topk_of_product");
  if (k == 0) return;
  require(a != nullptr && b != nullptr && lda >= m && ldb >= n,
          "svd_topk_of_product: a and b must be device pointers with lda >= m, ldb >= n");
  svd_detail::check_topk_outputs(m, n, k, sigma, u, ldu, v, ldv, "svd_topk_of_product");
  svd_detail::SvdScratch own;
  auto* work = static_cast<unsigned char*>(
      svd_detail::resolve_workspace(workspace, plan.total, own, stream, "svd_topk_of_product"));
  if (!plan.randomized) {
    T* product = reinterpret_cast<T*>(work + plan.product);
    gemm(true, false, m, n, rows, scale, a, lda, b, ldb, T(0), product, n, stream);  // scale a^T b (m, n)
    svd_jacobi<T>(1, m, n, product, n, 0, k, sigma, k, u, ldu, 0, v, ldv, 0, stream, options.jacobi,
                  DeviceWorkspace{work + plan.jacobi, plan.total - plan.jacobi});
    return;
  }
  const Index l = plan.l;
  T* tmp = reinterpret_cast<T*>(work + plan.tmp);  // (rows, l)
  svd_detail::randomized_topk<T>(
      gemm, m, n, k,
      [&](const T* x, T* y) {  // y = scale a^T (b x)
        gemm(false, false, rows, l, n, T(1), b, ldb, x, l, T(0), tmp, l, stream);
        gemm(true, false, m, l, rows, scale, a, lda, tmp, l, T(0), y, l, stream);
      },
      [&](const T* y, T* z) {  // z = scale b^T (a y)
        gemm(false, false, rows, l, m, T(1), a, lda, y, l, T(0), tmp, l, stream);
        gemm(true, false, n, l, rows, scale, b, ldb, tmp, l, T(0), z, l, stream);
      },
      sigma, u, ldu, v, ldv, stream, options, plan, work);
}

}  // namespace netgrow::kernels
