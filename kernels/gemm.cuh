// kernels/gemm.cuh: row-major general matrix multiply on the GPU, C = alpha op(A) op(B) + beta C.
//
// Versions (GemmVersion; the launcher `gemm` runs one, `automatic` picks by problem shape):
//   v1_smem_tiled        32x32 C tile per 256-thread block; 32x32 tiles of op(A) and op(B) staged in
//                        padded shared memory (33 columns: conflict-free for both storage orders); each
//                        thread computes 4 outputs of one column. The simple, obviously correct baseline.
//   v2_register_blocked  BM x BN C tile per block (GemmTile: 128x128 down to 16x128), k-slices of 8.
//                        Each thread owns a TM x TN micro-tile (8x8, 8x4 or 4x4) in registers: per k step
//                        it reads TM + TN shared values for TM TN FMAs. Global loads are float4 runs along
//                        whichever dimension is contiguous in memory when the base pointer is 16-byte
//                        aligned and the row stride a multiple of 4 (checked at run time; scalar loads
//                        otherwise and at ragged edges). Both operands are staged k-major (A as [k][m], B
//                        as [k][n]); an operand stored k-contiguous is transposed on the way in, into rows
//                        padded by 4 so those stores are conflict-free. The micro-tile is split into 4-wide
//                        groups spaced BM/(TM/4) (BN/(TN/4)) apart, so the float4 shared reads of a warp are
//                        conflict-free and C is written with coalesced float4 stores. Blocks walk the tile
//                        grid in groups of 8 tile rows so blocks running together share A and B in L2.
//   v3_double_buffered   v2 with two shared-memory stages: the next k-slice's global loads are issued into
//                        registers before the current slice's FMAs and stored to the other stage after
//                        them: one barrier per k-slice, global latency hidden behind the math.
//   v4_split_k_cluster   for grids too small to fill the GPU (small m n, long k): v3's loop over one of S
//                        k-ranges (S = 2, 4, 8) per block; the S blocks of a C tile form a thread-block
//                        cluster (sm_90) and reduce their partial tiles through distributed shared memory,
//                        each block summing its share of the tile's rows over ranks 0..S-1 in order: no
//                        workspace, no atomics, deterministic. 64x64 or 32x32 tiles (any other fixed tile
//                        asked for runs 64x64). Where clusters are unavailable (before sm_90, or code built
//                        without sm_90), it runs v3.
//   automatic            the v3 tile or the v4 (tile, S) with the smallest time in a wave-quantisation
//                        cost model (estimated_time: few blocks on many SMs favour small tiles or split-K).
// double: v1 as written; v2, v3, v4 and automatic run v2/v3 with the 64x64 tile (whatever tile is asked for).
//
// Summation order: v1, v2 and v3 (every tile) compute each C element as the same chain of FMAs over
// k = 0, 1, ..., then alpha * sum, then fma(beta, C, that): their results are bitwise identical. v4 sums
// S partial chains, so it differs from them in the last bits (and depends on S, which depends on the
// shape and the GPU's SM count), but is deterministic run to run.
//
// Contract (all versions): op(A) is (m, k), stored (m, k) with row stride lda, or (k, m) when trans_a;
// op(B) is (k, n), stored (k, n) with row stride ldb, or (n, k) when trans_b; C is (m, n) with row stride
// ldc. beta == 0 never reads C (it may hold NaN). Any m, n, k >= 0; k == 0 gives C = beta C. Every access
// is bounds-checked: sizes need not be multiples of any tile. The launch is asynchronous on `stream`.
#pragma once

#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>
#include <type_traits>

#include "netgrow/core/cuda_check.hpp"
#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"

