// Replays the implicit-GEMM convolution kernels (kernels/conv_implicit.cuh) on the host, block by block and
// thread by thread between their barriers (stage_slice, multiply_slice, store_tile: the functions the
// kernel runs), with both versions (v2's per-element gathers, v3's cursors) and every tile shape (16, 32
// and 64 rows, and the launchers' own choice), and compares
// forward, input gradient and weight gradient (split-k included) with a direct convolution in double. Needs no GPU: it checks the kernels' tiling and index arithmetic on any machine
// that builds the CUDA targets; tests/cuda/layers runs the same kernels on a GPU.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "netgrow/core/rng.hpp"
#include "netgrow/kernels/conv_implicit.cuh"

using namespace netgrow;
namespace d = netgrow::kernels::conv_implicit_detail;

namespace {

// Runs the kernel's grid on the host with the tile of `tile_rows` rows: for each block, each k-slice
// staged by all 256 threads, then multiplied by all of them, then every thread's tile stored.
// version 2 stages each slice by per-element gathers (stage_slice), version 3 from per-thread cursors
// started once per block (start_cursors, stage_slice_from_cursors).
template <class T, class Shape, class Ops>
void replay_shape(int version, int rows, int columns, int k_total, int k_per_split, int splits, const Ops& ops) {
  const dim3 grid = d::grid_for<Shape>(rows, columns, splits);
  static T as[d::slice][Shape::rows], bs[d::slice][Shape::columns];
  std::vector<T> acc(static_cast<std::size_t>(d::threads) * d::micro * d::micro);
  std::vector<d::Cursors<Shape, Ops>> cursors(d::threads);
  auto tile_of = [&](int t) -> T(&)[d::micro][d::micro] {
    return *reinterpret_cast<T(*)[d::micro][d::micro]>(acc.data() + static_cast<std::size_t>(t) * d::micro * d::micro);
  };
  for (int split = 0; split < static_cast<int>(grid.z); ++split)
    for (int by = 0; by < static_cast<int>(grid.y); ++by)
      for (int bx = 0; bx < static_cast<int>(grid.x); ++bx) {
        const d::TileRange r = d::tile_range<Shape>(rows, columns, k_total, k_per_split, bx, by, split);
        std::fill(acc.begin(), acc.end(), T(0));
        if (version == 3)
          for (int t = 0; t < d::threads; ++t) d::start_cursors<Shape>(ops, r, t, cursors[static_cast<std::size_t>(t)]);
        for (int k0 = r.k_begin; k0 < r.k_end; k0 += d::slice) {
          for (int t = 0; t < d::threads; ++t) {
            if (version == 3) d::stage_slice_from_cursors<Shape, T>(ops, r, t, cursors[static_cast<std::size_t>(t)], as, bs);
            else d::stage_slice<Shape, T>(ops, r, k0, t, as, bs);
          }
          for (int t = 0; t < d::threads; ++t) d::multiply_slice<Shape, T>(t, as, bs, tile_of(t));
        }
        for (int t = 0; t < d::threads; ++t) d::store_tile<Shape, T>(ops, r, split, t, tile_of(t));
      }
}

template <class T, class Ops>
void replay(int version, int tile_rows, int rows, int columns, int k_total, int k_per_split, int splits,
            const Ops& ops) {
  if (tile_rows == 16) replay_shape<T, d::Tile<16>>(version, rows, columns, k_total, k_per_split, splits, ops);
  else if (tile_rows == 32) replay_shape<T, d::Tile<32>>(version, rows, columns, k_total, k_per_split, splits, ops);
  else replay_shape<T, d::Tile<64>>(version, rows, columns, k_total, k_per_split, splits, ops);
}

struct Case {
  Index n, c, h, w, o, k, s, p;
};

double input(const std::vector<double>& x, const Case& q, Index n, Index c, Index y, Index xx) {
  if (y < 0 || y >= q.h || xx < 0 || xx >= q.w) return 0;
  return x[static_cast<std::size_t>(((n * q.c + c) * q.h + y) * q.w + xx)];
}

void check_case(const Case& q, bool accumulate, int version, int requested_tile_rows) {
  CAPTURE(version);
  CAPTURE(requested_tile_rows);
  CAPTURE(q.n);
  CAPTURE(q.c);
  CAPTURE(q.o);
  CAPTURE(q.k);
  CAPTURE(q.s);
  CAPTURE(q.p);
  const ConvGeometry g{.channels = q.c, .height = q.h, .width = q.w, .kernel = q.k, .stride = q.s, .padding = q.p};
  const Index ho = g.out_height(), wo = g.out_width(), kk = q.k * q.k;
  Rng rng(static_cast<std::uint64_t>(q.n * 1000 + q.c * 100 + q.o * 10 + q.k + q.s + q.p));
  auto random = [&](Index size) {
    std::vector<double> v(static_cast<std::size_t>(size));
    for (double& e : v) e = rng.uniform() * 2 - 1;
    return v;
  };
  const std::vector<double> x = random(q.n * q.c * q.h * q.w), w = random(q.o * q.c * kk), b = random(q.o),
                            dy = random(q.n * q.o * ho * wo), dw0 = random(q.o * q.c * kk);
  // Direct convolution and its gradients.
  std::vector<double> y_ref(dy.size()), dx_ref(x.size(), 0.0), dw_ref(accumulate ? dw0 : std::vector<double>(dw0.size(), 0.0));
  for (Index n = 0; n < q.n; ++n)
    for (Index o = 0; o < q.o; ++o)
      for (Index oy = 0; oy < ho; ++oy)
        for (Index ox = 0; ox < wo; ++ox) {
          const std::size_t at = static_cast<std::size_t>(((n * q.o + o) * ho + oy) * wo + ox);
          double sum = b[static_cast<std::size_t>(o)];
          for (Index c = 0; c < q.c; ++c)
            for (Index i = 0; i < q.k; ++i)
              for (Index j = 0; j < q.k; ++j) {
                const Index yy = oy * q.s - q.p + i, xx = ox * q.s - q.p + j;
                const std::size_t wi = static_cast<std::size_t>((o * q.c + c) * kk + i * q.k + j);
                sum += w[wi] * input(x, q, n, c, yy, xx);
                if (yy >= 0 && yy < q.h && xx >= 0 && xx < q.w) {
                  dx_ref[static_cast<std::size_t>(((n * q.c + c) * q.h + yy) * q.w + xx)] += w[wi] * dy[at];
                  dw_ref[wi] += dy[at] * input(x, q, n, c, yy, xx);
                }
              }
          y_ref[at] = sum;
        }
  const d::Geometry geo = d::checked_geometry(q.n, q.o, g, "test");
  std::vector<double> y(y_ref.size()), dx(x.size()), dw = dw0;
  // Each GEMM with the tile its launcher picks (or the requested one), as the launchers resolve it.
  const auto tile_for = [&](Index rows) { return d::resolve_tile_rows(requested_tile_rows, rows, "test"); };
  replay<double>(version, tile_for(q.o), static_cast<int>(q.o), static_cast<int>(q.n * ho * wo), static_cast<int>(q.c * kk),
                 static_cast<int>(q.c * kk), 1, d::ForwardOps<double>{x.data(), w.data(), b.data(), y.data(), geo});
  replay<double>(version, tile_for(q.c), static_cast<int>(q.c), static_cast<int>(q.n * q.h * q.w), static_cast<int>(q.o * kk),
                 static_cast<int>(q.o * kk), 1, d::DgradOps<double>{dy.data(), w.data(), dx.data(), geo});
  // The weight gradient as the launcher runs it: its split count, partial tiles, then their ordered sum.
  const int wgrad_tile = tile_for(q.o);
  const int k = static_cast<int>(q.n * ho * wo), splits = kernels::conv_implicit_wgrad_splits(q.n, q.o, g, wgrad_tile);
  const int per_split = ((k + splits - 1) / splits + d::slice - 1) / d::slice * d::slice;
  const int used = (k + per_split - 1) / per_split;
  std::vector<double> partial(
      static_cast<std::size_t>(kernels::conv_implicit_wgrad_workspace(q.n, q.o, g, requested_tile_rows)));
  replay<double>(version, wgrad_tile, static_cast<int>(q.o), static_cast<int>(q.c * kk), k, per_split, used,
                 d::WgradOps<double>{x.data(), dy.data(), dw.data(), used > 1 ? partial.data() : nullptr, accumulate, geo});
  if (used > 1) {
    const std::size_t size = dw.size();
    for (std::size_t i = 0; i < size; ++i) {
      double sum = partial[i];
      for (int s = 1; s < used; ++s) sum += partial[static_cast<std::size_t>(s) * size + i];
      dw[i] = accumulate ? dw[i] + sum : sum;
    }
  }
  auto max_error = [](const std::vector<double>& a, const std::vector<double>& e) {
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - e[i]));
    return m;
  };
  CHECK(max_error(y, y_ref) < 1e-10);
  CHECK(max_error(dx, dx_ref) < 1e-10);
  CHECK(max_error(dw, dw_ref) < 1e-9);
}

}  // namespace

