// Tests ops/layout.hpp on the Cpu back end: grown_shape, concat, slice, assign_slice, axis_to_rows and rows_to_axis against naive index loops (ranks 1-4, every axis), the Dense/conv row layouts, and shape errors.
#include <doctest/doctest.h>

#include "netgrow/ops/layout.hpp"
#include "netgrow/core/init.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

using namespace netgrow;

namespace {

// Shapes with odd (and unit) sizes for every rank from 1 to 4.
const std::vector<Shape>& test_shapes() {
  static const std::vector<Shape> shapes{Shape{7},       Shape{1},          Shape{3, 5},         Shape{5, 1},
                                         Shape{3, 5, 7}, Shape{1, 3, 5},    Shape{3, 1, 5, 7},   Shape{5, 3, 3, 7}};
  return shapes;
}

// Reproducible, pairwise distinct-looking values.
template <class T>
Tensor<T> filled(Shape shape, int seed) {
  Tensor<T> t(shape);
  for (Index i = 0; i < t.numel(); ++i) t[i] = static_cast<T>(std::sin(0.37 * static_cast<double>(i) + 1.3 * seed) + seed);
  return t;
}

// Multi-index <-> row-major flat index, written independently of the library.
std::vector<Index> unravel(const Shape& s, Index flat) {
  std::vector<Index> idx(static_cast<std::size_t>(s.rank()));
  for (int i = s.rank() - 1; i >= 0; --i) {
    idx[static_cast<std::size_t>(i)] = flat % s[i];
    flat /= s[i];
  }
  return idx;
}

Index ravel(const Shape& s, const std::vector<Index>& idx) {
  Index flat = 0;
  for (int i = 0; i < s.rank(); ++i) flat = flat * s[i] + idx[static_cast<std::size_t>(i)];
  return flat;
}

// Shape s without dimension ax (rank 0 when s has rank 1).
Shape drop_axis(const Shape& s, int ax) {
  Shape r;
  switch (s.rank()) {
    case 1: r = Shape{}; break;
    case 2: r = Shape{s[ax == 0 ? 1 : 0]}; break;
    case 3: {
      std::vector<Index> d;
      for (int i = 0; i < 3; ++i)
        if (i != ax) d.push_back(s[i]);
      r = Shape{d[0], d[1]};
      break;
    }
    default: {
      std::vector<Index> d;
      for (int i = 0; i < 4; ++i)
        if (i != ax) d.push_back(s[i]);
      r = Shape{d[0], d[1], d[2]};
    }
  }
  return r;
}

std::vector<Index> drop_index(const std::vector<Index>& idx, int ax) {
  std::vector<Index> r;
  for (std::size_t i = 0; i < idx.size(); ++i)
    if (static_cast<int>(i) != ax) r.push_back(idx[i]);
  return r;
}

Shape with_dim(Shape s, int ax, Index d) {
  s[ax] = d;
  return s;
}

int positive_axis(int axis, int rank) { return axis < 0 ? axis + rank : axis; }

template <class T>
void check_equal(const Tensor<T>& got, const Tensor<T>& want) {
  REQUIRE(got.shape() == want.shape());
  for (Index i = 0; i < got.numel(); ++i) {
    INFO("element ", i);
    CHECK(got[i] == want[i]);
  }
}

template <class T>
void check_concat(const Shape& s, int axis) {
  const int ax = positive_axis(axis, s.rank());
  const Shape sb = with_dim(s, ax, 3);
  const Tensor<T> a = filled<T>(s, 1), b = filled<T>(sb, 2);
  Tensor<T> out(ops::grown_shape(s, axis, 3));
  ops::concat<T>(a, b, axis, out);

  Tensor<T> want(with_dim(s, ax, s[ax] + 3));
  for (Index f = 0; f < want.numel(); ++f) {
    std::vector<Index> idx = unravel(want.shape(), f);
    auto& j = idx[static_cast<std::size_t>(ax)];
    if (j < s[ax]) {
      want[f] = a[ravel(s, idx)];
    } else {
      j -= s[ax];
      want[f] = b[ravel(sb, idx)];
    }
  }
  check_equal(out, want);
}

template <class T>
void check_slice(const Shape& s, int axis, Index begin, Index count) {
  const int ax = positive_axis(axis, s.rank());
  const Tensor<T> src = filled<T>(s, 3);
  Tensor<T> out(with_dim(s, ax, count));
  ops::slice<T>(src, axis, begin, count, out);

  Tensor<T> want(out.shape());
  for (Index f = 0; f < want.numel(); ++f) {
    std::vector<Index> idx = unravel(want.shape(), f);
    idx[static_cast<std::size_t>(ax)] += begin;
    want[f] = src[ravel(s, idx)];
  }
  check_equal(out, want);
}

template <class T>
void check_assign_slice(const Shape& s, int axis, Index begin, Index count) {
  const int ax = positive_axis(axis, s.rank());
  const Shape ss = with_dim(s, ax, count);
  const Tensor<T> src = filled<T>(ss, 4);
  Tensor<T> dst = filled<T>(s, 5);
  Tensor<T> want = dst.clone();
  for (Index f = 0; f < src.numel(); ++f) {
    std::vector<Index> idx = unravel(ss, f);
    idx[static_cast<std::size_t>(ax)] += begin;
    want[ravel(s, idx)] = src[f];
  }
  ops::assign_slice<T>(src, axis, begin, dst);
  check_equal(dst, want);
}

template <class T>
void check_axis_rows(const Shape& s, int axis) {
  const int ax = positive_axis(axis, s.rank());
  const Shape rest = drop_axis(s, ax);
  const Tensor<T> src = filled<T>(s, 6);
  Tensor<T> rows(Shape{s[ax], rest.numel()});
  ops::axis_to_rows<T>(src, axis, rows);

  // Row j, column c holds the element whose index along ax is j and whose other indices, in
  // row-major order, are c.
  Tensor<T> want(rows.shape());
  for (Index f = 0; f < src.numel(); ++f) {
    const std::vector<Index> idx = unravel(s, f);
    const Index j = idx[static_cast<std::size_t>(ax)];
    const Index c = rest.rank() == 0 ? 0 : ravel(rest, drop_index(idx, ax));
    want.at(j, c) = src[f];
  }
  check_equal(rows, want);

  // rows_to_axis writes the rows back: the round trip gives src, and it matches the naive inverse.
  Tensor<T> back(s);
  ops::rows_to_axis<T>(rows, axis, back);
  check_equal(back, src);

  const Tensor<T> other_rows = filled<T>(rows.shape(), 7);
  Tensor<T> written(s);
  ops::rows_to_axis<T>(other_rows, axis, written);
  Tensor<T> want_written(s);
  for (Index f = 0; f < want_written.numel(); ++f) {
    const std::vector<Index> idx = unravel(s, f);
    const Index c = rest.rank() == 0 ? 0 : ravel(rest, drop_index(idx, ax));
    want_written[f] = other_rows.at(idx[static_cast<std::size_t>(ax)], c);
  }
  check_equal(written, want_written);
  Tensor<T> rows_again(rows.shape());
  ops::axis_to_rows<T>(written, axis, rows_again);
  check_equal(rows_again, other_rows);
}

}  // namespace

