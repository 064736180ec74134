// The GEMM kernel family (kernels/gemm.cuh) against a double-precision host product.
//
// Every version (v1; v2 and v3 with every tile and the automatic tile; v4 with its tiles; automatic) x
// every transpose case x odd sizes and sizes right after a growth step x three storage layouts:
//   tight       row strides = widths, aligned; alpha 1, beta 0 and C full of NaN (beta 0 must not read C)
//   strided     strides > widths and multiples of 4, offsets of 4 elements: the float4 paths on
//               submatrix views; alpha -0.5, beta 2
//   misaligned  strides = widths + 3, offsets of 1 element: the scalar fallbacks; alpha 2, beta 1
// Elements of the buffers outside the views are NaN for A and B (a kernel that uses one poisons C) and a
// sentinel for C that must come back unchanged.
// v1, v2 and v3 (every tile) must also agree bit for bit with each other on random data (kernels/gemm.cuh
// promises one FMA chain per element in every one of them).
//
// Exact checks use integers in [-3, 3]: every partial sum is an integer below 2^24, so the product is
// exact in float whatever the summation order, and alpha, beta are dyadic: the result must equal the
// reference bit for bit. Rounding checks use uniform [-1, 1] data and the bound, per element,
//   |c - ref| <= (k + 2) eps (|alpha| sum_p |a_ip| |b_pj| + |beta| |c_ij|)   (eps: 2^-23 float, 2^-52 double)
// (a rigorous bound for any summation order, FMA or not).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "gemm_shim.hpp"
#include "netgrow/core/error.hpp"

using netgrow::Index;
using namespace netgrow::test;

namespace {

// splitmix64: small, deterministic test data.
class TestRng {
 public:
  explicit TestRng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-52 - 1.0; }  // [-1, 1)
  int small_int() { return static_cast<int>(next() % 7) - 3; }                      // [-3, 3]

 private:
  std::uint64_t state_;
};

// A logical row-major matrix (rows, cols).
template <class T>
struct Matrix {
  Index rows = 0, cols = 0;
  std::vector<T> v;
  T operator()(Index i, Index j) const { return v[static_cast<std::size_t>(i * cols + j)]; }
};

template <class T>
Matrix<T> make_matrix(Index rows, Index cols, bool integers, TestRng& rng) {
  Matrix<T> x{rows, cols, std::vector<T>(static_cast<std::size_t>(rows * cols))};
  for (T& e : x.v) e = integers ? static_cast<T>(rng.small_int()) : static_cast<T>(rng.uniform());
  return x;
}

// One (m, n, k) problem: op(A) (m, k), op(B) (k, n), the initial C (m, n), and in double the product
// P = op(A) op(B) and S = |op(A)| |op(B)| (for the rounding bound).
template <class T>
struct Problem {
  Index m = 0, n = 0, k = 0;
  bool exact = true;
  Matrix<T> a, b, c0;
  std::vector<double> product, abs_product;
};

template <class T>
Problem<T> make_problem(Index m, Index n, Index k, bool exact, std::uint64_t seed) {
  TestRng rng(seed);
  Problem<T> p;
  p.m = m, p.n = n, p.k = k, p.exact = exact;
  p.a = make_matrix<T>(m, k, exact, rng);
  p.b = make_matrix<T>(k, n, exact, rng);
  p.c0 = make_matrix<T>(m, n, exact, rng);
  p.product.assign(static_cast<std::size_t>(m * n), 0.0);
  if (!exact) p.abs_product.assign(static_cast<std::size_t>(m * n), 0.0);
  for (Index i = 0; i < m; ++i)
    for (Index q = 0; q < k; ++q) {
      const double a = static_cast<double>(p.a(i, q));
      const T* b_row = p.b.v.data() + q * n;
      double* out = p.product.data() + i * n;
      for (Index j = 0; j < n; ++j) out[j] += a * static_cast<double>(b_row[j]);
      if (!exact) {
        double* abs_out = p.abs_product.data() + i * n;
        for (Index j = 0; j < n; ++j) abs_out[j] += std::abs(a) * std::abs(static_cast<double>(b_row[j]));
      }
    }
  return p;
}