namespace netgrow::kernels {

enum class GemmVersion { v1_smem_tiled, v2_register_blocked, v3_double_buffered, v4_split_k_cluster, automatic };

// C tile (rows x columns per block) of the register-blocked versions; `automatic`: chosen by shape.
enum class GemmTile { automatic, t128x128, t128x64, t64x64, t32x128, t16x128, t32x32 };

inline constexpr GemmTile gemm_fixed_tiles[] = {GemmTile::t128x128, GemmTile::t128x64, GemmTile::t64x64,
                                                GemmTile::t32x128,  GemmTile::t16x128, GemmTile::t32x32};

inline const char* gemm_version_name(GemmVersion v) {
  switch (v) {
    case GemmVersion::v1_smem_tiled:
      return "v1_smem_tiled";
    case GemmVersion::v2_register_blocked:
      return "v2_register_blocked";
    case GemmVersion::v3_double_buffered:
      return "v3_double_buffered";
    case GemmVersion::v4_split_k_cluster:
      return "v4_split_k_cluster";
    case GemmVersion::automatic:
      return "automatic";
  }
  return "unknown";
}

inline const char* gemm_tile_name(GemmTile t) {
  switch (t) {
    case GemmTile::automatic:
      return "automatic";
    case GemmTile::t128x128:
      return "128x128";
    case GemmTile::t128x64:
      return "128x64";
    case GemmTile::t64x64:
      return "64x64";
    case GemmTile::t32x128:
      return "32x128";
    case GemmTile::t16x128:
      return "16x128";
    case GemmTile::t32x32:
      return "32x32";
  }
  return "unknown";
}

namespace gemm_detail {

// The problem as the kernels see it (sizes checked to fit int by the launcher).
template <class T>
struct Problem {
  int m = 0, n = 0, k = 0;
  T alpha{}, beta{};
  const T* a = nullptr;
  Index lda = 0;
  const T* b = nullptr;
  Index ldb = 0;
  T* c = nullptr;
  Index ldc = 0;
  bool a_vector = false, b_vector = false, c_vector = false;  // 4-element runs may use 16-byte accesses
};

// Block index -> (tile row, tile column): tile rows in groups of 8, walked column by column, so the
// blocks resident at one time read a few row panels of A and column panels of B that stay in L2.
__device__ inline void tile_of_block(int tiles_m, int tiles_n, int& tile_m, int& tile_n) {
  constexpr int group = 8;
  const int block = static_cast<int>(blockIdx.x);
  const int blocks_per_group = group * tiles_n;
  const int group_index = block / blocks_per_group;
  const int first_m = group_index * group;
  const int rows = min(tiles_m - first_m, group);
  const int in_group = block - group_index * blocks_per_group;
  tile_m = first_m + in_group % rows;
  tile_n = in_group / rows;
}

// 4 consecutive elements p[0..3] <-> out[0..3] as 16-byte accesses (p must be 16-byte aligned).
template <class T>
__device__ inline void load_run(const T* p, T* out) {
  if constexpr (std::is_same_v<T, float>) {
    const float4 v = *reinterpret_cast<const float4*>(p);
    out[0] = v.x, out[1] = v.y, out[2] = v.z, out[3] = v.w;
  } else if constexpr (std::is_same_v<T, double>) {
    const double2 lo = reinterpret_cast<const double2*>(p)[0];
    const double2 hi = reinterpret_cast<const double2*>(p)[1];
    out[0] = lo.x, out[1] = lo.y, out[2] = hi.x, out[3] = hi.y;
  } else {
    for (int q = 0; q < 4; ++q) out[q] = p[q];
  }
}

template <class T>
__device__ inline void store_run(T* p, const T* in) {
  if constexpr (std::is_same_v<T, float>) {
    *reinterpret_cast<float4*>(p) = make_float4(in[0], in[1], in[2], in[3]);
  } else if constexpr (std::is_same_v<T, double>) {
    reinterpret_cast<double2*>(p)[0] = make_double2(in[0], in[1]);
    reinterpret_cast<double2*>(p)[1] = make_double2(in[2], in[3]);
  } else {
    for (int q = 0; q < 4; ++q) p[q] = in[q];
  }
}

// alpha * sum + beta * C, the same rounding in every version: fma(beta, C, alpha * sum); C is not read
// when beta == 0.
template <class T>
__device__ inline T scaled(const Problem<T>& p, T sum, const T* c) {
  const T v = p.alpha * sum;
  return p.beta == T(0) ? v : fma(p.beta, *c, v);
}

// ---------------------------------------------------------------------------------------------------
// v1_smem_tiled

inline constexpr int v1_tile = 32;          // C tile is v1_tile x v1_tile; k-slices of v1_tile
inline constexpr int v1_rows_per_pass = 8;  // block (32, 8): each thread computes 4 rows of one column
inline constexpr int v1_threads = v1_tile * v1_rows_per_pass;

template <class T, bool TransA, bool TransB>
__global__ void __launch_bounds__(v1_threads) smem_tiled_kernel(Problem<T> p, int tiles_m, int tiles_n) {
  constexpr int tile = v1_tile, passes = v1_tile / v1_rows_per_pass;
  __shared__ T a_tile[tile][tile + 1];  // [m][k]
  __shared__ T b_tile[tile][tile + 1];  // [k][n]
  int tile_m = 0, tile_n = 0;
  tile_of_block(tiles_m, tiles_n, tile_m, tile_n);
  const int m0 = tile_m * tile, n0 = tile_n * tile;
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);