TEST_CASE("grown_shape adds the extra size to one dimension, negative axes counting from the back") {
  CHECK(ops::grown_shape(Shape{7}, 0, 2) == Shape{9});
  CHECK(ops::grown_shape(Shape{7}, -1, 0) == Shape{7});
  CHECK(ops::grown_shape(Shape{3, 5}, 0, 1) == Shape{4, 5});
  CHECK(ops::grown_shape(Shape{3, 5}, 1, 4) == Shape{3, 9});
  CHECK(ops::grown_shape(Shape{3, 5}, -2, 3) == Shape{6, 5});
  CHECK(ops::grown_shape(Shape{3, 5, 7}, -1, 1) == Shape{3, 5, 8});
  CHECK(ops::grown_shape(Shape{3, 5, 7}, 1, 2) == Shape{3, 7, 7});
  CHECK(ops::grown_shape(Shape{3, 1, 5, 7}, 2, 5) == Shape{3, 1, 10, 7});
  CHECK(ops::grown_shape(Shape{3, 1, 5, 7}, -3, 2) == Shape{3, 3, 5, 7});
  CHECK(ops::grown_shape(Shape{3, 1, 5, 7}, -4, 1) == Shape{4, 1, 5, 7});
}

TEST_CASE("concat matches a naive index loop for every rank and axis, negative axes included") {
  for (const Shape& s : test_shapes())
    for (int axis = -s.rank(); axis < s.rank(); ++axis) {
      INFO("shape ", s, " axis ", axis);
      check_concat<double>(s, axis);
      check_concat<float>(s, axis);
    }
}

