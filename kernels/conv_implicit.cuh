// kernels/conv_implicit.cuh: square-kernel 2-D convolution as implicit GEMMs on the GPU: the patches
// are gathered from the images into shared memory inside the GEMM's k loop (no column matrix in global
// memory), and results are written in the tensors' own layouts (no permutes). Three GEMMs:
//
//   forward  y (N, O, Ho, Wo) = W (O, C k k) x patches(x) (C k k, N Ho Wo) + b      rows O, columns N Ho Wo
//   dgrad    dx (N, C, H, W) = W^T (C, O k k) x taps(dy) (O k k, N H W)             rows C, columns N H W
//   wgrad    dW (O, C k k) (+)= dy (O, N Ho Wo) x patches(x)^T (N Ho Wo, C k k)      rows O, columns C k k
//
// where patches(x)[(c, i, j), (n, oy, ox)] = x[n, c, oy s - p + i, ox s - p + j] (0 outside; the im2col
// layout of kernels/im2col.cuh) and taps(dy)[(o, i, j), (n, y, x)] = dy[n, o, (y + p - i) / s, (x + p - j) / s]
// where both divisions are exact and land inside (Ho, Wo), else 0 (col2im as a gather).
//
// Versions (conv_implicit_forward / _dgrad / _wgrad launch v3; ConvImplicitOptions picks another):
//   v1_tiled_4x4  64 x 64 output tile per 256-thread block, k-slices of 8 staged in shared memory as
//                 [k][64] for both operands (gathered element by element, bounds-checked, zeros outside
//                 the image), each thread a 4 x 4 micro-tile of rows ty + 16 a, columns tx + 16 b, so a
//                 warp's shared reads of the column operand are 16 consecutive floats and its output
//                 stores run along columns (consecutive positions: coalesced). The output's column is
//                 decomposed once per micro-tile column, the gathers' per element (div/mod by k and
//                 the plane sizes). wgrad's k dimension (N Ho Wo) is long and its output small, so it
//                 splits k into S ranges (S chosen from the shape alone), writes S partial tiles to a
//                 workspace and sums them in a fixed order: deterministic, no atomics.
//   v2_row_adaptive  the same, with the tile's shape chosen from the GEMM's rows: R x 4096 / R for
//                 R = 16, 32 or 64 (the smallest that covers the rows, else 64), the 256 threads laid
//                 out (R / 4) x (1024 / R) with 4 x 4 micro-tiles (rows ty + (R / 4) a, columns
//                 tx + (1024 / R) b). A convolution's rows are its output channels (forward, wgrad) or
//                 input channels (dgrad): 16 in a Wide-ResNet's first group, where v1 left three
//                 quarters of every 64-row tile idle. A warp now covers 32 consecutive columns (R = 16,
//                 32) or 16 (R = 64): shared reads of B conflict-free, stores 128 bytes wide.
//   v3_cursors    v2 with the gathers' index arithmetic hoisted: a thread stages the same tile rows and
//                 one column of B in every k-slice, so it decomposes them (and its first k) once and then
//                 steps k by additions (Ops::*_cursor / *_advance). v2 spent about four integer divisions
//                 per staged element (k by k^2 and k, the column by the plane sizes): at R = 16 eight
//                 elements per thread per slice against 128 FMAs, the divisions outweighed the math. One
//                 B cursor per thread walks all its k (they are a fixed stride apart), which keeps v3 at
//                 48-64 registers (v2: 48; a cursor per staged element took 127 at R = 16, a quarter of
//                 v2's occupancy).
// Both versions are one kernel, implicit_gemm_tiled<T, Tile, Version, Ops>.
//
// Summation order: every output is one FMA chain over k = 0, 1, ... (wgrad: S chains, then their sum
// over s = 0..S-1), so results differ from the im2col + GEMM path in the last bits only.
//
// Contract: x, y, dy, dx row-major as above; W (O, C, k, k); b (O) or null; dx assigned; dW assigned or,
// with accumulate, added to. Sizes must fit 32-bit indices (checked). Asynchronous on `stream`.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <climits>

#include "netgrow/core/conv_geometry.hpp"
#include "netgrow/core/cuda_check.hpp"
#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"