struct Layout {
  const char* name;
  Index extra_stride;         // row stride = stored width + extra_stride ...
  bool stride_multiple_of_4;  // ... rounded up to a multiple of 4
  Index offset;               // first element of each view inside its buffer
  double alpha, beta;
};

constexpr Layout tight{"tight", 0, false, 0, 1.0, 0.0};
constexpr Layout strided{"strided", 5, true, 4, -0.5, 2.0};
constexpr Layout misaligned{"misaligned", 3, false, 1, 2.0, 1.0};
constexpr Layout all_layouts[] = {tight, strided, misaligned};

Index row_stride(Index width, const Layout& layout) {
  Index ld = width + layout.extra_stride;
  if (layout.stride_multiple_of_4) ld = (ld + 3) / 4 * 4;
  return ld;
}

// The view's elements in a buffer of `offset + rows ld` elements (the last row cut at `cols`); `fill`
// elsewhere.
template <class T>
std::vector<T> store(const Matrix<T>& x, bool transposed, Index ld, Index offset, T fill) {
  const Index rows = transposed ? x.cols : x.rows, cols = transposed ? x.rows : x.cols;
  const Index size = rows == 0 ? offset : offset + (rows - 1) * ld + cols;
  std::vector<T> buffer(static_cast<std::size_t>(size), fill);
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c)
      buffer[static_cast<std::size_t>(offset + r * ld + c)] = transposed ? x(c, r) : x(r, c);
  return buffer;
}

template <class T>
constexpr T c_sentinel = T(777.25);

// Runs one GEMM and returns "" when C matches, else what went wrong (count and first mismatch).
template <class T>
std::string run_and_compare(const Problem<T>& p, GemmKernel kernel, int tile, bool trans_a, bool trans_b,
                            const Layout& layout) {
  GemmCall<T> call;
  call.kernel = kernel, call.tile = tile, call.trans_a = trans_a, call.trans_b = trans_b;
  call.m = p.m, call.n = p.n, call.k = p.k;
  call.alpha = static_cast<T>(layout.alpha), call.beta = static_cast<T>(layout.beta);
  call.lda = row_stride(trans_a ? p.m : p.k, layout);
  call.ldb = row_stride(trans_b ? p.k : p.n, layout);
  call.ldc = row_stride(p.n, layout);
  call.a_offset = call.b_offset = call.c_offset = layout.offset;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const std::vector<T> a = store(p.a, trans_a, call.lda, call.a_offset, nan);
  const std::vector<T> b = store(p.b, trans_b, call.ldb, call.b_offset, nan);
  Matrix<T> c_view = p.c0;
  if (layout.beta == 0) std::fill(c_view.v.begin(), c_view.v.end(), nan);  // must never be read
  std::vector<T> c = store(c_view, false, call.ldc, call.c_offset, c_sentinel<T>);
  const std::vector<T> c_before = c;
  gemm_on_device(call, a, b, c);

  Index mismatches = 0;
  std::ostringstream first;
  const double eps = std::numeric_limits<T>::epsilon();
  for (Index i = 0; i < p.m; ++i)
    for (Index j = 0; j < p.n; ++j) {
      const std::size_t e = static_cast<std::size_t>(i * p.n + j);
      const double c0 = static_cast<double>(p.c0.v[e]);
      const double expected = layout.alpha * p.product[e] + (layout.beta == 0 ? 0.0 : layout.beta * c0);
      const double got = static_cast<double>(c[static_cast<std::size_t>(call.c_offset + i * call.ldc + j)]);
      double tolerance = 0;
      if (!p.exact)
        tolerance = static_cast<double>(p.k + 2) * eps *
                    (std::abs(layout.alpha) * p.abs_product[e] + std::abs(layout.beta) * std::abs(c0));
      const bool ok =
          p.exact ? got == static_cast<double>(static_cast<T>(expected)) : std::abs(got - expected) <= tolerance;
      if (!ok && mismatches++ == 0)
        first << "C(" << i << ", " << j << ") = " << got << ", expected " << expected << " (tolerance " << tolerance
              << ")";
    }
  // Everything outside the C view comes back unchanged.
  Index clobbered = 0;
  for (std::size_t e = 0; e < c.size(); ++e) {
    const Index i = (static_cast<Index>(e) - call.c_offset) / std::max<Index>(call.ldc, 1);
    const Index j = (static_cast<Index>(e) - call.c_offset) - i * call.ldc;
    const bool in_view = static_cast<Index>(e) >= call.c_offset && i < p.m && j < p.n;
    if (!in_view && !(c[e] == c_before[e])) {
      if (clobbered++ == 0 && mismatches == 0) first << "element " << e << " outside the C view was written";
    }
  }
  if (mismatches == 0 && clobbered == 0) return "";
  std::ostringstream out;
  out << mismatches << " of " << p.m * p.n << " elements differ, " << clobbered << " outside the view written; "
      << first.str();
  return out.str();
}

