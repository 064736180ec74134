// Tests ops/blas.hpp on the Cpu back end: gemm (all transpose combinations, alpha/beta, k = 0, shape errors), bias
// broadcast, row sums, copy, fill, scale, axpy, squared_norm and all_finite.
#include <doctest/doctest.h>

#include "netgrow/ops/blas.hpp"

#include <cmath>
#include <limits>
#include <vector>

using namespace netgrow;
using ops::Trans;

namespace {

constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();

// A (rows, cols) double tensor of reproducible, irregular values in (-1, 1).
Tensor<double> random_matrix(Index rows, Index cols, int seed) {
  Tensor<double> t({rows, cols});
  for (Index i = 0; i < t.numel(); ++i) t[i] = std::sin(1.7 * static_cast<double>(i) + 0.9 * seed + 0.3);
  return t;
}

double element(const Tensor<double>& x, Trans t, Index i, Index j) { return t == Trans::no ? x.at(i, j) : x.at(j, i); }

// C = alpha * op(A) op(B) + beta * C with a naive triple loop.
Tensor<double> naive_gemm(Trans ta, Trans tb, double alpha, const Tensor<double>& a, const Tensor<double>& b,
                          double beta, const Tensor<double>& c) {
  const Index m = c.dim(0), n = c.dim(1);
  const Index k = ta == Trans::no ? a.dim(1) : a.dim(0);
  Tensor<double> out({m, n});
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < n; ++j) {
      double s = 0;
      for (Index p = 0; p < k; ++p) s += element(a, ta, i, p) * element(b, tb, p, j);
      out.at(i, j) = alpha * s + beta * c.at(i, j);
    }
  return out;
}

void check_close(const Tensor<double>& got, const Tensor<double>& want) {
  REQUIRE(got.shape() == want.shape());
  for (Index i = 0; i < got.numel(); ++i) {
    INFO("element ", i);
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));
  }
}

// Runs gemm for op(A) (m, k), op(B) (k, n) against the naive loop with the given alpha and beta, starting
// from a random C.
void check_gemm(Trans ta, Trans tb, Index m, Index k, Index n, double alpha, double beta) {
  INFO("ta ", ta == Trans::yes, " tb ", tb == Trans::yes, " m ", m, " k ", k, " n ", n, " alpha ", alpha, " beta ",
       beta);
  Tensor<double> a = ta == Trans::no ? random_matrix(m, k, 1) : random_matrix(k, m, 1);
  Tensor<double> b = tb == Trans::no ? random_matrix(k, n, 2) : random_matrix(n, k, 2);
  Tensor<double> c = random_matrix(m, n, 3);
  Tensor<double> want = naive_gemm(ta, tb, alpha, a, b, beta, c);
  ops::gemm<double>(ta, tb, alpha, a, b, beta, c);
  check_close(c, want);
}

const Trans both[] = {Trans::no, Trans::yes};

}  // namespace

TEST_CASE("gemm matches a naive triple loop for every transpose combination at odd sizes") {
  struct Size {
    Index m, k, n;
  };
  for (Trans ta : both)
    for (Trans tb : both)
      for (Size s : {Size{7, 5, 3}, Size{1, 1, 1}, Size{13, 1, 9}, Size{3, 11, 1}, Size{1, 17, 6}}) {
        check_gemm(ta, tb, s.m, s.k, s.n, 1.0, 0.0);
        check_gemm(ta, tb, s.m, s.k, s.n, -0.75, 0.0);
        check_gemm(ta, tb, s.m, s.k, s.n, 1.5, 1.0);
        check_gemm(ta, tb, s.m, s.k, s.n, 0.5, -2.5);
      }
}

TEST_CASE("gemm with beta zero ignores NaN garbage already in C") {
  for (Trans ta : both)
    for (Trans tb : both) {
      INFO("ta ", ta == Trans::yes, " tb ", tb == Trans::yes);
      Tensor<double> a = ta == Trans::no ? random_matrix(7, 5, 4) : random_matrix(5, 7, 4);
      Tensor<double> b = tb == Trans::no ? random_matrix(5, 3, 5) : random_matrix(3, 5, 5);
      Tensor<double> c({7, 3});
      c.fill(nan_value);
      Tensor<double> zero({7, 3});
      Tensor<double> want = naive_gemm(ta, tb, 2.0, a, b, 0.0, zero);
      ops::gemm<double>(ta, tb, 2.0, a, b, 0.0, c);
      CHECK(ops::all_finite<double>(c));
      check_close(c, want);
    }
}

TEST_CASE("gemm with beta one accumulates into C") {
  Tensor<double> a = Tensor<double>::from({2, 2}, {1, 2, 3, 4});
  Tensor<double> b = Tensor<double>::from({2, 2}, {5, 6, 7, 8});
  Tensor<double> c = Tensor<double>::from({2, 2}, {1, 1, 1, 1});
  // A B = [[19, 22], [43, 50]]
  ops::gemm<double>(Trans::no, Trans::no, 1.0, a, b, 1.0, c);
  CHECK(c.to_vector() == std::vector<double>{20, 23, 44, 51});
  ops::gemm<double>(Trans::no, Trans::no, 1.0, a, b, 1.0, c);
  CHECK(c.to_vector() == std::vector<double>{39, 45, 87, 101});
  // A^T B^T = (B A)^T; B A = [[23, 34], [31, 46]]
  ops::gemm<double>(Trans::yes, Trans::yes, -1.0, a, b, 1.0, c);
  CHECK(c.to_vector() == std::vector<double>{39 - 23, 45 - 31, 87 - 34, 101 - 46});
}