TEST_CASE("the implicit-GEMM convolution kernels compute the convolution and its gradients (host replay)") {
  for (const Case& q : {Case{2, 1, 7, 9, 1, 1, 1, 0}, Case{2, 3, 7, 9, 7, 3, 1, 1}, Case{3, 17, 7, 9, 19, 5, 2, 1},
                        Case{2, 19, 9, 7, 70, 3, 2, 0}, Case{1, 5, 6, 6, 3, 4, 2, 1}, Case{2, 3, 5, 5, 65, 5, 1, 2},
                        Case{5, 2, 1, 1, 3, 1, 1, 0}, Case{4, 3, 2, 2, 17, 3, 2, 1},  // one output position: cursors wrap every step
                        Case{9, 3, 30, 30, 5, 3, 1, 1}}) {  // the last one: 8100 positions, 3 k ranges in wgrad
    for (int version : {2, 3})
      for (int tile_rows : {0, 16, 32, 64}) {  // 0: the launchers' choice from the rows
        check_case(q, false, version, tile_rows);
        check_case(q, true, version, tile_rows);
      }
  }
  CHECK(d::pick_tile_rows(16) == 16);
  CHECK(d::pick_tile_rows(17) == 32);
  CHECK(d::pick_tile_rows(33) == 64);
  CHECK(d::pick_tile_rows(512) == 64);
  CHECK(kernels::conv_implicit_wgrad_splits(9, 5, ConvGeometry{.channels = 3, .height = 30, .width = 30, .kernel = 3,
                                                                .padding = 1}) == 3);
}