  T acc[passes] = {};
  for (int k0 = 0; k0 < p.k; k0 += tile) {
#pragma unroll
    for (int r = 0; r < passes; ++r) {
      const int ly = ty + r * v1_rows_per_pass;
      {  // op(A) element (m0 + mi, k0 + kk); consecutive threads walk the dimension contiguous in memory
        const int mi = TransA ? tx : ly, kk = TransA ? ly : tx;
        const int gm = m0 + mi, gk = k0 + kk;
        T v = T(0);
        if (gm < p.m && gk < p.k) v = TransA ? p.a[gk * p.lda + gm] : p.a[gm * p.lda + gk];
        a_tile[mi][kk] = v;
      }
      {  // op(B) element (k0 + kk, n0 + nj)
        const int kk = TransB ? tx : ly, nj = TransB ? ly : tx;
        const int gk = k0 + kk, gn = n0 + nj;
        T v = T(0);
        if (gk < p.k && gn < p.n) v = TransB ? p.b[gn * p.ldb + gk] : p.b[gk * p.ldb + gn];
        b_tile[kk][nj] = v;
      }
    }
    __syncthreads();
#pragma unroll 8
    for (int kk = 0; kk < tile; ++kk) {
      const T b = b_tile[kk][tx];
#pragma unroll
      for (int r = 0; r < passes; ++r) acc[r] = fma(a_tile[ty + r * v1_rows_per_pass][kk], b, acc[r]);
    }
    __syncthreads();
  }
  const int col = n0 + tx;
  if (col >= p.n) return;
#pragma unroll
  for (int r = 0; r < passes; ++r) {
    const int row = m0 + ty + r * v1_rows_per_pass;
    if (row >= p.m) continue;
    T* out = p.c + row * p.ldc + col;
    *out = scaled(p, acc[r], out);
  }
}

// ---------------------------------------------------------------------------------------------------
// v2_register_blocked and v3_double_buffered

// Block tile bm x bn, k-slices of bk, thread micro-tile tm x tn; min_blocks: blocks per SM the register
// allocation must allow (__launch_bounds__). `efficiency` is the guessed fraction of an SM's FMA peak a
// fully occupied SM reaches with this tile (used only by the cost model, estimated_time).
template <int Bm, int Bn, int Tm, int Tn, int MinBlocks, int EfficiencyPercent>
struct TileShape {
  static constexpr int bm = Bm, bn = Bn, bk = 8, tm = Tm, tn = Tn, min_blocks = MinBlocks;
  static constexpr int threads_m = bm / tm, threads_n = bn / tn, threads = threads_m * threads_n;
  static constexpr double efficiency = EfficiencyPercent / 100.0;
  static_assert(tm % 4 == 0 && tn % 4 == 0 && bm % tm == 0 && bn % tn == 0 && bm % 8 == 0 && bn % 8 == 0);
  static_assert(threads % 32 == 0 && threads <= 1024);
};

using Tile128x128 = TileShape<128, 128, 8, 8, 2, 80>;
using Tile128x64 = TileShape<128, 64, 8, 4, 2, 72>;
using Tile64x64 = TileShape<64, 64, 4, 4, 3, 60>;
using Tile32x128 = TileShape<32, 128, 4, 8, 4, 55>;
using Tile16x128 = TileShape<16, 128, 4, 4, 4, 40>;
using Tile32x32 = TileShape<32, 32, 4, 4, 8, 35>;

// Calls f(TileType{}) for a fixed tile.
template <class F>
decltype(auto) with_tile(GemmTile tile, F&& f) {
  switch (tile) {
    case GemmTile::t128x128:
      return f(Tile128x128{});
    case GemmTile::t128x64:
      return f(Tile128x64{});
    case GemmTile::t64x64:
      return f(Tile64x64{});
    case GemmTile::t32x128:
      return f(Tile32x128{});
    case GemmTile::t16x128:
      return f(Tile16x128{});
    case GemmTile::t32x32:
      return f(Tile32x32{});
    case GemmTile::automatic:
      break;
  }
  throw ArgumentError("gemm: with_tile needs a fixed tile, not GemmTile::automatic");
}

// One operand's k-slice: the (Extent x Bk) block of op(X) at (mn0, k0), where mn is the m (for A) or
// n (for B) dimension, staged k-major in shared memory: s[kk * stride + mn]. Global memory holds it
// k-contiguous (element (mn, kk) at x[mn * ld + kk]: A not transposed, B transposed) or mn-contiguous
// (x[kk * ld + mn]). Each thread moves runs of 4 elements along the contiguous dimension.
template <class T, int Extent, int Bk, int Threads, bool KContiguous>
struct OperandSlice {
  static constexpr int runs = Extent * Bk / 4;
  static constexpr int runs_per_thread = (runs + Threads - 1) / Threads;
  static constexpr int stride = Extent + 4;  // padded: transposed stores of a warp hit distinct banks
  static constexpr int elements = Bk * stride;
  static_assert(Extent % 8 == 0 && Bk % 4 == 0);

  T regs[runs_per_thread][4];

  __device__ static bool owns(int run) { return runs % Threads == 0 || run < runs; }

  __device__ static void position(int run, int& mn, int& kk) {
    if constexpr (KContiguous) {
      mn = run / (Bk / 4);
      kk = run % (Bk / 4) * 4;
    } else {
      kk = run / (Extent / 4);
      mn = run % (Extent / 4) * 4;
    }
  }

  // Global -> registers; zeros outside (mn_size, k_size).
  __device__ void load(const T* __restrict__ x, Index ld, int mn0, int k0, int mn_size, int k_size, bool vector) {
#pragma unroll
    for (int r = 0; r < runs_per_thread; ++r) {
      const int run = static_cast<int>(threadIdx.x) + r * Threads;
#pragma unroll
      for (int q = 0; q < 4; ++q) regs[r][q] = T(0);
      if (!owns(run)) continue;
      int mn = 0, kk = 0;
      position(run, mn, kk);
      const int gm = mn0 + mn, gk = k0 + kk;
      if constexpr (KContiguous) {
        if (gm >= mn_size) continue;
        const T* src = x + gm * ld + gk;
        if (vector && gk + 4 <= k_size) {
          load_run(src, regs[r]);
        } else {
#pragma unroll
          for (int q = 0; q < 4; ++q)
            if (gk + q < k_size) regs[r][q] = src[q];
        }
      } else {
        if (gk >= k_size) continue;
        const T* src = x + gk * ld + gm;
        if (vector && gm + 4 <= mn_size) {
          load_run(src, regs[r]);
        } else {
#pragma unroll
          for (int q = 0; q < 4; ++q)
            if (gm + q < mn_size) regs[r][q] = src[q];
        }
      }
    }
  }