TEST_CASE("concat of a zero-width block copies the other operand") {
  const Tensor<double> a = filled<double>(Shape{3, 5}, 1);
  const Tensor<double> empty(Shape{3, 0});
  Tensor<double> out(Shape{3, 5});
  ops::concat<double>(a, empty, 1, out);
  check_equal(out, a);
  Tensor<double> out2(Shape{3, 5});
  ops::concat<double>(empty, a, 1, out2);
  check_equal(out2, a);
}

TEST_CASE("slice matches a naive index loop for every rank, axis, start and length") {
  for (const Shape& s : test_shapes())
    for (int axis = -s.rank(); axis < s.rank(); ++axis) {
      const Index d = s[positive_axis(axis, s.rank())];
      for (Index begin = 0; begin <= d; ++begin)
        for (Index count = 0; begin + count <= d; ++count) {
          INFO("shape ", s, " axis ", axis, " begin ", begin, " count ", count);
          check_slice<double>(s, axis, begin, count);
        }
      INFO("float, shape ", s, " axis ", axis);
      check_slice<float>(s, axis, d / 2, d - d / 2);
    }
}

TEST_CASE("assign_slice writes exactly the slice and leaves every other element unchanged") {
  for (const Shape& s : test_shapes())
    for (int axis = -s.rank(); axis < s.rank(); ++axis) {
      const Index d = s[positive_axis(axis, s.rank())];
      for (Index begin = 0; begin <= d; ++begin)
        for (Index count = 0; begin + count <= d; ++count) {
          INFO("shape ", s, " axis ", axis, " begin ", begin, " count ", count);
          check_assign_slice<double>(s, axis, begin, count);
        }
      INFO("float, shape ", s, " axis ", axis);
      check_assign_slice<float>(s, axis, 0, d);
    }
}

TEST_CASE("slice then assign_slice of every piece rebuilds the tensor") {
  const Shape s{3, 5, 7};
  const Tensor<double> src = filled<double>(s, 8);
  for (int axis = 0; axis < 3; ++axis) {
    INFO("axis ", axis);
    Tensor<double> rebuilt(s);
    const Index d = s[axis];
    for (Index begin = 0; begin < d; begin += 2) {
      const Index count = std::min<Index>(2, d - begin);
      Tensor<double> piece(with_dim(s, axis, count));
      ops::slice<double>(src, axis, begin, count, piece);
      ops::assign_slice<double>(piece, axis, begin, rebuilt);
    }
    check_equal(rebuilt, src);
  }
}

TEST_CASE("axis_to_rows matches a naive index loop and rows_to_axis inverts it for every rank and axis") {
  for (const Shape& s : test_shapes())
    for (int axis = -s.rank(); axis < s.rank(); ++axis) {
      INFO("shape ", s, " axis ", axis);
      check_axis_rows<double>(s, axis);
      check_axis_rows<float>(s, axis);
    }
}

TEST_CASE("axis_to_rows of an (out, in) matrix along axis 1 gives its columns as rows") {
  const Tensor<double> w = filled<double>(Shape{5, 3}, 9);
  Tensor<double> rows(Shape{3, 5});
  ops::axis_to_rows<double>(w, 1, rows);
  for (Index j = 0; j < 3; ++j)
    for (Index o = 0; o < 5; ++o) CHECK(rows.at(j, o) == w.at(o, j));

  // Along axis 0 the rows are the matrix itself.
  Tensor<double> same(Shape{5, 3});
  ops::axis_to_rows<double>(w, 0, same);
  check_equal(same, w);
}

TEST_CASE("axis_to_rows of an (out, in, kh, kw) kernel along axis 1 gives the flattened (out, kh, kw) slices") {
  const Index out = 4, in = 3, kh = 3, kw = 5;
  const Tensor<double> w = filled<double>(Shape{out, in, kh, kw}, 10);
  Tensor<double> rows(Shape{in, out * kh * kw});
  ops::axis_to_rows<double>(w, 1, rows);
  for (Index j = 0; j < in; ++j)
    for (Index o = 0; o < out; ++o)
      for (Index y = 0; y < kh; ++y)
        for (Index x = 0; x < kw; ++x) {
          INFO("j ", j, " o ", o, " y ", y, " x ", x);
          CHECK(rows.at(j, (o * kh + y) * kw + x) == w.at(o, j, y, x));
        }
  Tensor<double> back(w.shape());
  ops::rows_to_axis<double>(rows, -3, back);
  check_equal(back, w);
}

