// kernels/svd_jacobi.cuh: batched SVD of small matrices by one-sided (Hestenes) Jacobi, one thread
// block per matrix; the device twin of the exact path of backend/cpu/svd.hpp.
//
// Versions
//   svd_jacobi_v1_round_robin   one block per matrix. The working matrix W (rows >= cols; the input or
//                               its transpose) sits column by column in shared memory when it fits,
//                               else in a global workspace (JacobiStorage). Each sweep visits every
//                               column pair once in round-robin (tournament) order: (cols + 1) / 2
//                               disjoint pairs per round, one group of `group` threads per pair; a
//                               pair is rotated when |<w_p, w_q>| > tol ||w_p|| ||w_q||. Sweeps stop
//                               after one without rotations (or at max_sweeps). The matrix is first
//                               scaled by a power of two (exact) so no norm under- or overflows.
//   (next: block-Jacobi with several column pairs per warp and fewer block-wide barriers, for
//    matrices beyond ~128 columns.)
//
// Contract of the launcher `svd_jacobi` (what the CPU exact path promises, see backend/cpu/svd.hpp):
//   - singular values in descending order, k of them (0 <= k <= min(m, n));
//   - u (m, k) and v (n, k) with orthonormal columns; columns of numerically zero singular values
//     (sigma_j <= eps * sigma_max, including exactly zero columns and the all-zero matrix) are
//     completed to an orthonormal set, deterministically (Gram-Schmidt of the unit vector e_i whose
//     row is least covered by the previous columns);
//   - each column of u has its largest-magnitude entry positive (the first such entry on ties), v's
//     column flips with it. Without u, v keeps the sign the same rule gives u.
//   - NaN or infinity in the input gives NaN output, never a hang (sweeps are capped).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include "netgrow/core/cuda_check.hpp"
#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"

namespace netgrow::kernels {

// Where svd_jacobi keeps each matrix while it rotates it.
enum class JacobiStorage { automatic, shared, global };

struct JacobiSvdOptions {
  JacobiStorage storage = JacobiStorage::automatic;  // automatic: shared memory when it fits
  int max_sweeps = 32;                               // cap on sweeps (convergence takes ~5-10)
  double tolerance = 0;  // rotate when |cos(w_p, w_q)| > tolerance; 0: eps(T) * max(8, 2 sqrt(rows))
};

// Device memory a caller lends a launcher: at least the bytes its *_workspace_bytes function asks
// for, 16-byte aligned. An empty workspace lets the launcher allocate (stream-ordered) itself.
struct DeviceWorkspace {
  void* data = nullptr;
  std::size_t bytes = 0;
};

namespace svd_detail {

// ---------------------------------------------------------------------------------------------
// Host-side plumbing shared by the SVD launchers

// Device memory owned for the duration of one launcher call, allocated and released in stream
// order (cudaMallocAsync / cudaFreeAsync), so neither synchronises. This class is the one place that
// allocates for the SVD kernels: swap it for netgrow's pooled allocator when that exists.
class SvdScratch {
 public:
  SvdScratch() = default;
  SvdScratch(std::size_t bytes, cudaStream_t stream) : stream_(stream) {
    if (bytes > 0) NETGROW_CUDA_CHECK(cudaMallocAsync(&data_, bytes, stream));
  }
  SvdScratch(const SvdScratch&) = delete;
  SvdScratch& operator=(const SvdScratch&) = delete;
  SvdScratch(SvdScratch&& o) noexcept : data_(std::exchange(o.data_, nullptr)), stream_(o.stream_) {}
  SvdScratch& operator=(SvdScratch&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      stream_ = o.stream_;
    }
    return *this;
  }
  ~SvdScratch() { release(); }
  void* data() const { return data_; }