  // Registers -> one shared stage.
  __device__ void store(T* s) const {
#pragma unroll
    for (int r = 0; r < runs_per_thread; ++r) {
      const int run = static_cast<int>(threadIdx.x) + r * Threads;
      if (!owns(run)) continue;
      int mn = 0, kk = 0;
      position(run, mn, kk);
      if constexpr (KContiguous) {
#pragma unroll
        for (int q = 0; q < 4; ++q) s[(kk + q) * stride + mn] = regs[r][q];
      } else {
        store_run(s + kk * stride + mn, regs[r]);
      }
    }
  }
};

// acc += the product of one staged k-slice. Thread (tx, ty) owns rows g * (bm / (tm / 4)) + ty * 4 + q and
// columns g * (bn / (tn / 4)) + tx * 4 + q of the block tile (g over the 4-wide groups, q in 0..3).
template <class Tile, class T>
__device__ inline void multiply_slice(const T* a_stage, const T* b_stage, int tx, int ty,
                                      T (&acc)[Tile::tm][Tile::tn]) {
  constexpr int a_stride = Tile::bm + 4, b_stride = Tile::bn + 4;
#pragma unroll
  for (int kk = 0; kk < Tile::bk; ++kk) {
    T a_frag[Tile::tm], b_frag[Tile::tn];
#pragma unroll
    for (int g = 0; g < Tile::tm / 4; ++g)
      load_run(a_stage + kk * a_stride + g * Tile::threads_m * 4 + ty * 4, a_frag + g * 4);
#pragma unroll
    for (int g = 0; g < Tile::tn / 4; ++g)
      load_run(b_stage + kk * b_stride + g * Tile::threads_n * 4 + tx * 4, b_frag + g * 4);
#pragma unroll
    for (int i = 0; i < Tile::tm; ++i)
#pragma unroll
      for (int j = 0; j < Tile::tn; ++j) acc[i][j] = fma(a_frag[i], b_frag[j], acc[i][j]);
  }
}

// C (block tile at m0, n0) = alpha acc + beta C, bounds-checked; float4 stores where allowed.
template <class Tile, class T>
__device__ inline void write_tile(const Problem<T>& p, int m0, int n0, int tx, int ty,
                                  const T (&acc)[Tile::tm][Tile::tn]) {
  const bool read_c = p.beta != T(0);
#pragma unroll
  for (int gm = 0; gm < Tile::tm / 4; ++gm)
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int row = m0 + gm * Tile::threads_m * 4 + ty * 4 + q;
      if (row >= p.m) continue;
      T* c_row = p.c + row * p.ldc;
#pragma unroll
      for (int gn = 0; gn < Tile::tn / 4; ++gn) {
        const int col = n0 + gn * Tile::threads_n * 4 + tx * 4;
        T v[4];
#pragma unroll
        for (int j = 0; j < 4; ++j) v[j] = p.alpha * acc[gm * 4 + q][gn * 4 + j];
        if (p.c_vector && col + 4 <= p.n) {
          if (read_c) {
            T old[4];
            load_run(c_row + col, old);
#pragma unroll
            for (int j = 0; j < 4; ++j) v[j] = fma(p.beta, old[j], v[j]);
          }
          store_run(c_row + col, v);
        } else {
#pragma unroll
          for (int j = 0; j < 4; ++j)
            if (col + j < p.n) c_row[col + j] = read_c ? fma(p.beta, c_row[col + j], v[j]) : v[j];
        }
      }
    }
}

// acc += op(A) (m0.., k_begin..k_end) op(B) (k_begin..k_end, n0..) for the block tile at (m0, n0);
// k_begin is a multiple of bk. Single or double-buffered shared stages (see the version table).
template <class T, class Tile, bool TransA, bool TransB, bool DoubleBuffered>
__device__ inline void accumulate_k_range(const Problem<T>& p, int m0, int n0, int k_begin, int k_end, int tx, int ty,
                                          T* a_shared, T* b_shared, T (&acc)[Tile::tm][Tile::tn]) {
  using ASlice = OperandSlice<T, Tile::bm, Tile::bk, Tile::threads, !TransA>;
  using BSlice = OperandSlice<T, Tile::bn, Tile::bk, Tile::threads, TransB>;
  ASlice a_slice;
  BSlice b_slice;
  const int k_slices = (k_end - k_begin + Tile::bk - 1) / Tile::bk;
  if constexpr (DoubleBuffered) {
    if (k_slices > 0) {
      a_slice.load(p.a, p.lda, m0, k_begin, p.m, k_end, p.a_vector);
      b_slice.load(p.b, p.ldb, n0, k_begin, p.n, k_end, p.b_vector);
      a_slice.store(a_shared);
      b_slice.store(b_shared);
      __syncthreads();
    }
    for (int s = 0; s < k_slices; ++s) {
      const int stage = s & 1;
      const bool more = s + 1 < k_slices;
      if (more) {  // in flight during the FMAs below
        const int k0 = k_begin + (s + 1) * Tile::bk;
        a_slice.load(p.a, p.lda, m0, k0, p.m, k_end, p.a_vector);
        b_slice.load(p.b, p.ldb, n0, k0, p.n, k_end, p.b_vector);
      }
      multiply_slice<Tile>(a_shared + stage * ASlice::elements, b_shared + stage * BSlice::elements, tx, ty, acc);
      if (more) {  // the other stage was last read before the previous barrier
        a_slice.store(a_shared + (stage ^ 1) * ASlice::elements);
        b_slice.store(b_shared + (stage ^ 1) * BSlice::elements);
      }
      __syncthreads();
    }
  } else {
    for (int s = 0; s < k_slices; ++s) {
      const int k0 = k_begin + s * Tile::bk;
      a_slice.load(p.a, p.lda, m0, k0, p.m, k_end, p.a_vector);
      b_slice.load(p.b, p.ldb, n0, k0, p.n, k_end, p.b_vector);
      a_slice.store(a_shared);
      b_slice.store(b_shared);
      __syncthreads();
      multiply_slice<Tile>(a_shared, b_shared, tx, ty, acc);
      __syncthreads();
    }
  }
}