struct KernelChoice {
  GemmKernel kernel;
  int tile;
  std::string name;
};

// v1; v2 and v3 with the automatic tile and each fixed tile; v4 with the automatic tile and its own two
// (64x64, 32x32); automatic.
std::vector<KernelChoice> every_kernel_and_tile(bool with_split_k = true) {
  std::vector<KernelChoice> choices{{GemmKernel::v1_smem_tiled, 0, gemm_kernel_name(GemmKernel::v1_smem_tiled)}};
  for (GemmKernel kernel : {GemmKernel::v2_register_blocked, GemmKernel::v3_double_buffered})
    for (int tile = 0; tile <= gemm_fixed_tile_count(); ++tile)
      choices.push_back({kernel, tile, gemm_kernel_name(kernel) + "/" + gemm_tile_name(tile)});
  if (!with_split_k) return choices;
  for (int tile = 0; tile <= gemm_fixed_tile_count(); ++tile)
    if (tile == 0 || gemm_tile_name(tile) == "64x64" || gemm_tile_name(tile) == "32x32")
      choices.push_back({GemmKernel::v4_split_k_cluster, tile,
                         gemm_kernel_name(GemmKernel::v4_split_k_cluster) + "/" + gemm_tile_name(tile)});
  choices.push_back({GemmKernel::automatic, 0, gemm_kernel_name(GemmKernel::automatic)});
  return choices;
}

struct Size {
  Index m, n, k;
};

std::string describe(const Size& s, bool trans_a, bool trans_b, const Layout& layout, const std::string& kernel) {
  std::ostringstream out;
  out << kernel << " " << s.m << "x" << s.n << "x" << s.k << (trans_a ? " A^T" : " A") << (trans_b ? " B^T" : " B")
      << " " << layout.name << " (alpha " << layout.alpha << ", beta " << layout.beta << ")";
  return out.str();
}

template <class T>
void check_all(const std::vector<Size>& sizes, bool exact, const std::vector<KernelChoice>& kernels,
               const std::vector<Layout>& layouts, std::uint64_t seed) {
  for (const Size& s : sizes) {
    const Problem<T> p = make_problem<T>(s.m, s.n, s.k, exact, seed++);
    for (int t = 0; t < 4; ++t) {
      const bool trans_a = (t & 1) != 0, trans_b = (t & 2) != 0;
      for (const Layout& layout : layouts)
        for (const KernelChoice& kernel : kernels) {
          const std::string failure = run_and_compare(p, kernel.kernel, kernel.tile, trans_a, trans_b, layout);
          CHECK_MESSAGE(failure.empty(), describe(s, trans_a, trans_b, layout, kernel.name), ": ", failure);
        }
    }
  }
}

// Odd sizes, tile-edge sizes, sizes right after a growth step (1024 + 64 columns, 1031 rows), k = 0 and
// empty outputs.
const std::vector<Size> odd_sizes{{1, 1, 1},      {7, 13, 5},      {33, 65, 17}, {129, 31, 257},  {1031, 1088, 37},
                                  {16, 300, 144}, {130, 10, 1024}, {64, 128, 8}, {128, 128, 128}, {257, 129, 65},
                                  {3, 5, 0},      {0, 5, 3},       {4, 0, 3}};

}  // namespace