TEST_CASE("concat reports mismatched shapes with both shapes in a ShapeError") {
  const Tensor<double> a(Shape{2, 3}), b(Shape{4, 5}), c(Shape{2, 4}), r3(Shape{2, 3, 1});
  Tensor<double> out(Shape{6, 3});
  CHECK_THROWS_WITH_AS(ops::concat<double>(a, b, 0, out), doctest::Contains("(2, 3)"), ShapeError);
  CHECK_THROWS_WITH_AS(ops::concat<double>(a, b, 0, out), doctest::Contains("(4, 5)"), ShapeError);
  CHECK_THROWS_WITH_AS(ops::concat<double>(a, r3, 1, out), doctest::Contains("(2, 3, 1)"), ShapeError);
  // Right operands, wrong output: the message names the output and both inputs.
  Tensor<double> wrong(Shape{2, 6});
  CHECK_THROWS_WITH_AS(ops::concat<double>(a, c, 1, wrong), doctest::Contains("(2, 6)"), ShapeError);
  CHECK_THROWS_WITH_AS(ops::concat<double>(a, c, 1, wrong), doctest::Contains("(2, 4)"), ShapeError);
  Tensor<double> right(Shape{2, 7});
  CHECK_NOTHROW(ops::concat<double>(a, c, 1, right));
  CHECK_THROWS_AS(ops::concat<double>(a, c, 0, right), ShapeError);
  // Axis out of range.
  CHECK_THROWS_WITH_AS(ops::concat<double>(a, a, 2, out), doctest::Contains("(2, 3)"), ShapeError);
  CHECK_THROWS_AS(ops::concat<double>(a, a, -3, out), ShapeError);
}

TEST_CASE("slice and assign_slice report bad ranges and shapes with the shapes in a ShapeError") {
  const Tensor<double> src = filled<double>(Shape{3, 5}, 1);
  Tensor<double> out(Shape{3, 2});
  CHECK_THROWS_WITH_AS(ops::slice<double>(src, 1, 4, 2, out), doctest::Contains("(3, 5)"), ShapeError);
  CHECK_THROWS_AS(ops::slice<double>(src, 1, -1, 2, out), ShapeError);
  CHECK_THROWS_AS(ops::slice<double>(src, 1, 0, -1, out), ShapeError);
  CHECK_THROWS_WITH_AS(ops::slice<double>(src, 1, 0, 3, out), doctest::Contains("(3, 2)"), ShapeError);
  CHECK_THROWS_WITH_AS(ops::slice<double>(src, 1, 0, 3, out), doctest::Contains("(3, 3)"), ShapeError);
  CHECK_THROWS_AS(ops::slice<double>(src, 2, 0, 2, out), ShapeError);
  CHECK_NOTHROW(ops::slice<double>(src, 1, 3, 2, out));

  Tensor<double> dst = filled<double>(Shape{3, 5}, 2);
  const Tensor<double> before = dst.clone();
  const Tensor<double> piece(Shape{3, 2}), bad(Shape{4, 2});
  CHECK_THROWS_WITH_AS(ops::assign_slice<double>(bad, 1, 0, dst), doctest::Contains("(4, 2)"), ShapeError);
  CHECK_THROWS_WITH_AS(ops::assign_slice<double>(bad, 1, 0, dst), doctest::Contains("(3, 5)"), ShapeError);
  CHECK_THROWS_WITH_AS(ops::assign_slice<double>(piece, 1, 4, dst), doctest::Contains("(3, 5)"), ShapeError);
  CHECK_THROWS_AS(ops::assign_slice<double>(piece, 1, -1, dst), ShapeError);
  CHECK_THROWS_AS(ops::assign_slice<double>(piece, -3, 0, dst), ShapeError);
  check_equal(dst, before);  // failed calls write nothing
}