template <class T, class Tile, bool TransA, bool TransB, bool DoubleBuffered>
__global__ void __launch_bounds__(Tile::threads, Tile::min_blocks)
    register_blocked_kernel(Problem<T> p, int tiles_m, int tiles_n) {
  constexpr int stages = DoubleBuffered ? 2 : 1;
  __shared__ __align__(16) T a_shared[stages * OperandSlice<T, Tile::bm, Tile::bk, Tile::threads, !TransA>::elements];
  __shared__ __align__(16) T b_shared[stages * OperandSlice<T, Tile::bn, Tile::bk, Tile::threads, TransB>::elements];

  int tile_m = 0, tile_n = 0;
  tile_of_block(tiles_m, tiles_n, tile_m, tile_n);
  const int m0 = tile_m * Tile::bm, n0 = tile_n * Tile::bn;
  const int tx = static_cast<int>(threadIdx.x) % Tile::threads_n;
  const int ty = static_cast<int>(threadIdx.x) / Tile::threads_n;

  T acc[Tile::tm][Tile::tn];
#pragma unroll
  for (int i = 0; i < Tile::tm; ++i)
#pragma unroll
    for (int j = 0; j < Tile::tn; ++j) acc[i][j] = T(0);
  accumulate_k_range<T, Tile, TransA, TransB, DoubleBuffered>(p, m0, n0, 0, p.k, tx, ty, a_shared, b_shared, acc);
  write_tile<Tile>(p, m0, n0, tx, ty, acc);
}

// ---------------------------------------------------------------------------------------------------
// v4_split_k_cluster

// grid (tiles, S), cluster (1, S): block (tile, s) accumulates k in [s k_chunk, (s + 1) k_chunk) (k_chunk a
// multiple of bk), parks its partial tile in shared memory, and after a cluster barrier sums rows
// [s bm / S, (s + 1) bm / S) of the tile over the S partials (rank order) and writes them to C.
template <class T, class Tile, bool TransA, bool TransB>
__global__ void __launch_bounds__(Tile::threads, Tile::min_blocks)
    split_k_cluster_kernel(Problem<T> p, int tiles_m, int tiles_n, int k_chunk) {
#if defined(_CG_HAS_CLUSTER_GROUP)
  __shared__ __align__(16) T a_shared[2 * OperandSlice<T, Tile::bm, Tile::bk, Tile::threads, !TransA>::elements];
  __shared__ __align__(16) T b_shared[2 * OperandSlice<T, Tile::bn, Tile::bk, Tile::threads, TransB>::elements];
  __shared__ __align__(16) T partial[Tile::bm * Tile::bn];  // [row][col] of the block tile
  cooperative_groups::cluster_group cluster = cooperative_groups::this_cluster();

  int tile_m = 0, tile_n = 0;
  tile_of_block(tiles_m, tiles_n, tile_m, tile_n);
  const int m0 = tile_m * Tile::bm, n0 = tile_n * Tile::bn;
  const int tx = static_cast<int>(threadIdx.x) % Tile::threads_n;
  const int ty = static_cast<int>(threadIdx.x) / Tile::threads_n;
  const int splits = static_cast<int>(gridDim.y), split = static_cast<int>(blockIdx.y);  // rank in the cluster
  const int k_begin = static_cast<int>(min(static_cast<long long>(p.k), static_cast<long long>(split) * k_chunk));
  const int k_end = static_cast<int>(min(static_cast<long long>(p.k), static_cast<long long>(k_begin) + k_chunk));

  T acc[Tile::tm][Tile::tn];
#pragma unroll
  for (int i = 0; i < Tile::tm; ++i)
#pragma unroll
    for (int j = 0; j < Tile::tn; ++j) acc[i][j] = T(0);
  accumulate_k_range<T, Tile, TransA, TransB, true>(p, m0, n0, k_begin, k_end, tx, ty, a_shared, b_shared, acc);

#pragma unroll
  for (int gm = 0; gm < Tile::tm / 4; ++gm)
#pragma unroll
    for (int q = 0; q < 4; ++q)
#pragma unroll
      for (int gn = 0; gn < Tile::tn / 4; ++gn)
        store_run(partial + (gm * Tile::threads_m * 4 + ty * 4 + q) * Tile::bn + gn * Tile::threads_n * 4 + tx * 4,
                  &acc[gm * 4 + q][gn * 4]);
  cluster.sync();  // every partial of the cluster is complete and visible

  const int rows_per_rank = Tile::bm / splits;
  for (int e = static_cast<int>(threadIdx.x); e < rows_per_rank * Tile::bn; e += Tile::threads) {
    const int local_row = split * rows_per_rank + e / Tile::bn, local_col = e % Tile::bn;
    const int row = m0 + local_row, col = n0 + local_col;
    if (row >= p.m || col >= p.n) continue;
    T sum = T(0);
    for (int rank = 0; rank < splits; ++rank)
      sum += cluster.map_shared_rank(partial, rank)[local_row * Tile::bn + local_col];
    T* out = p.c + row * p.ldc + col;
    *out = scaled(p, sum, out);
  }
  cluster.sync();  // no block leaves while another still reads its partial
#else
  __trap();  // never launched: the host runs v3 where clusters are unavailable
#endif
}