TEST_CASE("gemm with an empty inner dimension scales C by beta") {
  Tensor<double> a({4, 0});
  Tensor<double> b({0, 3});
  Tensor<double> c({4, 3});

  SUBCASE("beta zero sets C to zero even over NaN") {
    c.fill(nan_value);
    ops::gemm<double>(Trans::no, Trans::no, 1.0, a, b, 0.0, c);
    for (Index i = 0; i < c.numel(); ++i) CHECK(c[i] == 0.0);
  }
  SUBCASE("beta one leaves C unchanged") {
    c.fill(2.5);
    ops::gemm<double>(Trans::no, Trans::no, 1.0, a, b, 1.0, c);
    for (Index i = 0; i < c.numel(); ++i) CHECK(c[i] == 2.5);
  }
  SUBCASE("another beta multiplies C") {
    c.fill(2.0);
    ops::gemm<double>(Trans::no, Trans::no, 1.0, a, b, -3.0, c);
    for (Index i = 0; i < c.numel(); ++i) CHECK(c[i] == -6.0);
  }
  SUBCASE("transposed operands with k = 0") {
    Tensor<double> at({0, 4});
    Tensor<double> bt({3, 0});
    c.fill(1.0);
    ops::gemm<double>(Trans::yes, Trans::yes, 1.0, at, bt, 0.5, c);
    for (Index i = 0; i < c.numel(); ++i) CHECK(c[i] == 0.5);
  }
}