TEST_CASE("axis_to_rows and rows_to_axis report wrong row shapes with the shapes in a ShapeError") {
  const Tensor<double> w = filled<double>(Shape{4, 3, 3, 5}, 1);
  Tensor<double> rows(Shape{4, 45});
  CHECK_THROWS_WITH_AS(ops::axis_to_rows<double>(w, 1, rows), doctest::Contains("(4, 45)"), ShapeError);
  CHECK_THROWS_WITH_AS(ops::axis_to_rows<double>(w, 1, rows), doctest::Contains("(4, 3, 3, 5)"), ShapeError);
  CHECK_THROWS_AS(ops::axis_to_rows<double>(w, 4, rows), ShapeError);
  CHECK_NOTHROW(ops::axis_to_rows<double>(w, 0, rows));

  Tensor<double> dst(Shape{4, 3, 3, 5});
  CHECK_THROWS_WITH_AS(ops::rows_to_axis<double>(rows, 1, dst), doctest::Contains("(4, 45)"), ShapeError);
  CHECK_THROWS_WITH_AS(ops::rows_to_axis<double>(rows, 1, dst), doctest::Contains("(4, 3, 3, 5)"), ShapeError);
  CHECK_THROWS_AS(ops::rows_to_axis<double>(rows, -5, dst), ShapeError);
  CHECK_NOTHROW(ops::rows_to_axis<double>(rows, -4, dst));
}

TEST_CASE("grown_shape reports an axis out of range with the shape in a ShapeError") {
  CHECK_THROWS_WITH_AS(ops::grown_shape(Shape{3, 5}, 2, 1), doctest::Contains("(3, 5)"), ShapeError);
  CHECK_THROWS_AS(ops::grown_shape(Shape{3, 5}, -3, 1), ShapeError);
  CHECK_THROWS_AS(ops::grown_shape(Shape{}, 0, 1), ShapeError);
}

TEST_CASE("append_in_place moves blocks within the buffer and equals concat") {
  Rng rng(77);
  for (int axis = 0; axis < 3; ++axis) {
    Tensor<double> t({3, 4, 5});
    fill_normal(t.view(), 0.0, 1.0, rng);
    Shape extra_shape{3, 4, 5};
    extra_shape[axis] = 2;
    Tensor<double> extra(extra_shape);
    fill_normal(extra.view(), 0.0, 1.0, rng);
    Tensor<double> expected(ops::grown_shape(t.shape(), axis, 2));
    ops::concat<double>(t.cview(), extra.cview(), axis, expected.view());
    Tensor<double> zeros_expected(expected.shape());
    ops::concat<double>(t.cview(), Tensor<double>(extra_shape).cview(), axis, zeros_expected.view());

    Tensor<double> a = t.clone(), b = t.clone();
    a.reserve(expected.numel());
    b.reserve(expected.numel());
    const double* before = a.data();
    ops::append_in_place<double>(a, axis, extra_shape, extra.data());
    ops::append_in_place<double>(b, axis, extra_shape, nullptr);
    INFO("axis ", axis);
    CHECK(a.data() == before);  // no reallocation
    CHECK(a.to_vector() == expected.to_vector());
    CHECK(b.to_vector() == zeros_expected.to_vector());
  }
  Tensor<double> small({2, 2});
  CHECK_THROWS_AS(ops::append_in_place<double>(small, 1, Shape{2, 3}, nullptr), ShapeError);  // no capacity
  CHECK(small.shape() == Shape{2, 2});
  CHECK_THROWS_AS(ops::append_in_place<double>(small, 1, Shape{3, 3}, nullptr), ShapeError);  // wrong shape
}

TEST_CASE("axis_norms equals the row norms of axis_to_rows for every axis") {
  Rng rng(78);
  Tensor<double> t({3, 4, 2, 5});
  fill_normal(t.view(), 0.0, 1.0, rng);
  for (int axis = 0; axis < 4; ++axis) {
    const Index d = t.dim(axis);
    Tensor<double> rows({d, t.numel() / d});
    ops::axis_to_rows<double>(t.cview(), axis, rows.view());
    const auto norms = ops::axis_norms<double>(t.cview(), axis);
    REQUIRE(static_cast<Index>(norms.size()) == d);
    for (Index j = 0; j < d; ++j)
      CHECK(norms[static_cast<std::size_t>(j)] == doctest::Approx(matrix(rows).row(j).norm()));
  }
}