TEST_CASE("gemm: every version, tile and transpose case gives the exact product at odd and grown sizes") {
  MESSAGE("v4_split_k_cluster ", gemm_split_k_available() ? "runs split-K over thread-block clusters"
                                                          : "falls back to v3 (no cluster launch on this GPU)");
  check_all<float>(odd_sizes, true, every_kernel_and_tile(), {std::begin(all_layouts), std::end(all_layouts)}, 11);
}

// Small enough for compute-sanitizer's racecheck (which checks every shared-memory access): every
// kernel, tile, transpose case and layout once, at sizes with partial tiles in m, n and k and several k
// tiles (and a long k for split-K). Run it alone with -tc="*sanitizer sweep*".
TEST_CASE("gemm: sanitizer sweep, every version, tile, transpose case and layout once at small odd sizes") {
  check_all<float>({{37, 70, 45}, {9, 33, 300}}, true, every_kernel_and_tile(),
                   {std::begin(all_layouts), std::end(all_layouts)}, 71);
}

TEST_CASE("gemm: random data stays within the float rounding bound") {
  const std::vector<Size> sizes{{257, 263, 300}, {33, 17, 4099}, {100, 1000, 784}};
  check_all<float>(sizes, false, every_kernel_and_tile(), {tight, strided}, 101);
}

TEST_CASE("gemm: the benchmark shapes (conv training shapes and the MLP 784-1024-1024-10 at batch 128)") {
  // As m x n x k with their transposes: the conv GEMMs W (out, C k k) x cols; for a dense layer
  // y = x W^T (A, B^T), dW = dy^T x (A^T, B), dx = dy W (A, B).
  struct Shape {
    Size size;
    bool trans_a, trans_b;
  };
  const std::vector<Shape> shapes{
      {{16, 131072, 144}, false, false}, {{32, 32768, 288}, false, false}, {{64, 8192, 576}, false, false},
      {{1024, 128, 784}, false, false},  {{128, 1024, 784}, false, true},  {{1024, 784, 128}, true, false},
      {{128, 784, 1024}, false, false},  {{128, 1024, 1024}, false, true}, {{128, 10, 1024}, false, true},
      {{10, 1024, 128}, true, false},    {{128, 1024, 10}, false, false}};
  const std::vector<KernelChoice> kernels{{GemmKernel::automatic, 0, "automatic"},
                                          {GemmKernel::v3_double_buffered, 0, "v3_double_buffered/automatic"},
                                          {GemmKernel::v4_split_k_cluster, 0, "v4_split_k_cluster/automatic"},
                                          {GemmKernel::v1_smem_tiled, 0, "v1_smem_tiled"}};
  std::uint64_t seed = 1001;
  for (const Shape& shape : shapes) {
    const Problem<float> p = make_problem<float>(shape.size.m, shape.size.n, shape.size.k, false, seed++);
    for (const KernelChoice& kernel : kernels) {
      const std::string failure = run_and_compare(p, kernel.kernel, kernel.tile, shape.trans_a, shape.trans_b, tight);
      CHECK_MESSAGE(failure.empty(), describe(shape.size, shape.trans_a, shape.trans_b, tight, kernel.name), ": ",
                    failure);
    }
  }
}