// ---------------------------------------------------------------------------------------------------
// Host side: launch helpers and the tile choice

template <class Kernel>
void launch_on_tile_grid(Kernel kernel, dim3 block, Index tiles_m, Index tiles_n, const auto& problem,
                         cudaStream_t stream) {
  const Index blocks = tiles_m * tiles_n;
  require(blocks <= INT_MAX, "gemm: ", blocks, " tiles exceed the grid limit");
  kernel<<<static_cast<unsigned>(blocks), block, 0, stream>>>(problem, static_cast<int>(tiles_m),
                                                              static_cast<int>(tiles_n));
  NETGROW_CUDA_CHECK(cudaGetLastError());
}

template <class T>
void launch_smem_tiled(bool trans_a, bool trans_b, const Problem<T>& p, cudaStream_t stream) {
  const Index tiles_m = (p.m + v1_tile - 1) / v1_tile, tiles_n = (p.n + v1_tile - 1) / v1_tile;
  const dim3 block(v1_tile, v1_rows_per_pass);
  if (!trans_a && !trans_b)
    launch_on_tile_grid(smem_tiled_kernel<T, false, false>, block, tiles_m, tiles_n, p, stream);
  else if (!trans_a)
    launch_on_tile_grid(smem_tiled_kernel<T, false, true>, block, tiles_m, tiles_n, p, stream);
  else if (!trans_b)
    launch_on_tile_grid(smem_tiled_kernel<T, true, false>, block, tiles_m, tiles_n, p, stream);
  else
    launch_on_tile_grid(smem_tiled_kernel<T, true, true>, block, tiles_m, tiles_n, p, stream);
}

template <class T, class Tile, bool DoubleBuffered>
void launch_register_blocked(bool trans_a, bool trans_b, const Problem<T>& p, cudaStream_t stream) {
  const Index tiles_m = (p.m + Tile::bm - 1) / Tile::bm, tiles_n = (p.n + Tile::bn - 1) / Tile::bn;
  const dim3 block(Tile::threads);
  if (!trans_a && !trans_b)
    launch_on_tile_grid(register_blocked_kernel<T, Tile, false, false, DoubleBuffered>, block, tiles_m, tiles_n, p,
                        stream);
  else if (!trans_a)
    launch_on_tile_grid(register_blocked_kernel<T, Tile, false, true, DoubleBuffered>, block, tiles_m, tiles_n, p,
                        stream);
  else if (!trans_b)
    launch_on_tile_grid(register_blocked_kernel<T, Tile, true, false, DoubleBuffered>, block, tiles_m, tiles_n, p,
                        stream);
  else
    launch_on_tile_grid(register_blocked_kernel<T, Tile, true, true, DoubleBuffered>, block, tiles_m, tiles_n, p,
                        stream);
}

template <class T, class Tile>
void launch_split_k(bool trans_a, bool trans_b, const Problem<T>& p, int splits, cudaStream_t stream) {
  const Index tiles_m = (p.m + Tile::bm - 1) / Tile::bm, tiles_n = (p.n + Tile::bn - 1) / Tile::bn;
  const Index blocks = tiles_m * tiles_n;
  require(blocks <= INT_MAX, "gemm: ", blocks, " tiles exceed the grid limit");
  require(splits >= 1 && splits <= 8 && Tile::bm % splits == 0, "gemm: ", splits, " k-splits are not supported");
  const int k_chunk = ((p.k + splits - 1) / splits + Tile::bk - 1) / Tile::bk * Tile::bk;
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(static_cast<unsigned>(blocks), static_cast<unsigned>(splits), 1);
  config.blockDim = dim3(Tile::threads, 1, 1);
  config.dynamicSmemBytes = 0;
  config.stream = stream;
  cudaLaunchAttribute cluster{};
  cluster.id = cudaLaunchAttributeClusterDimension;
  cluster.val.clusterDim.x = 1;
  cluster.val.clusterDim.y = static_cast<unsigned>(splits);
  cluster.val.clusterDim.z = 1;
  config.attrs = &cluster;
  config.numAttrs = 1;
  const auto launch = [&](auto kernel) {
    NETGROW_CUDA_CHECK(
        cudaLaunchKernelEx(&config, kernel, p, static_cast<int>(tiles_m), static_cast<int>(tiles_n), k_chunk));
  };
  if (!trans_a && !trans_b)
    launch(split_k_cluster_kernel<T, Tile, false, false>);
  else if (!trans_a)
    launch(split_k_cluster_kernel<T, Tile, false, true>);
  else if (!trans_b)
    launch(split_k_cluster_kernel<T, Tile, true, false>);
  else
    launch(split_k_cluster_kernel<T, Tile, true, true>);
}