namespace netgrow::kernels {

namespace conv_implicit_detail {

inline constexpr int slice = 8;    // k per shared-memory stage
inline constexpr int threads = 256;
inline constexpr int micro = 4;    // micro-tile side

// A block's output tile: Rows x Columns with Rows Columns = 4096, 256 threads in a (Rows / 4) x
// (Columns / 4) layout, each a 4 x 4 micro-tile whose rows are thread_rows apart and columns
// thread_columns apart.
template <int Rows>
struct Tile {
  static_assert(Rows == 16 || Rows == 32 || Rows == 64, "conv_implicit: tile rows 16, 32 or 64");
  static constexpr int rows = Rows;
  static constexpr int columns = 4096 / Rows;
  static constexpr int thread_rows = rows / micro;        // threads down the tile (row spread)
  static constexpr int thread_columns = columns / micro;  // threads across the tile (column spread)
  static_assert(thread_rows * thread_columns == threads, "conv_implicit: 256 threads per tile");
};

// The tile rows v2 picks for a GEMM with `rows` rows (see the file comment).
inline int pick_tile_rows(Index rows) { return rows <= 16 ? 16 : rows <= 32 ? 32 : 64; }

// The geometry in 32-bit ints.
struct Geometry {
  int batch, channels, height, width, kernel, stride, padding, out_height, out_width, out_channels;
  NETGROW_HOST_DEVICE int taps() const { return kernel * kernel; }
  NETGROW_HOST_DEVICE int positions() const { return out_height * out_width; }
  NETGROW_HOST_DEVICE int pixels() const { return height * width; }
};

inline Geometry checked_geometry(Index batch, Index out_channels, const ConvGeometry& g, const char* who) {
  g.check(who);
  require(batch >= 0 && out_channels >= 0 && g.channels >= 0, who, ": negative size");
  const Index biggest = std::max({batch * g.channels * g.height * g.width, batch * out_channels * g.positions(),
                                  out_channels * g.patch_size(), batch * g.positions(), batch * g.height * g.width});
  require(biggest <= INT_MAX, who, ": sizes exceed the kernels' 32-bit index range");
  return Geometry{static_cast<int>(batch),         static_cast<int>(g.channels),     static_cast<int>(g.height),
                  static_cast<int>(g.width),       static_cast<int>(g.kernel),       static_cast<int>(g.stride),
                  static_cast<int>(g.padding),     static_cast<int>(g.out_height()), static_cast<int>(g.out_width()),
                  static_cast<int>(out_channels)};
}

// Channel c's pixel (yy, xx) of one image (`image` = x + n C H W), 0 in the padding.
template <class T>
NETGROW_HOST_DEVICE inline T pixel_or_zero(const T* image, const Geometry& g, int c, int yy, int xx) {
  if (yy < 0 || yy >= g.height || xx < 0 || xx >= g.width) return T(0);
  return image[(static_cast<Index>(c) * g.height + yy) * g.width + xx];
}

// patches(x)[(c, i, j) = entry, (n, position)]: image n's value under tap (i, j) of channel c at output
// position (oy, ox), 0 in the padding.
template <class T>
NETGROW_HOST_DEVICE inline T patch_value(const T* x, const Geometry& g, int n, int position, int entry) {
  const int oy = position / g.out_width, ox = position - oy * g.out_width;
  const int c = entry / g.taps(), tap = entry - c * g.taps();
  const int i = tap / g.kernel, j = tap - i * g.kernel;
  return pixel_or_zero(x + static_cast<Index>(n) * g.channels * g.pixels(), g, c, oy * g.stride - g.padding + i,
                       ox * g.stride - g.padding + j);
}

// Mixed-radix counters for v3's cursors: low += step, carrying into the digits above.
NETGROW_HOST_DEVICE inline void add_with_carry(int& low, int& high, int low_radix, int step) {
  low += step;
  while (low >= low_radix) {
    low -= low_radix;
    ++high;
  }
}
NETGROW_HOST_DEVICE inline void add_with_carry(int& low, int& mid, int& high, int low_radix, int mid_radix, int step) {
  low += step;
  while (low >= low_radix) {
    low -= low_radix;
    if (++mid == mid_radix) {
      mid = 0;
      ++high;
    }
  }
}

// Operands and epilogues of the three GEMMs. a(row, k), b(k, column) read one element (0 outside);
// store(row, column, value, split) writes one result.

// forward: rows o, columns (n, oy, ox), k (c, i, j).
template <class T>
struct ForwardOps {
  const T* x;
  const T* w;
  const T* bias;
  T* y;
  Geometry g;
  NETGROW_HOST_DEVICE T a(int o, int k) const { return w[static_cast<Index>(o) * g.channels * g.taps() + k]; }
  NETGROW_HOST_DEVICE T b(int k, int column) const {
    const int n = column / g.positions();
    return patch_value(x, g, n, column - n * g.positions(), k);
  }
  NETGROW_HOST_DEVICE void store(int o, int column, T value, int) const {
    const int positions = g.positions();
    const int n = column / positions, position = column - n * positions;
    y[(static_cast<Index>(n) * g.out_channels + o) * positions + position] = value + (bias ? bias[o] : T(0));
  }
  // v3's cursors: A walks W's row o along k; B keeps its column's image and window corner and walks
  // k = (c, i, j) by increments.
  struct ACursor {
    const T* at;
    int k;
  };
  NETGROW_HOST_DEVICE ACursor a_cursor(int o, int k) const {
    return {w + static_cast<Index>(o) * g.channels * g.taps() + k, k};
  }
  NETGROW_HOST_DEVICE T a_at(const ACursor& c) const { return *c.at; }
  NETGROW_HOST_DEVICE void a_advance(ACursor& c, int dk) const {
    c.at += dk;
    c.k += dk;
  }
  struct BCursor {
    const T* image;  // x[n]
    int y0, x0;      // the window's corner: oy s - p, ox s - p
    int k, c, i, j;
  };
  NETGROW_HOST_DEVICE BCursor b_cursor(int k, int column) const {
    const int n = column / g.positions(), position = column - n * g.positions();
    const int oy = position / g.out_width, ox = position - oy * g.out_width;
    const int c = k / g.taps(), tap = k - c * g.taps();
    return {x + static_cast<Index>(n) * g.channels * g.pixels(), oy * g.stride - g.padding,
            ox * g.stride - g.padding, k, c, tap / g.kernel, tap - (tap / g.kernel) * g.kernel};
  }
  NETGROW_HOST_DEVICE T b_at(const BCursor& c) const { return pixel_or_zero(c.image, g, c.c, c.y0 + c.i, c.x0 + c.j); }
  NETGROW_HOST_DEVICE void b_advance(BCursor& c, int dk) const {
    c.k += dk;
    add_with_carry(c.j, c.i, c.c, g.kernel, g.kernel, dk);
  }
};

// dgrad: rows c, columns (n, y, x), k (o, i, j).
template <class T>
struct DgradOps {
  const T* dy;
  const T* w;
  T* dx;
  Geometry g;
  NETGROW_HOST_DEVICE T a(int c, int k) const {
    const int o = k / g.taps(), tap = k - o * g.taps();
    return w[(static_cast<Index>(o) * g.channels + c) * g.taps() + tap];
  }
  NETGROW_HOST_DEVICE T b(int k, int column) const {
    const int pixels = g.pixels();
    const int n = column / pixels, pixel = column - n * pixels;
    const int yy = pixel / g.width, xx = pixel - yy * g.width;
    const int o = k / g.taps(), tap = k - o * g.taps();
    const int i = tap / g.kernel, j = tap - i * g.kernel;
    const int ty = yy + g.padding - i, tx = xx + g.padding - j;
    if (ty < 0 || tx < 0 || ty % g.stride != 0 || tx % g.stride != 0) return T(0);
    const int oy = ty / g.stride, ox = tx / g.stride;
    if (oy >= g.out_height || ox >= g.out_width) return T(0);
    return dy[((static_cast<Index>(n) * g.out_channels + o) * g.out_height + oy) * g.out_width + ox];
  }
  NETGROW_HOST_DEVICE void store(int c, int column, T value, int) const {
    const int pixels = g.pixels();
    const int n = column / pixels, pixel = column - n * pixels;
    dx[(static_cast<Index>(n) * g.channels + c) * pixels + pixel] = value;
  }
  // v3's cursors: A walks k = (o, tap) for input channel c; B keeps its pixel's image and shifted
  // coordinates and walks k = (o, i, j).
  struct ACursor {
    int c, k, o, tap;
  };
  NETGROW_HOST_DEVICE ACursor a_cursor(int c, int k) const {
    const int o = k / g.taps();
    return {c, k, o, k - o * g.taps()};
  }
  NETGROW_HOST_DEVICE T a_at(const ACursor& a) const {
    return w[(static_cast<Index>(a.o) * g.channels + a.c) * g.taps() + a.tap];
  }
  NETGROW_HOST_DEVICE void a_advance(ACursor& a, int dk) const {
    a.k += dk;
    add_with_carry(a.tap, a.o, g.taps(), dk);
  }
  struct BCursor {
    const T* plane;  // dy[n]
    int ty0, tx0;    // y + p, x + p
    int k, o, i, j;
  };
  NETGROW_HOST_DEVICE BCursor b_cursor(int k, int column) const {
    const int n = column / g.pixels(), pixel = column - n * g.pixels();
    const int yy = pixel / g.width, xx = pixel - yy * g.width;
    const int o = k / g.taps(), tap = k - o * g.taps();
    return {dy + static_cast<Index>(n) * g.out_channels * g.positions(), yy + g.padding, xx + g.padding, k, o,
            tap / g.kernel, tap - (tap / g.kernel) * g.kernel};
  }
  NETGROW_HOST_DEVICE T b_at(const BCursor& b) const {
    int ty = b.ty0 - b.i, tx = b.tx0 - b.j;
    if (ty < 0 || tx < 0) return T(0);
    if (g.stride != 1) {
      if (ty % g.stride != 0 || tx % g.stride != 0) return T(0);
      ty /= g.stride;
      tx /= g.stride;
    }
    if (ty >= g.out_height || tx >= g.out_width) return T(0);
    return b.plane[(static_cast<Index>(b.o) * g.out_height + ty) * g.out_width + tx];
  }
  NETGROW_HOST_DEVICE void b_advance(BCursor& b, int dk) const {
    b.k += dk;
    add_with_carry(b.j, b.i, b.o, g.kernel, g.kernel, dk);
  }
};

// wgrad: rows o, columns (c, i, j), k (n, oy, ox); partial results of split s go to
// partial[s][o][column] (S > 1) or straight to dw.
template <class T>
struct WgradOps {
  const T* x;
  const T* dy;
  T* dw;
  T* partial;  // S (O, C k k) tiles, or null when S = 1
  bool accumulate;
  Geometry g;
  NETGROW_HOST_DEVICE T a(int o, int k) const {
    const int positions = g.positions();
    const int n = k / positions, position = k - n * positions;
    return dy[(static_cast<Index>(n) * g.out_channels + o) * positions + position];
  }
  NETGROW_HOST_DEVICE T b(int k, int column) const {
    const int n = k / g.positions();
    return patch_value(x, g, n, k - n * g.positions(), column);
  }
  NETGROW_HOST_DEVICE void store(int o, int column, T value, int split) const {
    const Index columns = static_cast<Index>(g.channels) * g.taps();
    const Index at = static_cast<Index>(o) * columns + column;
    if (partial) partial[static_cast<Index>(split) * g.out_channels * columns + at] = value;
    else dw[at] = accumulate ? dw[at] + value : value;
  }
  // v3's cursors: A walks k = (n, position) along output channel o; B keeps its column's (c, i, j) and
  // walks k = (n, oy, ox).
  struct ACursor {
    int o, k, n, position;
  };
  NETGROW_HOST_DEVICE ACursor a_cursor(int o, int k) const {
    const int n = k / g.positions();
    return {o, k, n, k - n * g.positions()};
  }
  NETGROW_HOST_DEVICE T a_at(const ACursor& a) const {
    return dy[(static_cast<Index>(a.n) * g.out_channels + a.o) * g.positions() + a.position];
  }
  NETGROW_HOST_DEVICE void a_advance(ACursor& a, int dk) const {
    a.k += dk;
    add_with_carry(a.position, a.n, g.positions(), dk);
  }
  struct BCursor {
    int c, i, j;  // the column's channel and tap
    int k, n, oy, ox;
  };
  NETGROW_HOST_DEVICE BCursor b_cursor(int k, int column) const {
    const int c = column / g.taps(), tap = column - c * g.taps();
    const int n = k / g.positions(), position = k - n * g.positions();
    const int oy = position / g.out_width;
    return {c, tap / g.kernel, tap - (tap / g.kernel) * g.kernel, k, n, oy, position - oy * g.out_width};
  }
  NETGROW_HOST_DEVICE T b_at(const BCursor& b) const {
    return pixel_or_zero(x + static_cast<Index>(b.n) * g.channels * g.pixels(), g, b.c,
                         b.oy * g.stride - g.padding + b.i, b.ox * g.stride - g.padding + b.j);
  }
  NETGROW_HOST_DEVICE void b_advance(BCursor& b, int dk) const {
    b.k += dk;
    add_with_carry(b.ox, b.oy, b.n, g.out_width, g.out_height, dk);
  }
};

// One block's work, split into what each of its threads does between barriers, so that the kernel below
// runs it with threadIdx and a host loop can replay a whole block (tests/cuda/emulated): the block's
// output tile starts at (row0, column0) and covers k range [k_begin, k_end).
struct TileRange {
  int rows, columns;     // the whole output
  int row0, column0;     // this block's tile
  int k_begin, k_end;    // this block's k range
};

// Thread t's share of staging k-slice [k0, k0 + 8): A's tile [8 k][Rows] and B's [8 k][Columns]
// (Rows / 32 and Columns / 32 elements each, A's rounded up), zeros outside the matrices and the k range.
// Consecutive threads take consecutive k of one A row (W's rows are contiguous in k) and consecutive
// columns of one B row (consecutive output positions: coalesced image reads).
template <class Shape, class T, class Ops>
NETGROW_HOST_DEVICE inline void stage_slice(const Ops& ops, const TileRange& r, int k0, int t,
                                            T (*as)[Shape::rows], T (*bs)[Shape::columns]) {
  for (int e = t; e < slice * Shape::rows; e += threads) {
    const int a_row = e / slice, a_k = e % slice;
    const int row = r.row0 + a_row, k = k0 + a_k;
    as[a_k][a_row] = row < r.rows && k < r.k_end ? ops.a(row, k) : T(0);
  }
  for (int e = t; e < slice * Shape::columns; e += threads) {
    const int b_k = e / Shape::columns, b_column = e % Shape::columns;
    const int k = k0 + b_k, column = r.column0 + b_column;
    bs[b_k][b_column] = k < r.k_end && column < r.columns ? ops.b(k, column) : T(0);
  }
}

// v3: thread t's staging positions stay fixed from one k-slice to the next (256 is a multiple of the
// slice and of every tile's column count): the same tile rows, and a single column of B whose k it
// stages at a fixed stride: k = t / Columns + h 256 / Columns for h < b_count, so one B cursor stepping
// by that stride visits all of them, slice after slice. Each thread decomposes its rows, its column and
// its first k once (Ops::a_cursor / b_cursor, the divisions) and then only steps its cursors
// (Ops::a_advance / b_advance: additions and rare wraps), where v2 divided by k k, the plane sizes and
// the kernel for every element of every slice.
template <class Shape, class Ops>
struct Cursors {
  static constexpr int a_count = (slice * Shape::rows + threads - 1) / threads;  // 1 (16 rows: half the threads) or 2
  static constexpr int b_count = slice * Shape::columns / threads;              // 8, 4 or 2 elements per slice
  static constexpr int b_stride = slice / b_count;                              // 1, 2 or 4: k between them
  typename Ops::ACursor a[a_count];
  typename Ops::BCursor b;
  bool a_row_inside[a_count];  // the row exists (else it stages zeros)
  bool b_column_inside;        // the column exists
};

// Thread t's cursors at the start of its block's k range.
template <class Shape, class Ops>
NETGROW_HOST_DEVICE inline void start_cursors(const Ops& ops, const TileRange& r, int t, Cursors<Shape, Ops>& cur) {
  for (int h = 0; h < Cursors<Shape, Ops>::a_count; ++h) {
    const int e = t + h * threads;
    const int row = r.row0 + e / slice;
    cur.a_row_inside[h] = e < slice * Shape::rows && row < r.rows;
    cur.a[h] = ops.a_cursor(cur.a_row_inside[h] ? row : 0, r.k_begin + e % slice);
  }
  const int column = r.column0 + t % Shape::columns;
  cur.b_column_inside = column < r.columns;
  cur.b = ops.b_cursor(r.k_begin + t / Shape::columns, cur.b_column_inside ? column : 0);
}

// Thread t stages its elements of the next k-slice from its cursors and advances them past the slice.
template <class Shape, class T, class Ops>
NETGROW_HOST_DEVICE inline void stage_slice_from_cursors(const Ops& ops, const TileRange& r, int t,
                                                         Cursors<Shape, Ops>& cur, T (*as)[Shape::rows],
                                                         T (*bs)[Shape::columns]) {
  using C = Cursors<Shape, Ops>;
  for (int h = 0; h < C::a_count; ++h) {
    const int e = t + h * threads;
    if (e >= slice * Shape::rows) break;
    as[e % slice][e / slice] = cur.a_row_inside[h] && cur.a[h].k < r.k_end ? ops.a_at(cur.a[h]) : T(0);
    ops.a_advance(cur.a[h], slice);
  }
  const int column = t % Shape::columns, first_k = t / Shape::columns;
  for (int h = 0; h < C::b_count; ++h) {
    bs[first_k + h * C::b_stride][column] = cur.b_column_inside && cur.b.k < r.k_end ? ops.b_at(cur.b) : T(0);
    ops.b_advance(cur.b, C::b_stride);
  }
}

// Thread t's 4 x 4 micro-tile (rows ty + thread_rows a, columns tx + thread_columns b) += the staged
// slice's products.
template <class Shape, class T>
NETGROW_HOST_DEVICE inline void multiply_slice(int t, T (*as)[Shape::rows], T (*bs)[Shape::columns],
                                               T (&acc)[micro][micro]) {
  const int tx = t % Shape::thread_columns, ty = t / Shape::thread_columns;
  for (int kk = 0; kk < slice; ++kk) {
    T av[micro], bv[micro];
    for (int i = 0; i < micro; ++i) av[i] = as[kk][ty + Shape::thread_rows * i];
    for (int j = 0; j < micro; ++j) bv[j] = bs[kk][tx + Shape::thread_columns * j];
    for (int i = 0; i < micro; ++i)
      for (int j = 0; j < micro; ++j) acc[i][j] = av[i] * bv[j] + acc[i][j];
  }
}

// Thread t's micro-tile written through the epilogue (inside the output only).
template <class Shape, class T, class Ops>
NETGROW_HOST_DEVICE inline void store_tile(const Ops& ops, const TileRange& r, int split, int t,
                                           const T (&acc)[micro][micro]) {
  const int tx = t % Shape::thread_columns, ty = t / Shape::thread_columns;
  for (int i = 0; i < micro; ++i) {
    const int row = r.row0 + ty + Shape::thread_rows * i;
    if (row >= r.rows) continue;
    for (int j = 0; j < micro; ++j) {
      const int column = r.column0 + tx + Shape::thread_columns * j;
      if (column < r.columns) ops.store(row, column, acc[i][j], split);
    }
  }
}

// The tile of block (x, y, split) of an implicit GEMM of (rows, columns) over k_total in ranges of k_per_split.
template <class Shape>
NETGROW_HOST_DEVICE inline TileRange tile_range(int rows, int columns, int k_total, int k_per_split, int block_x,
                                                int block_y, int split) {
  const int k_begin = split * k_per_split;
  const int k_end = k_total < k_begin + k_per_split ? k_total : k_begin + k_per_split;
  return TileRange{rows, columns, block_y * Shape::rows, block_x * Shape::columns, k_begin, k_end};
}

// C (rows, columns) = A (rows, k) B (k, columns) over k range [split k_per_split, ...), blockIdx.z = split.
// grid_for<Shape>(rows, columns, splits), 256 threads. Version 2 stages each slice by per-element
// gathers (stage_slice), version 3 from per-thread cursors (stage_slice_from_cursors).
template <class T, class Shape, int Version, class Ops>
__global__ void __launch_bounds__(threads)
    implicit_gemm_tiled(int rows, int columns, int k_total, int k_per_split, Ops ops) {
  __shared__ T as[slice][Shape::rows];
  __shared__ T bs[slice][Shape::columns];
  const int t = static_cast<int>(threadIdx.x), split = static_cast<int>(blockIdx.z);
  const TileRange r = tile_range<Shape>(rows, columns, k_total, k_per_split, static_cast<int>(blockIdx.x),
                                        static_cast<int>(blockIdx.y), split);
  [[maybe_unused]] Cursors<Shape, Ops> cursors;
  if constexpr (Version == 3) start_cursors<Shape>(ops, r, t, cursors);
  T acc[micro][micro];
#pragma unroll
  for (int i = 0; i < micro; ++i)
#pragma unroll
    for (int j = 0; j < micro; ++j) acc[i][j] = T(0);
  for (int k0 = r.k_begin; k0 < r.k_end; k0 += slice) {
    if constexpr (Version == 3) stage_slice_from_cursors<Shape, T>(ops, r, t, cursors, as, bs);
    else stage_slice<Shape, T>(ops, r, k0, t, as, bs);
    __syncthreads();
    multiply_slice<Shape, T>(t, as, bs, acc);
    __syncthreads();
  }
  store_tile<Shape, T>(ops, r, split, t, acc);
}

// dw (O, C k k) = (accumulate ? dw : 0) + sum over s of partial[s], s = 0, 1, ... in order.
template <class T>
__global__ void __launch_bounds__(threads)
    sum_splits_v1(const T* __restrict__ partial, int splits, Index size, bool accumulate, T* __restrict__ dw) {
  for (Index i = static_cast<Index>(blockIdx.x) * threads + threadIdx.x; i < size;
       i += static_cast<Index>(gridDim.x) * threads) {
    T sum = partial[i];
    for (int s = 1; s < splits; ++s) sum += partial[static_cast<Index>(s) * size + i];
    dw[i] = accumulate ? dw[i] + sum : sum;
  }
}

template <class Shape>
dim3 grid_for(int rows, int columns, int splits) {
  return dim3(static_cast<unsigned>((columns + Shape::columns - 1) / Shape::columns),
              static_cast<unsigned>((rows + Shape::rows - 1) / Shape::rows), static_cast<unsigned>(splits));
}

// Launches the implicit GEMM of `version` (2 or 3) with the tile of `tile_rows` rows (16, 32 or 64).
template <class T, class Ops>
void launch_implicit_gemm(int version, int tile_rows, int rows, int columns, int k_total, int k_per_split,
                          int splits, const Ops& ops, cudaStream_t stream) {
  const auto launch = [&](auto shape) {
    using Shape = decltype(shape);
    const dim3 grid = grid_for<Shape>(rows, columns, splits);
    if (version == 2)
      implicit_gemm_tiled<T, Shape, 2><<<grid, threads, 0, stream>>>(rows, columns, k_total, k_per_split, ops);
    else
      implicit_gemm_tiled<T, Shape, 3><<<grid, threads, 0, stream>>>(rows, columns, k_total, k_per_split, ops);
  };
  if (tile_rows == 16) launch(Tile<16>{});
  else if (tile_rows == 32) launch(Tile<32>{});
  else launch(Tile<64>{});
  NETGROW_CUDA_CHECK(cudaGetLastError());
}

// Blocks in one split of a GEMM of (rows, columns) with tiles of tile_rows rows.
inline Index tiles_for(int tile_rows, Index rows, Index columns) {
  const Index tile_columns = 4096 / tile_rows;
  return ((rows + tile_rows - 1) / tile_rows) * ((columns + tile_columns - 1) / tile_columns);
}

// The tile rows a launcher uses: `requested` when nonzero (16, 32 or 64), else pick_tile_rows(rows).
inline int resolve_tile_rows(int requested, Index rows, const char* who) {
  require(requested == 0 || requested == 16 || requested == 32 || requested == 64, who,
          ": tile rows must be 0 (automatic), 16, 32 or 64, got ", requested);
  return requested ? requested : pick_tile_rows(rows);
}

inline int checked_version(int version, const char* who) {
  require(version == 2 || version == 3, who, ": version must be 2 or 3, got ", version);
  return version;
}

}  // namespace conv_implicit_detail

// Which kernel the launchers run: `version` 3 (cursors, the default) or 2 (per-element gathers, kept
// for comparison); `tile_rows` 0 picks the tile from the GEMM's rows, 16, 32 or 64 force one (64 with
// version 2 is v1).
struct ConvImplicitOptions {
  int tile_rows = 0;
  int version = 3;
};

// y (N, O, Ho, Wo) = conv(x (N, C, H, W), w (O, C, k, k)) + b (O; null for none). Asynchronous on `stream`.
template <class T>
void conv_implicit_forward(const T* x, const T* w, const T* bias, Index batch, Index out_channels,
                           const ConvGeometry& g, T* y, cudaStream_t stream, ConvImplicitOptions options = {}) {
  namespace d = conv_implicit_detail;
  const d::Geometry geo = d::checked_geometry(batch, out_channels, g, "conv_implicit_forward");
  const int rows = geo.out_channels, columns = geo.batch * geo.positions(), k = geo.channels * geo.taps();
  const int tr = d::resolve_tile_rows(options.tile_rows, rows, "conv_implicit_forward");
  const int version = d::checked_version(options.version, "conv_implicit_forward");
  if (rows == 0 || columns == 0) return;
  d::launch_implicit_gemm<T>(version, tr, rows, columns, k, k, 1, d::ForwardOps<T>{x, w, bias, y, geo}, stream);
}

// dx (N, C, H, W) = the input gradient of the convolution for dy (N, O, Ho, Wo); assigned. Asynchronous.
template <class T>
void conv_implicit_dgrad(const T* dy, const T* w, Index batch, Index out_channels, const ConvGeometry& g, T* dx,
                         cudaStream_t stream, ConvImplicitOptions options = {}) {
  namespace d = conv_implicit_detail;
  const d::Geometry geo = d::checked_geometry(batch, out_channels, g, "conv_implicit_dgrad");
  const int rows = geo.channels, columns = geo.batch * geo.pixels(), k = geo.out_channels * geo.taps();
  const int tr = d::resolve_tile_rows(options.tile_rows, rows, "conv_implicit_dgrad");
  const int version = d::checked_version(options.version, "conv_implicit_dgrad");
  if (rows == 0 || columns == 0) return;
  d::launch_implicit_gemm<T>(version, tr, rows, columns, k, k, 1, d::DgradOps<T>{dy, w, dx, geo}, stream);
}

// The number of k ranges wgrad splits N Ho Wo into: about one range per 2048 values of k, at most 64, and
// fewer when the output tile grid alone has enough blocks. From the shape (and the tile) alone:
// deterministic.
inline int conv_implicit_wgrad_splits(Index batch, Index out_channels, const ConvGeometry& g, int tile_rows = 0) {
  namespace d = conv_implicit_detail;
  const Index k = batch * g.positions();
  const int tr = d::resolve_tile_rows(tile_rows, out_channels, "conv_implicit_wgrad_splits");
  const Index blocks = d::tiles_for(tr, out_channels, g.patch_size());
  Index s = std::min<Index>(64, std::max<Index>(1, k / 2048));
  while (s > 1 && blocks * s > 1024) s /= 2;
  return static_cast<int>(s);
}

// Workspace elements conv_implicit_wgrad needs: S (O, C k k) partial tiles when S > 1, else 0.
inline Index conv_implicit_wgrad_workspace(Index batch, Index out_channels, const ConvGeometry& g, int tile_rows = 0) {
  const int s = conv_implicit_wgrad_splits(batch, out_channels, g, tile_rows);
  return s > 1 ? static_cast<Index>(s) * out_channels * g.patch_size() : 0;
}

// dw (O, C, k, k) (+)= the weight gradient for x (N, C, H, W) and dy (N, O, Ho, Wo); `workspace` holds
// conv_implicit_wgrad_workspace(..., tile_rows) elements. Asynchronous on `stream`.
template <class T>
void conv_implicit_wgrad(const T* x, const T* dy, Index batch, Index out_channels, const ConvGeometry& g,
                         bool accumulate, T* dw, T* workspace, cudaStream_t stream,
                         ConvImplicitOptions options = {}) {
  namespace d = conv_implicit_detail;
  const d::Geometry geo = d::checked_geometry(batch, out_channels, g, "conv_implicit_wgrad");
  const int rows = geo.out_channels, columns = geo.channels * geo.taps(), k = geo.batch * geo.positions();
  const int tr = d::resolve_tile_rows(options.tile_rows, rows, "conv_implicit_wgrad");
  const int version = d::checked_version(options.version, "conv_implicit_wgrad");
  if (rows == 0 || columns == 0) return;
  const Index size = static_cast<Index>(rows) * columns;
  if (k == 0) {  // an empty batch: dw = 0 (or unchanged when accumulating)
    if (!accumulate) NETGROW_CUDA_CHECK(cudaMemsetAsync(dw, 0, static_cast<std::size_t>(size) * sizeof(T), stream));
    return;
  }
  const int splits = conv_implicit_wgrad_splits(batch, out_channels, g, tr);
  const int per_split = ((k + splits - 1) / splits + d::slice - 1) / d::slice * d::slice;
  const int used = (k + per_split - 1) / per_split;  // ranges that hold any k
  T* partial = used > 1 ? workspace : nullptr;
  require(used == 1 || workspace != nullptr, "conv_implicit_wgrad: a workspace is needed for ", used, " k ranges");
  d::launch_implicit_gemm<T>(version, tr, rows, columns, k, per_split, used,
                             d::WgradOps<T>{x, dy, dw, partial, accumulate, geo}, stream);
  if (used > 1) {
    const unsigned blocks = static_cast<unsigned>(std::min<Index>(4096, (size + d::threads - 1) / d::threads));
    d::sum_splits_v1<T><<<blocks, d::threads, 0, stream>>>(partial, used, size, accumulate, dw);
    NETGROW_CUDA_CHECK(cudaGetLastError());
  }
}

}  // namespace netgrow::kernels