TEST_CASE("gemm works in float") {
  Tensor<float> a = Tensor<float>::from({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor<float> b = Tensor<float>::from({2, 3}, {1, 0, -1, 2, 1, 0});
  Tensor<float> c({2, 2});
  // A B^T = [[1 - 3, 2 + 2], [4 - 6, 8 + 5]]
  ops::gemm<float>(Trans::no, Trans::yes, 1.0f, a, b, 0.0f, c);
  CHECK(c.to_vector() == std::vector<float>{-2, 4, -2, 13});
}

TEST_CASE("gemm rejects shapes that do not fit and names them") {
  Tensor<double> a({7, 5});
  Tensor<double> b({4, 3});
  Tensor<double> c({7, 3});
  CHECK_THROWS_WITH_AS(ops::gemm<double>(Trans::no, Trans::no, 1.0, a, b, 0.0, c), doctest::Contains("(4, 3)"),
                       ShapeError);
  CHECK_THROWS_WITH_AS(ops::gemm<double>(Trans::no, Trans::no, 1.0, a, b, 0.0, c), doctest::Contains("(7, 5)"),
                       ShapeError);

  Tensor<double> b2({5, 3});
  Tensor<double> c_wrong({7, 4});
  CHECK_THROWS_WITH_AS(ops::gemm<double>(Trans::no, Trans::no, 1.0, a, b2, 0.0, c_wrong),
                       doctest::Contains("(7, 4)"), ShapeError);
  // Transposing A makes it (5, 7), which no longer fits B (5, 3).
  CHECK_THROWS_AS(ops::gemm<double>(Trans::yes, Trans::no, 1.0, a, b2, 0.0, c), ShapeError);
  // Transposing B makes it (3, 5): inner dimensions 5 vs 3.
  CHECK_THROWS_AS(ops::gemm<double>(Trans::no, Trans::yes, 1.0, a, b2, 0.0, c), ShapeError);

  Tensor<double> v({5});
  CHECK_THROWS_WITH_AS(ops::gemm<double>(Trans::no, Trans::no, 1.0, a, v, 0.0, c), doctest::Contains("rank 2"),
                       ShapeError);
  CHECK_THROWS_WITH_AS(ops::gemm<double>(Trans::no, Trans::no, 1.0, a, v, 0.0, c), doctest::Contains("(5)"),
                       ShapeError);
}

TEST_CASE("a failed gemm leaves C untouched") {
  Tensor<double> a({2, 3});
  Tensor<double> b({2, 3});
  Tensor<double> c({2, 3});
  c.fill(4.0);
  CHECK_THROWS_AS(ops::gemm<double>(Trans::no, Trans::no, 1.0, a, b, 0.0, c), ShapeError);
  for (Index i = 0; i < c.numel(); ++i) CHECK(c[i] == 4.0);
}

TEST_CASE("add_row_vector adds the bias to every row") {
  Tensor<double> y = Tensor<double>::from({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor<double> bias = Tensor<double>::from({2}, {10, -1});
  ops::add_row_vector<double>(y, bias);
  CHECK(y.to_vector() == std::vector<double>{11, 1, 13, 3, 15, 5});

  SUBCASE("a rank-3 output is treated as (N, rest)") {
    Tensor<double> y3({2, 2, 2});
    Tensor<double> b4 = Tensor<double>::from({4}, {1, 2, 3, 4});
    ops::add_row_vector<double>(y3, b4);
    CHECK(y3.to_vector() == std::vector<double>{1, 2, 3, 4, 1, 2, 3, 4});
  }
  SUBCASE("a bias of the wrong length throws ShapeError") {
    Tensor<double> b3({3});
    CHECK_THROWS_WITH_AS(ops::add_row_vector<double>(y, b3), doctest::Contains("3 elements"), ShapeError);
  }
}

TEST_CASE("sum_rows assigns with beta zero and accumulates with beta one") {
  Tensor<double> x = Tensor<double>::from({3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  Tensor<double> out({4});

  SUBCASE("beta zero ignores NaN in the output") {
    out.fill(nan_value);
    ops::sum_rows<double>(x, 0.0, out);
    CHECK(out.to_vector() == std::vector<double>{15, 18, 21, 24});
  }
  SUBCASE("beta one adds the sums") {
    out.fill(1.0);
    ops::sum_rows<double>(x, 1.0, out);
    CHECK(out.to_vector() == std::vector<double>{16, 19, 22, 25});
    ops::sum_rows<double>(x, 1.0, out);
    CHECK(out.to_vector() == std::vector<double>{31, 37, 43, 49});
  }
  SUBCASE("another beta scales the old values") {
    out.fill(2.0);
    ops::sum_rows<double>(x, 0.5, out);
    CHECK(out.to_vector() == std::vector<double>{16, 19, 22, 25});
  }
  SUBCASE("an output of the wrong length throws ShapeError") {
    Tensor<double> wrong({3});
    CHECK_THROWS_WITH_AS(ops::sum_rows<double>(x, 0.0, wrong), doctest::Contains("rows of 4"), ShapeError);
  }
}

TEST_CASE("copy copies the elements between shapes of the same size") {
  Tensor<double> src = Tensor<double>::from({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor<double> dst({6});
  dst.fill(nan_value);
  ops::copy<double>(src, dst);
  CHECK(dst.to_vector() == src.to_vector());

  // Copying onto itself is a no-op.
  ops::copy<double>(src, src);
  CHECK(src.to_vector() == std::vector<double>{1, 2, 3, 4, 5, 6});

  // Empty tensors copy nothing.
  Tensor<double> e1({0, 3});
  Tensor<double> e2({0});
  CHECK_NOTHROW(ops::copy<double>(e1, e2));

  Tensor<double> wrong({5});
  CHECK_THROWS_WITH_AS(ops::copy<double>(src, wrong), doctest::Contains("(2, 3) into (5)"), ShapeError);
}

TEST_CASE("fill and scale set and multiply every element") {
  Tensor<double> x({3, 5});
  ops::fill<double>(x, 1.25);
  for (Index i = 0; i < x.numel(); ++i) CHECK(x[i] == 1.25);
  ops::scale<double>(x, -4.0);
  for (Index i = 0; i < x.numel(); ++i) CHECK(x[i] == -5.0);
  ops::scale<double>(x, 0.0);
  for (Index i = 0; i < x.numel(); ++i) CHECK(x[i] == 0.0);
}

TEST_CASE("axpy adds a scaled tensor and checks the element count") {
  Tensor<double> x = Tensor<double>::from({3}, {1, 2, 3});
  Tensor<double> y = Tensor<double>::from({3}, {10, 20, 30});
  ops::axpy<double>(2.0, x, y);
  CHECK(y.to_vector() == std::vector<double>{12, 24, 36});
  ops::axpy<double>(-0.5, x, y);
  CHECK(y.to_vector() == std::vector<double>{11.5, 23, 34.5});

  Tensor<double> wrong({4});
  CHECK_THROWS_WITH_AS(ops::axpy<double>(1.0, x, wrong), doctest::Contains("(3) vs (4)"), ShapeError);
}

TEST_CASE("squared_norm sums squares in double and all_finite spots NaN and infinity") {
  Tensor<double> x = Tensor<double>::from({2, 2}, {1, -2, 3, -4});
  CHECK(ops::squared_norm<double>(x) == 30.0);
  CHECK(ops::squared_norm<double>(Tensor<double>({0})) == 0.0);

  // 1e20^2 overflows float but not the double accumulator.
  Tensor<float> big = Tensor<float>::from({2}, {1e20f, -1e20f});
  CHECK(ops::squared_norm<float>(big) == doctest::Approx(2e40));
  CHECK(std::isfinite(ops::squared_norm<float>(big)));

  CHECK(ops::all_finite<double>(x));
  CHECK(ops::all_finite<double>(Tensor<double>({0})));
  x[2] = nan_value;
  CHECK_FALSE(ops::all_finite<double>(x));
  x[2] = std::numeric_limits<double>::infinity();
  CHECK_FALSE(ops::all_finite<double>(x));
  x[2] = -std::numeric_limits<double>::infinity();
  CHECK_FALSE(ops::all_finite<double>(x));
  CHECK(ops::all_finite<float>(big));
}