// Tiles v4 runs; any other fixed tile asked for runs 64x64.
inline constexpr GemmTile split_k_tiles[] = {GemmTile::t64x64, GemmTile::t32x32};
inline constexpr int split_k_counts[] = {2, 4, 8};

template <class F>
decltype(auto) with_split_k_tile(GemmTile tile, F&& f) {
  if (tile == GemmTile::t32x32) return f(Tile32x32{});
  return f(Tile64x64{});
}

// Blocks of the v3 (or v4) kernel with `Tile` that fit on one SM at once (queried once per process).
template <class T, class Tile, bool SplitK>
int resident_blocks_per_sm() {
  static const int blocks = [] {
    int n = 0;
    cudaError_t status;
    if constexpr (SplitK)
      status = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, split_k_cluster_kernel<T, Tile, false, false>,
                                                             Tile::threads, 0);
    else
      status = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, register_blocked_kernel<T, Tile, false, false, true>,
                                                             Tile::threads, 0);
    if (status != cudaSuccess) {
      (void)cudaGetLastError();
      n = 1;
    }
    return n > 0 ? n : 1;
  }();
  return blocks;
}

// Whether v4 can run: the current device launches clusters and the loaded kernel was compiled for sm_90+
// (checked once per process).
template <class T>
bool split_k_available() {
  static const bool available = [] {
    int device = 0, cluster_launch = 0;
    cudaFuncAttributes attributes{};
    if (cudaGetDevice(&device) != cudaSuccess ||
        cudaDeviceGetAttribute(&cluster_launch, cudaDevAttrClusterLaunch, device) != cudaSuccess ||
        cudaFuncGetAttributes(&attributes, split_k_cluster_kernel<T, Tile64x64, false, false>) != cudaSuccess) {
      (void)cudaGetLastError();
      return false;
    }
    return cluster_launch != 0 && attributes.ptxVersion >= 90;
  }();
  return available;
}

inline int multiprocessor_count() {
  int device = 0, count = 0;
  NETGROW_CUDA_CHECK(cudaGetDevice(&device));
  NETGROW_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
  return count > 0 ? count : 1;
}

// Estimated run time, in units of one FMA at an SM's peak rate, of `blocks` blocks of `Tile` that each
// run k_per_block k steps, `resident` of them fitting on one of `sms` SMs. Blocks run in waves of
// (sms x resident); in a wave where an SM holds b blocks it does b bm bn k FMAs at the tile's
// efficiency, slowed further when those b blocks have fewer than 8 warps (too few to keep the SM's four
// schedulers issuing while loads are in flight).
template <class Tile>
double estimated_time(Index blocks, Index k_per_block, int resident, int sms) {
  const double per_wave = static_cast<double>(sms) * resident;
  const double full_waves = static_cast<double>(static_cast<Index>(static_cast<double>(blocks) / per_wave));
  const double rest = static_cast<double>(blocks) - full_waves * per_wave;
  const double warps = Tile::threads / 32.0;
  const auto wave_time = [&](double blocks_per_sm) {
    const double issue = blocks_per_sm * warps >= 8.0 ? 1.0 : blocks_per_sm * warps / 8.0;
    return blocks_per_sm * Tile::bm * Tile::bn * static_cast<double>(k_per_block > 0 ? k_per_block : 1) /
           (Tile::efficiency * issue);
  };
  double time = full_waves * wave_time(resident);
  if (rest > 0) time += wave_time(static_cast<double>(static_cast<Index>((rest + sms - 1) / sms)));
  return time;
}

template <class Tile>
Index tile_count(Index m, Index n) {
  return ((m + Tile::bm - 1) / Tile::bm) * ((n + Tile::bn - 1) / Tile::bn);
}

template <class T, class Tile>
double estimated_time_v3(Index m, Index n, Index k, int sms) {
  return estimated_time<Tile>(tile_count<Tile>(m, n), k, resident_blocks_per_sm<T, Tile, false>(), sms);
}

// v4's k range per block, and its time with a 10% allowance for the cluster reduction.
inline Index split_k_chunk(Index k, int splits) {
  return ((k + splits - 1) / splits + 7) / 8 * 8;
}

template <class T, class Tile>
double estimated_time_v4(Index m, Index n, Index k, int splits, int sms) {
  return 1.1 * estimated_time<Tile>(tile_count<Tile>(m, n) * splits, split_k_chunk(k, splits),
                                    resident_blocks_per_sm<T, Tile, true>(), sms);
}

// What runs: a register-blocked version with a fixed tile, split `splits` ways along k when > 1 (v4).
struct Plan {
  GemmVersion version;
  GemmTile tile;
  int splits;
};