 private:
  void release() noexcept {
    if (data_) (void)cudaFreeAsync(data_, stream_);  // a destructor cannot throw; the error stays sticky
    data_ = nullptr;
  }
  void* data_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

// The workspace a launcher works in: the caller's (checked for size and alignment) or its own.
inline void* resolve_workspace(const DeviceWorkspace& given, std::size_t needed, SvdScratch& own, cudaStream_t stream,
                               const char* who) {
  if (needed == 0) return nullptr;
  if (given.data == nullptr) {
    own = SvdScratch(needed, stream);
    return own.data();
  }
  require(given.bytes >= needed, who, ": workspace of ", given.bytes, " bytes is too small, need ", needed);
  require(reinterpret_cast<std::uintptr_t>(given.data) % 16 == 0, who, ": workspace must be 16-byte aligned");
  return given.data;
}

constexpr std::size_t align_up(std::size_t bytes, std::size_t to = 256) {
  return (bytes + to - 1) / to * to;
}

// Largest dynamic shared memory one block of the current device may opt in to.
inline std::size_t max_dynamic_shared_bytes() {
  int device = 0, bytes = 0;
  NETGROW_CUDA_CHECK(cudaGetDevice(&device));
  NETGROW_CUDA_CHECK(cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  return static_cast<std::size_t>(bytes);
}

// Lets `kernel` use `bytes` of dynamic shared memory (an opt-in beyond 48 KiB).
template <class Kernel>
void allow_dynamic_shared(Kernel kernel, std::size_t bytes) {
  if (bytes > 48 * 1024)
    NETGROW_CUDA_CHECK(
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

inline unsigned grid_size(Index items) {
  require(items >= 0 && items <= static_cast<Index>(INT_MAX), "SVD kernels: ", items, " blocks exceed the grid limit");
  return static_cast<unsigned>(items);
}

// ---------------------------------------------------------------------------------------------
// Device helpers: overloads so the kernels stay templates on the element type

__device__ __forceinline__ float sqrt_of(float x) {
  return sqrtf(x);
}
__device__ __forceinline__ double sqrt_of(double x) {
  return sqrt(x);
}
__device__ __forceinline__ float abs_of(float x) {
  return fabsf(x);
}
__device__ __forceinline__ double abs_of(double x) {
  return fabs(x);
}
__device__ __forceinline__ float frexp_of(float x, int* e) {
  return frexpf(x, e);
}
__device__ __forceinline__ double frexp_of(double x, int* e) {
  return frexp(x, e);
}
__device__ __forceinline__ float ldexp_of(float x, int e) {
  return ldexpf(x, e);
}
__device__ __forceinline__ double ldexp_of(double x, int e) {
  return ldexp(x, e);
}
template <class T>
__device__ __forceinline__ bool is_finite(T x) {
  return isfinite(x);
}

// Sum over an aligned group of `width` lanes (a power of two <= 32); every lane of the warp must call
// it. All lanes of the group get the same, bitwise identical, value.
template <class T>
__device__ __forceinline__ T group_sum(T x, int width) {
  for (int offset = width / 2; offset > 0; offset /= 2) x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

// Block-wide reduction with `op`; every thread of the block (a multiple of 32 threads) must call it
// and gets the result. `scratch` holds 32 values.
template <class T, class Op>
__device__ T block_reduce(T x, Op op, T* scratch) {
  const int lane = static_cast<int>(threadIdx.x) & 31, warp = static_cast<int>(threadIdx.x) >> 5;
  const int warps = static_cast<int>(blockDim.x + 31) >> 5;
  for (int offset = 16; offset > 0; offset /= 2) x = op(x, __shfl_xor_sync(0xffffffffu, x, offset));
  __syncthreads();  // the scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = x;
  __syncthreads();
  T r = scratch[0];
  for (int w = 1; w < warps; ++w) r = op(r, scratch[w]);
  return r;
}

struct SumOp {
  template <class T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};
struct MaxOp {  // NaN-propagating maximum
  template <class T>
  __device__ T operator()(T a, T b) const {
    return (a > b || a != a) ? a : b;
  }
};

// Index of the smallest value over the block (smallest index on ties); every thread must call it.
template <class T>
__device__ int block_argmin(T value, int index, T* scratch, int* index_scratch) {
  const int lane = static_cast<int>(threadIdx.x) & 31, warp = static_cast<int>(threadIdx.x) >> 5;
  const int warps = static_cast<int>(blockDim.x + 31) >> 5;
  for (int offset = 16; offset > 0; offset /= 2) {
    const T ov = __shfl_xor_sync(0xffffffffu, value, offset);
    const int oi = __shfl_xor_sync(0xffffffffu, index, offset);
    if (ov < value || (ov == value && oi < index)) {
      value = ov;
      index = oi;
    }
  }
  __syncthreads();
  if (lane == 0) {
    scratch[warp] = value;
    index_scratch[warp] = index;
  }
  __syncthreads();
  T best = scratch[0];
  int best_index = index_scratch[0];
  for (int w = 1; w < warps; ++w)
    if (scratch[w] < best || (scratch[w] == best && index_scratch[w] < best_index)) {
      best = scratch[w];
      best_index = index_scratch[w];
    }
  return best_index;
}

// Entry (i, j) of a row-major matrix.
template <class T>
__device__ __forceinline__ T& at(T* m, Index ld, Index i, Index j) {
  return m[i * ld + j];
}

// Makes columns [first, last) of the row-major (rows, ld) matrix `out` orthonormal to each other and
// to columns [0, first), which must already be orthonormal: column r becomes the normalised residual
// of e_i, i the row least covered by columns [0, r), after two rounds of Gram-Schmidt. Needs
// rows >= last. Block-level: every thread calls it; x holds `rows` scratch values, coef `last`.
template <class T>
__device__ void complete_orthonormal_columns(T* out, Index ld, int rows, int first, int last, T* x, T* coef, T* red,
                                             int* index_red) {
  const int tid = static_cast<int>(threadIdx.x), threads = static_cast<int>(blockDim.x);
  const int lane = tid & 31, warp = tid >> 5, warps = threads >> 5;
  for (int r = first; r < last; ++r) {
    T least = std::numeric_limits<T>::infinity();
    int least_row = INT_MAX;
    for (int i = tid; i < rows; i += threads) {
      T weight = 0;
      for (int c = 0; c < r; ++c) weight += at(out, ld, i, c) * at(out, ld, i, c);
      if (weight < least) {
        least = weight;
        least_row = i;
      }
    }
    const int pick = block_argmin(least, least_row, red, index_red);
    for (int i = tid; i < rows; i += threads) x[i] = (i == pick) ? T(1) : T(0);
    __syncthreads();
    for (int pass = 0; pass < 2; ++pass) {
      for (int c = warp; c < r; c += warps) {  // coef_c = <out_c, x>
        T s = 0;
        for (int i = lane; i < rows; i += 32) s += at(out, ld, i, c) * x[i];
        s = group_sum(s, 32);
        if (lane == 0) coef[c] = s;
      }
      __syncthreads();
      for (int i = tid; i < rows; i += threads) {
        T s = x[i];
        for (int c = 0; c < r; ++c) s -= coef[c] * at(out, ld, i, c);
        x[i] = s;
      }
      __syncthreads();
    }
    T s2 = 0;
    for (int i = tid; i < rows; i += threads) s2 += x[i] * x[i];
    const T norm = sqrt_of(block_reduce(s2, SumOp{}, red));
    for (int i = tid; i < rows; i += threads) at(out, ld, i, r) = x[i] / norm;
    __syncthreads();
  }
}

// Largest-magnitude entry of a strided vector over an aligned group of `width` lanes (first index on
// ties); returns that entry's value to every lane of the group. All lanes of the warp must call it.
template <class T, class Get>
__device__ T group_largest_entry(int length, int lane, int width, bool active, Get get) {
  T best = -1, value = 0;
  int best_index = INT_MAX;
  if (active)
    for (int i = lane; i < length; i += width) {
      const T x = get(i);
      if (abs_of(x) > best) {
        best = abs_of(x);
        best_index = i;
        value = x;
      }
    }
  for (int offset = width / 2; offset > 0; offset /= 2) {
    const T ob = __shfl_xor_sync(0xffffffffu, best, offset);
    const int oi = __shfl_xor_sync(0xffffffffu, best_index, offset);
    const T ov = __shfl_xor_sync(0xffffffffu, value, offset);
    if (ob > best || (ob == best && oi < best_index)) {
      best = ob;
      best_index = oi;
      value = ov;
    }
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// svd_jacobi_v1_round_robin

template <class T>
struct JacobiParams {
  const T* a;  // (batch) x (m, n) row-major, row stride lda, matrix stride stride_a
  Index lda, stride_a;
  int m, n, k;
  T* sigma;  // (batch) x (k)
  Index stride_sigma;
  T* u;  // (batch) x (m, k) or nullptr
  Index ldu, stride_u;
  T* v;  // (batch) x (n, k) or nullptr
  Index ldv, stride_v;
  T* global_matrix;     // per-matrix working storage in global memory, or nullptr: in shared memory
  Index global_stride;  // elements per matrix in global_matrix
  int max_sweeps;
  T tolerance;
  bool transposed;  // work on a^T (when m < n)
  bool accumulate;  // keep the rotations (v; when transposed u, whose signs v needs too)
  int group;        // threads per column pair, a power of two <= 32
};

// Bytes of the always-shared part of the Jacobi kernel's dynamic shared memory for `cols` columns:
// reduction scratch (32 T + 32 int), flags (4 int), norms and coefficients (cols T each), the
// column order (cols int). The matrix part, when shared, starts after it.
template <class T>
constexpr std::size_t jacobi_small_shared_bytes(Index cols) {
  return align_up(32 * sizeof(T) + 36 * sizeof(int) + 2 * static_cast<std::size_t>(cols) * sizeof(T) +
                      static_cast<std::size_t>(cols) * sizeof(int),
                  16);
}

template <class T>
__global__ void __launch_bounds__(1024) svd_jacobi_v1_round_robin(const JacobiParams<T> p) {
  extern __shared__ __align__(16) unsigned char jacobi_shared[];
  const int tid = static_cast<int>(threadIdx.x), threads = static_cast<int>(blockDim.x);
  const Index b = blockIdx.x;
  const int rows = p.transposed ? p.n : p.m;  // working matrix W (rows, cols), rows >= cols
  const int cols = p.transposed ? p.m : p.n;

  T* red = reinterpret_cast<T*>(jacobi_shared);       // 32
  int* index_red = reinterpret_cast<int*>(red + 32);  // 32
  int* flag = index_red + 32;                         // 4
  T* norms = reinterpret_cast<T*>(flag + 4);          // cols
  T* coef = norms + cols;                             // cols
  int* order = reinterpret_cast<int*>(coef + cols);   // cols
  T* w = p.global_matrix ? p.global_matrix + b * p.global_stride
                         : reinterpret_cast<T*>(jacobi_shared + jacobi_small_shared_bytes<T>(cols));
  T* acc = w + static_cast<Index>(rows) * cols;  // (cols, cols) column by column, when p.accumulate

  // 1. Scale by a power of two (exact) so that max |a| lies in [0.5, 1), and load W column by column.
  const T* a = p.a + b * p.stride_a;
  const Index elements = static_cast<Index>(p.m) * p.n;
  T local_max = 0;
  for (Index e = tid; e < elements; e += threads)
    local_max = MaxOp{}(local_max, abs_of(a[(e / p.n) * p.lda + e % p.n]));
  const T max_abs = block_reduce(local_max, MaxOp{}, red);
  int exponent = 0;
  if (max_abs > 0 && is_finite(max_abs)) frexp_of(max_abs, &exponent);
  const T scale = ldexp_of(T(1), exponent);
  for (Index e = tid; e < elements; e += threads) {
    const Index i = e / p.n, j = e % p.n;  // input (i, j), read along rows
    const T x = ldexp_of(a[i * p.lda + j], -exponent);
    if (p.transposed)
      w[i * rows + j] = x;  // W = a^T: column i, row j
    else
      w[j * rows + i] = x;
  }
  if (p.accumulate)
    for (Index e = tid; e < static_cast<Index>(cols) * cols; e += threads)
      acc[e] = (e / cols == e % cols) ? T(1) : T(0);
  __syncthreads();

  // 2. Sweeps of round-robin rotations.
  const int pairs = (cols + 1) / 2, slots = 2 * pairs;  // a phantom column pads odd counts
  const int group = p.group, groups = threads / group, gid = tid / group, glane = tid % group;
  for (int sweep = 0; sweep < p.max_sweeps; ++sweep) {
    if (tid == 0) flag[0] = 0;
    __syncthreads();
    for (int round = 0; round < slots - 1; ++round) {
      for (int base = 0; base < pairs; base += groups) {  // the same trip count for every thread
        const int pair = base + gid;
        int pc = 0, qc = 0;
        if (pair == 0) {
          pc = round;
          qc = slots - 1;
        } else {
          pc = (round + pair) % (slots - 1);
          qc = (round - pair % (slots - 1) + (slots - 1)) % (slots - 1);
        }
        const bool active = pair < pairs && pc < cols && qc < cols;
        T* wp = w + static_cast<Index>(pc) * rows;
        T* wq = w + static_cast<Index>(qc) * rows;
        T alpha = 0, beta = 0, gamma = 0;
        if (active)
          for (int i = glane; i < rows; i += group) {
            const T x = wp[i], y = wq[i];
            alpha += x * x;
            beta += y * y;
            gamma += x * y;
          }
        alpha = group_sum(alpha, group);
        beta = group_sum(beta, group);
        gamma = group_sum(gamma, group);
        const T na = sqrt_of(alpha), nb = sqrt_of(beta);
        if (active && na > 0 && nb > 0 && abs_of(gamma) > p.tolerance * na * nb) {
          // Rotation that makes columns p and q orthogonal: t = tan(theta) is the smaller root of
          // t^2 + 2 zeta t - 1 = 0 with zeta = (beta - alpha) / (2 gamma).
          const T zeta = (beta - alpha) / (2 * gamma);
          const T az = abs_of(zeta);
          const T root = az > 1 ? az * sqrt_of(1 + (1 / az) * (1 / az)) : sqrt_of(1 + az * az);
          T t = 1 / (az + root);
          if (zeta < 0) t = -t;
          const T c = 1 / sqrt_of(1 + t * t), s = c * t;
          for (int i = glane; i < rows; i += group) {
            const T x = wp[i], y = wq[i];
            wp[i] = c * x - s * y;
            wq[i] = s * x + c * y;
          }
          if (p.accumulate) {
            T* vp = acc + static_cast<Index>(pc) * cols;
            T* vq = acc + static_cast<Index>(qc) * cols;
            for (int i = glane; i < cols; i += group) {
              const T x = vp[i], y = vq[i];
              vp[i] = c * x - s * y;
              vq[i] = s * x + c * y;
            }
          }
          if (glane == 0) atomicOr(flag, 1);
        }
      }
      __syncthreads();
    }
    const int rotated = flag[0];
    __syncthreads();
    if (!rotated) break;
  }

  // 3. Column norms are the singular values (of the scaled matrix); order them descending.
  for (int base = 0; base < cols; base += groups) {
    const int j = base + gid;
    T s2 = 0;
    if (j < cols)
      for (int i = glane; i < rows; i += group)
        s2 += w[static_cast<Index>(j) * rows + i] * w[static_cast<Index>(j) * rows + i];
    s2 = group_sum(s2, group);
    if (j < cols && glane == 0) norms[j] = sqrt_of(s2);
  }
  __syncthreads();
  for (int j = tid; j < cols; j += threads) {
    const T key = norms[j] == norms[j] ? norms[j] : T(-1);  // NaN last
    int rank = 0;
    for (int i = 0; i < cols; ++i) {
      const T other = norms[i] == norms[i] ? norms[i] : T(-1);
      rank += (other > key || (other == key && i < j)) ? 1 : 0;
    }
    order[rank] = j;
  }
  __syncthreads();

  // 4. Outputs. N side: the normalised columns of W (u, or v when transposed); A side: the rotations.
  const T sigma_max = norms[order[0]];
  const T zero_below = sigma_max * std::numeric_limits<T>::epsilon();  // numerically zero at or below
  const int k = p.k;
  int nonzero = 0;  // leading singular values that are not numerically zero (they come first)
  for (int r = 0; r < k; ++r) nonzero += norms[order[r]] > zero_below ? 1 : 0;
  T* sigma = p.sigma + b * p.stride_sigma;
  for (int r = tid; r < k; r += threads) sigma[r] = norms[order[r]] * scale;
  T* u = p.u ? p.u + b * p.stride_u : nullptr;
  T* v = p.v ? p.v + b * p.stride_v : nullptr;
  T* n_side = p.transposed ? v : u;
  const Index n_ld = p.transposed ? p.ldv : p.ldu;
  T* a_side = p.transposed ? u : v;
  const Index a_ld = p.transposed ? p.ldu : p.ldv;
  if (n_side)
    for (Index e = tid; e < static_cast<Index>(rows) * k; e += threads) {
      const int i = static_cast<int>(e / k), r = static_cast<int>(e % k);
      const int j = order[r];
      at(n_side, n_ld, i, r) = r < nonzero ? w[static_cast<Index>(j) * rows + i] / norms[j] : T(0);
    }
  if (a_side)
    for (Index e = tid; e < static_cast<Index>(cols) * k; e += threads) {
      const int i = static_cast<int>(e / k), r = static_cast<int>(e % k);
      at(a_side, a_ld, i, r) = acc[static_cast<Index>(order[r]) * cols + i];
    }
  __syncthreads();
  if (n_side && nonzero < k) {
    // W is no longer needed: its first column serves as scratch.
    complete_orthonormal_columns(n_side, n_ld, rows, nonzero, k, w, coef, red, index_red);
  }

  // 5. Signs: the largest-magnitude entry of each u column positive.
  if (u || v) {
    for (int base = 0; base < k; base += groups) {
      const int r = base + gid;
      const bool active = r < k;
      const int j = active ? order[r] : 0;
      T largest = 0;
      if (u) {
        largest = group_largest_entry<T>(p.m, glane, group, active, [&](int i) { return at(u, p.ldu, i, r); });
      } else if (p.transposed) {  // u would be the rotations' column j
        largest = group_largest_entry<T>(p.m, glane, group, active,
                                         [&](int i) { return acc[static_cast<Index>(j) * cols + i]; });
      } else {  // u would be W's column j, normalised (a completed column keeps its sign)
        largest = group_largest_entry<T>(p.m, glane, group, active && r < nonzero,
                                         [&](int i) { return w[static_cast<Index>(j) * rows + i]; });
      }
      if (active && largest < 0) {
        if (u)
          for (int i = glane; i < p.m; i += group) at(u, p.ldu, i, r) = -at(u, p.ldu, i, r);
        if (v)
          for (int i = glane; i < p.n; i += group) at(v, p.ldv, i, r) = -at(v, p.ldv, i, r);
      }
    }
  }
}

// Flips each column pair (u_r, v_r) so that u_r's largest-magnitude entry is positive (first on
// ties). One warp per column.
template <class T>
__global__ void fix_singular_vector_signs_kernel(T* u, Index ldu, int m, T* v, Index ldv, int n, int k) {
  const int warp = static_cast<int>((blockIdx.x * blockDim.x + threadIdx.x) >> 5);
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const bool active = warp < k;
  const int r = active ? warp : 0;
  const T largest = group_largest_entry<T>(m, lane, 32, active, [&](int i) { return at(u, ldu, i, r); });
  if (active && largest < 0) {
    for (int i = lane; i < m; i += 32) at(u, ldu, i, r) = -at(u, ldu, i, r);
    if (v)
      for (int i = lane; i < n; i += 32) at(v, ldv, i, r) = -at(v, ldv, i, r);
  }
}

// One block: completes the columns r of the row-major (rows, k) matrix `out` whose singular value
// sigma[r] <= zero_below_relative * sigma[0] (they are trailing: sigma descends) to an orthonormal set
// with the leading ones. scratch holds `rows` values.
template <class T>
__global__ void __launch_bounds__(256)
    complete_columns_kernel(T* out, Index ld, int rows, int k, const T* sigma, T zero_below_relative, T* scratch) {
  extern __shared__ __align__(16) unsigned char complete_shared[];
  T* red = reinterpret_cast<T*>(complete_shared);
  int* index_red = reinterpret_cast<int*>(red + 32);
  T* coef = reinterpret_cast<T*>(index_red + 32);
  const T zero_below = sigma[0] * zero_below_relative;
  int nonzero = 0;
  for (int r = 0; r < k; ++r) nonzero += sigma[r] > zero_below ? 1 : 0;
  if (nonzero < k) complete_orthonormal_columns(out, ld, rows, nonzero, k, scratch, coef, red, index_red);
}

// Host-side shape of one Jacobi launch.
struct JacobiPlan {
  int rows = 0, cols = 0;  // working matrix
  bool transposed = false, accumulate = false, in_shared = true;
  int group = 1, threads = 32;
  std::size_t shared_bytes = 0;     // dynamic shared memory per block
  std::size_t workspace_bytes = 0;  // global workspace for the whole batch
  Index global_stride = 0;          // elements per matrix in the workspace
};

template <class T>
JacobiPlan plan_jacobi(Index batch, Index m, Index n, bool want_u, bool want_v, const JacobiSvdOptions& options) {
  require(batch >= 0 && m >= 0 && n >= 0, "svd_jacobi: negative size (batch ", batch, ", m ", m, ", n ", n, ")");
  require(m < (Index{1} << 30) && n < (Index{1} << 30), "svd_jacobi: (", m, ", ", n, ") is too large");
  JacobiPlan plan;
  plan.transposed = m < n;
  plan.rows = static_cast<int>(plan.transposed ? n : m);
  plan.cols = static_cast<int>(plan.transposed ? m : n);
  // The rotations are v, or u when transposed; v alone still needs u's signs.
  plan.accumulate = plan.transposed ? (want_u || want_v) : want_v;
  int group = 1;
  while (group < 32 && group * 6 < plan.rows) group *= 2;  // about six rows per thread
  plan.group = group;
  const Index pair_threads = static_cast<Index>((plan.cols + 1) / 2) * group;
  plan.threads = static_cast<int>(std::min<Index>(1024, std::max<Index>(32, (pair_threads + 31) / 32 * 32)));
  const std::size_t small = jacobi_small_shared_bytes<T>(plan.cols);
  const std::size_t matrix_elements = static_cast<std::size_t>(plan.rows) * static_cast<std::size_t>(plan.cols) +
                                      (plan.accumulate ? static_cast<std::size_t>(plan.cols) * plan.cols : 0);
  const std::size_t limit = max_dynamic_shared_bytes();
  require(small <= limit, "svd_jacobi: ", plan.cols, " columns need ", small,
          " bytes of shared memory for bookkeeping, more than the device's ", limit,
          "; use the randomized top-k or the cuSOLVER path for matrices this large");
  const bool fits = small + matrix_elements * sizeof(T) <= limit;
  switch (options.storage) {
    case JacobiStorage::automatic:
      plan.in_shared = fits;
      break;
    case JacobiStorage::shared:
      require(fits, "svd_jacobi: a (", m, ", ", n, ") matrix does not fit in shared memory (", limit, " bytes)");
      plan.in_shared = true;
      break;
    case JacobiStorage::global:
      plan.in_shared = false;
      break;
  }
  plan.shared_bytes = small + (plan.in_shared ? matrix_elements * sizeof(T) : 0);
  plan.global_stride = plan.in_shared ? 0 : static_cast<Index>(align_up(matrix_elements * sizeof(T)) / sizeof(T));
  plan.workspace_bytes = plan.in_shared ? 0 : static_cast<std::size_t>(batch) * plan.global_stride * sizeof(T);
  return plan;
}

}  // namespace svd_detail

// Bytes of device workspace svd_jacobi needs for these arguments (0 when the matrices fit in shared
// memory). Call with the same want_u / want_v (u, v non-null) as the launch.
template <class T>
std::size_t svd_jacobi_workspace_bytes(Index batch, Index m, Index n, bool want_u, bool want_v,
                                       const JacobiSvdOptions& options = {}) {
  return svd_detail::plan_jacobi<T>(batch, m, n, want_u, want_v, options).workspace_bytes;
}

// Top-k SVD of each matrix of a batch: a_b = u_b diag(sigma_b) v_b^T + (the rest of the spectrum).
//   a      (batch) x (m, n) row-major: a[b * stride_a + i * lda + j]        (read only)
//   sigma  (batch) x (k): sigma[b * stride_sigma + r], descending           (assigned)
//   u      (batch) x (m, k): u[b * stride_u + i * ldu + r], or nullptr      (assigned)
//   v      (batch) x (n, k): v[b * stride_v + j * ldv + r], or nullptr      (assigned)
// 0 <= k <= min(m, n). Any m, n (m < n is handled through a^T). All pointers are device pointers.
template <class T>
void svd_jacobi(Index batch, Index m, Index n, const T* a, Index lda, Index stride_a, Index k, T* sigma,
                Index stride_sigma, T* u, Index ldu, Index stride_u, T* v, Index ldv, Index stride_v,
                cudaStream_t stream, const JacobiSvdOptions& options = {}, DeviceWorkspace workspace = {}) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "svd_jacobi: float or double");
  const svd_detail::JacobiPlan plan = svd_detail::plan_jacobi<T>(batch, m, n, u != nullptr, v != nullptr, options);
  require(k >= 0 && k <= std::min(m, n), "svd_jacobi: k = ", k, " outside [0, min(m, n) = ", std::min(m, n), "] for (",
          m, ", ", n, ")");
  require(options.max_sweeps >= 1, "svd_jacobi: max_sweeps must be positive, got ", options.max_sweeps);
  if (batch == 0 || k == 0) return;
  require(a != nullptr && sigma != nullptr, "svd_jacobi: a and sigma must be device pointers, got null");
  require(lda >= n, "svd_jacobi: lda = ", lda, " < n = ", n);
  require(!u || ldu >= k, "svd_jacobi: ldu = ", ldu, " < k = ", k);
  require(!v || ldv >= k, "svd_jacobi: ldv = ", ldv, " < k = ", k);
  if (batch > 1) {  // outputs of different matrices must not overlap
    require(stride_sigma >= k, "svd_jacobi: stride_sigma = ", stride_sigma, " < k = ", k);
    require(!u || stride_u >= (m - 1) * ldu + k, "svd_jacobi: stride_u = ", stride_u, " overlaps the next u");
    require(!v || stride_v >= (n - 1) * ldv + k, "svd_jacobi: stride_v = ", stride_v, " overlaps the next v");
  }
  svd_detail::SvdScratch own;
  void* work = svd_detail::resolve_workspace(workspace, plan.workspace_bytes, own, stream, "svd_jacobi");

  svd_detail::JacobiParams<T> p{};
  p.a = a;
  p.lda = lda;
  p.stride_a = stride_a;
  p.m = static_cast<int>(m);
  p.n = static_cast<int>(n);
  p.k = static_cast<int>(k);
  p.sigma = sigma;
  p.stride_sigma = stride_sigma;
  p.u = u;
  p.ldu = ldu;
  p.stride_u = stride_u;
  p.v = v;
  p.ldv = ldv;
  p.stride_v = stride_v;
  p.global_matrix = plan.in_shared ? nullptr : static_cast<T*>(work);
  p.global_stride = plan.global_stride;
  p.max_sweeps = options.max_sweeps;
  const double eps = std::numeric_limits<T>::epsilon();
  p.tolerance = static_cast<T>(
      options.tolerance > 0 ? options.tolerance : eps * std::max(8.0, 2.0 * std::sqrt(static_cast<double>(plan.rows))));
  p.transposed = plan.transposed;
  p.accumulate = plan.accumulate;
  p.group = plan.group;
  svd_detail::allow_dynamic_shared(svd_detail::svd_jacobi_v1_round_robin<T>, plan.shared_bytes);
  svd_detail::svd_jacobi_v1_round_robin<T>
      <<<svd_detail::grid_size(batch), plan.threads, plan.shared_bytes, stream>>>(p);
  NETGROW_CUDA_CHECK(cudaGetLastError());
}

// Flips each column pair (u_r, v_r) so that u_r's largest-magnitude entry is positive (the first such
// entry on ties): the sign rule of every netgrow SVD. u (m, k) row-major with row stride ldu; v (n, k)
// or nullptr.
template <class T>
void fix_singular_vector_signs(T* u, Index ldu, Index m, T* v, Index ldv, Index n, Index k, cudaStream_t stream) {
  require(m >= 0 && n >= 0 && k >= 0 && m < INT_MAX && n < INT_MAX && k < INT_MAX,
          "fix_singular_vector_signs: bad sizes");
  if (k == 0 || m == 0) return;
  require(u != nullptr && ldu >= k && (!v || ldv >= k), "fix_singular_vector_signs: bad u / v arguments");
  const int warps_per_block = 8;
  svd_detail::fix_singular_vector_signs_kernel<T>
      <<<svd_detail::grid_size((k + warps_per_block - 1) / warps_per_block), 32 * warps_per_block, 0, stream>>>(
          u, ldu, static_cast<int>(m), v, ldv, static_cast<int>(n), static_cast<int>(k));
  NETGROW_CUDA_CHECK(cudaGetLastError());
}

// Completes the columns r of out (rows, k) row-major whose sigma[r] <= zero_below_relative * sigma[0]
// to an orthonormal set with the others (sigma: k device values, descending). scratch: `rows` device
// values. A no-op on the device when no singular value is that small.
template <class T>
void complete_zero_singular_columns(T* out, Index ld, Index rows, Index k, const T* sigma, T zero_below_relative,
                                    T* scratch, cudaStream_t stream) {
  require(rows >= k && k >= 0 && rows < INT_MAX && ld >= k, "complete_zero_singular_columns: bad sizes");
  if (k == 0) return;
  const std::size_t shared = 32 * sizeof(T) + 32 * sizeof(int) + static_cast<std::size_t>(k) * sizeof(T);
  svd_detail::allow_dynamic_shared(svd_detail::complete_columns_kernel<T>, shared);
  svd_detail::complete_columns_kernel<T><<<1, 256, shared, stream>>>(
      out, ld, static_cast<int>(rows), static_cast<int>(k), sigma, zero_below_relative, scratch);
  NETGROW_CUDA_CHECK(cudaGetLastError());
}

}  // namespace netgrow::kernels