TEST_CASE("gemm: v1, v2 and v3 with every tile give bitwise the same C (one FMA chain per element)") {
  // The summation-order promise of kernels/gemm.cuh: same rounding everywhere except v4 (split-K).
  const std::vector<KernelChoice> kernels = every_kernel_and_tile(false);
  const std::vector<Size> sizes{{257, 263, 300}, {33, 17, 4099}, {130, 10, 1024}, {1031, 1088, 37}};
  std::uint64_t seed = 501;
  for (const Size& s : sizes) {
    const Problem<float> p = make_problem<float>(s.m, s.n, s.k, false, seed++);
    for (int t = 0; t < 4; ++t) {
      const bool trans_a = (t & 1) != 0, trans_b = (t & 2) != 0;
      for (const Layout& layout : {strided, misaligned}) {
        std::vector<float> first_c;
        for (const KernelChoice& kernel : kernels) {
          GemmCall<float> call;
          call.kernel = kernel.kernel, call.tile = kernel.tile, call.trans_a = trans_a, call.trans_b = trans_b;
          call.m = p.m, call.n = p.n, call.k = p.k;
          call.alpha = 1.5f, call.beta = -0.75f;
          call.lda = row_stride(trans_a ? p.m : p.k, layout);
          call.ldb = row_stride(trans_b ? p.k : p.n, layout);
          call.ldc = row_stride(p.n, layout);
          call.a_offset = call.b_offset = call.c_offset = layout.offset;
          const std::vector<float> a = store(p.a, trans_a, call.lda, call.a_offset, 0.0f);
          const std::vector<float> b = store(p.b, trans_b, call.ldb, call.b_offset, 0.0f);
          std::vector<float> c = store(p.c0, false, call.ldc, call.c_offset, 0.0f);
          gemm_on_device(call, a, b, c);
          if (first_c.empty()) {
            first_c = c;
            continue;
          }
          Index differ = 0;
          for (std::size_t e = 0; e < c.size(); ++e) differ += c[e] == first_c[e] ? 0 : 1;
          CHECK_MESSAGE(differ == 0, describe(s, trans_a, trans_b, layout, kernel.name), ": ", differ,
                        " elements differ from ", kernels.front().name);
        }
      }
    }
  }
}

TEST_CASE("gemm<double>: every version gives the exact product and stays within the double rounding bound") {
  std::vector<KernelChoice> kernels;
  for (GemmKernel kernel : all_gemm_kernels) kernels.push_back({kernel, 0, gemm_kernel_name(kernel)});
  const std::vector<Size> exact_sizes{{1, 1, 1}, {7, 13, 5}, {129, 31, 257}, {65, 130, 66}, {3, 5, 0}};
  check_all<double>(exact_sizes, true, kernels, {std::begin(all_layouts), std::end(all_layouts)}, 21);
  check_all<double>({{257, 263, 300}}, false, kernels, {tight, misaligned}, 31);
}

TEST_CASE("gemm: invalid sizes and row strides throw ArgumentError before any launch") {
  const std::vector<float> a(64, 1.0f), b(64, 1.0f);
  std::vector<float> c(64, 0.0f);
  GemmCall<float> ok;
  ok.m = 4, ok.n = 4, ok.k = 4, ok.lda = 4, ok.ldb = 4, ok.ldc = 4;
  gemm_on_device(ok, a, b, c);  // the valid call runs
  CHECK(c[0] == 4.0f);

  GemmCall<float> bad = ok;
  bad.m = -1;
  CHECK_THROWS_AS(gemm_on_device(bad, a, b, c), netgrow::ArgumentError);
  bad = ok, bad.lda = 3;  // A (m, k) needs lda >= k
  CHECK_THROWS_AS(gemm_on_device(bad, a, b, c), netgrow::ArgumentError);
  bad = ok, bad.trans_a = true, bad.m = 5, bad.lda = 4;  // A stored (k, m) needs lda >= m
  CHECK_THROWS_AS(gemm_on_device(bad, a, b, c), netgrow::ArgumentError);
  bad = ok, bad.ldb = 3;  // B (k, n) needs ldb >= n
  CHECK_THROWS_AS(gemm_on_device(bad, a, b, c), netgrow::ArgumentError);
  bad = ok, bad.trans_b = true, bad.k = 5, bad.lda = 5, bad.ldb = 4;  // B stored (n, k) needs ldb >= k
  CHECK_THROWS_AS(gemm_on_device(bad, a, b, c), netgrow::ArgumentError);
  bad = ok, bad.ldc = 3;
  CHECK_THROWS_AS(gemm_on_device(bad, a, b, c), netgrow::ArgumentError);
}