// The plan for a float GEMM asked to run `version` with `tile` (either may be automatic); see the table.
template <class T>
Plan plan_gemm(GemmVersion version, GemmTile tile, Index m, Index n, Index k) {
  const int sms = multiprocessor_count();
  Plan best{GemmVersion::v3_double_buffered, GemmTile::t128x128, 1};
  double best_time = -1;
  const auto consider = [&](const Plan& candidate, double time) {
    if (best_time < 0 || time < best_time) best = candidate, best_time = time;
  };
  const bool split_k = version == GemmVersion::v4_split_k_cluster || version == GemmVersion::automatic;
  if (split_k && split_k_available<T>()) {
    for (GemmTile t : split_k_tiles) {
      if (version == GemmVersion::v4_split_k_cluster && tile != GemmTile::automatic &&
          t != (tile == GemmTile::t32x32 ? GemmTile::t32x32 : GemmTile::t64x64))
        continue;
      for (int splits : split_k_counts) {
        // automatic splits only long k: at least 16 k-slices per split
        if (version == GemmVersion::automatic && split_k_chunk(k, splits) < 128) continue;
        const double time = with_split_k_tile(
            t, [&](auto shape) { return estimated_time_v4<T, decltype(shape)>(m, n, k, splits, sms); });
        consider(Plan{GemmVersion::v4_split_k_cluster, t, splits}, time);
      }
    }
  }
  if (version == GemmVersion::v4_split_k_cluster && best_time >= 0) return best;
  const GemmVersion blocked =
      version == GemmVersion::v2_register_blocked ? GemmVersion::v2_register_blocked : GemmVersion::v3_double_buffered;
  if (tile != GemmTile::automatic && version != GemmVersion::automatic) return Plan{blocked, tile, 1};
  for (GemmTile t : gemm_fixed_tiles) {
    const double time = with_tile(t, [&](auto shape) { return estimated_time_v3<T, decltype(shape)>(m, n, k, sms); });
    consider(Plan{blocked, t, 1}, time);
  }
  return best;
}

inline bool aligned_runs(const void* p, Index ld) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0 && ld % 4 == 0;
}

}  // namespace gemm_detail

// gemm with an explicit tile for the register-blocked versions (v2, v3, v4); v1 and `automatic` ignore
// `tile` (automatic chooses its own), and GemmTile::automatic picks one by shape. Same contract as gemm.
template <class T>
void gemm_with_tile(bool trans_a, bool trans_b, Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b,
                    Index ldb, T beta, T* c, Index ldc, cudaStream_t stream, GemmVersion version, GemmTile tile) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "gemm: float or double only");
  namespace d = gemm_detail;
  require(m >= 0 && n >= 0 && k >= 0, "gemm: negative size m ", m, ", n ", n, ", k ", k);
  require(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX, "gemm: size m ", m, ", n ", n, ", k ", k,
          " exceeds the kernels' 32-bit index range");
  require(lda >= (trans_a ? m : k), "gemm: lda ", lda, " is smaller than the stored row length ", trans_a ? m : k,
          " of A (trans_a ", trans_a, ")");
  require(ldb >= (trans_b ? k : n), "gemm: ldb ", ldb, " is smaller than the stored row length ", trans_b ? k : n,
          " of B (trans_b ", trans_b, ")");
  require(ldc >= n, "gemm: ldc ", ldc, " is smaller than the row length ", n, " of C");
  if (m == 0 || n == 0) return;

  d::Problem<T> p;
  p.m = static_cast<int>(m), p.n = static_cast<int>(n), p.k = static_cast<int>(k);
  p.alpha = alpha, p.beta = beta;
  p.a = a, p.lda = lda, p.b = b, p.ldb = ldb, p.c = c, p.ldc = ldc;
  p.a_vector = d::aligned_runs(a, lda);
  p.b_vector = d::aligned_runs(b, ldb);
  p.c_vector = d::aligned_runs(c, ldc);

  if (version == GemmVersion::v1_smem_tiled) {
    d::launch_smem_tiled(trans_a, trans_b, p, stream);
    return;
  }
  if constexpr (std::is_same_v<T, double>) {
    if (version == GemmVersion::v2_register_blocked)
      d::launch_register_blocked<T, d::Tile64x64, false>(trans_a, trans_b, p, stream);
    else
      d::launch_register_blocked<T, d::Tile64x64, true>(trans_a, trans_b, p, stream);
  } else {
    const d::Plan plan = d::plan_gemm<T>(version, tile, m, n, k);
    if (plan.splits > 1) {
      d::with_split_k_tile(plan.tile, [&](auto shape) {
        d::launch_split_k<T, decltype(shape)>(trans_a, trans_b, p, plan.splits, stream);
      });
    } else {
      d::with_tile(plan.tile, [&](auto shape) {
        using Tile = decltype(shape);
        if (plan.version == GemmVersion::v2_register_blocked)
          d::launch_register_blocked<T, Tile, false>(trans_a, trans_b, p, stream);
        else
          d::launch_register_blocked<T, Tile, true>(trans_a, trans_b, p, stream);
      });
    }
  }
}

// Row-major C (m, n) = alpha op(A) op(B) + beta C, asynchronous on `stream` (see the contract at the top).
template <class T>
void gemm(bool trans_a, bool trans_b, Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b, Index ldb,
          T beta, T* c, Index ldc, cudaStream_t stream, GemmVersion version = GemmVersion::automatic) {
  gemm_with_tile(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, stream, version, GemmTile::automatic);
}

}  // namespace netgrow::kernels
