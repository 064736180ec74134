// Tests core/shape.hpp: rank, dimensions (negative axes), element counts, equality, printing and errors.
#include <doctest/doctest.h>

#include "netgrow/core/shape.hpp"

#include <sstream>

using netgrow::Index;
using netgrow::Shape;

TEST_CASE("a default shape is a rank-0 scalar with one element") {
  const Shape s;
  CHECK(s.rank() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.str() == "()");
}

TEST_CASE("a shape stores its dimensions in order and multiplies them for numel") {
  const Shape s{2, 3, 4, 5};
  CHECK(s.rank() == 4);
  CHECK(s[0] == 2);
  CHECK(s[1] == 3);
  CHECK(s[2] == 4);
  CHECK(s[3] == 5);
  CHECK(s.numel() == 120);
  CHECK(s.inner_numel() == 60);

  const Shape v{7};
  CHECK(v.rank() == 1);
  CHECK(v.numel() == 7);
  CHECK(v.inner_numel() == 1);
}

TEST_CASE("a zero dimension gives a shape with no elements") {
  const Shape s{0, 5};
  CHECK(s.rank() == 2);
  CHECK(s.numel() == 0);
  CHECK(s.inner_numel() == 5);
  CHECK(Shape{3, 0}.numel() == 0);
  CHECK(Shape{3, 0}.inner_numel() == 0);
}

TEST_CASE("negative axes count from the back") {
  const Shape s{2, 3, 4};
  CHECK(s[-1] == 4);
  CHECK(s[-2] == 3);
  CHECK(s[-3] == 2);
}

TEST_CASE("a dimension can be changed through the mutable subscript") {
  Shape s{2, 3};
  s[0] = 10;
  s[-1] = 7;
  CHECK(s == Shape{10, 7});
  CHECK(s.numel() == 70);
}

TEST_CASE("an axis outside the rank throws ShapeError naming the axis and the rank") {
  const Shape s{2, 3};
  CHECK_THROWS_WITH_AS(s[2], doctest::Contains("axis 2"), netgrow::ShapeError);
  CHECK_THROWS_WITH_AS(s[-3], doctest::Contains("rank 2"), netgrow::ShapeError);
  Shape m{2, 3};
  CHECK_THROWS_AS(static_cast<void>(m[5]), netgrow::ShapeError);  // the mutable overload
  const Shape scalar;
  CHECK_THROWS_AS(scalar[0], netgrow::ShapeError);
  CHECK_THROWS_AS(scalar[-1], netgrow::ShapeError);
}

TEST_CASE("a rank above four throws ShapeError") {
  CHECK_THROWS_WITH_AS((Shape{1, 2, 3, 4, 5}), doctest::Contains("rank 5"), netgrow::ShapeError);
}

TEST_CASE("a negative dimension throws ShapeError naming it") {
  CHECK_THROWS_WITH_AS((Shape{2, -3}), doctest::Contains("-3"), netgrow::ShapeError);
  CHECK_THROWS_AS((Shape{-1}), netgrow::ShapeError);
}

TEST_CASE("inner_numel of a rank-0 shape throws ShapeError") {
  CHECK_THROWS_AS(Shape{}.inner_numel(), netgrow::ShapeError);
}

TEST_CASE("shapes compare equal only with the same rank and dimensions") {
  CHECK(Shape{2, 3} == Shape{2, 3});
  CHECK_FALSE(Shape{2, 3} == Shape{3, 2});
  CHECK_FALSE(Shape{6} == Shape{2, 3});
  CHECK_FALSE(Shape{2, 3} == Shape{2, 3, 1});
  CHECK(Shape{} == Shape{});
  CHECK_FALSE(Shape{} == Shape{1});
  CHECK(Shape{0} == Shape{0});
}

TEST_CASE("str and operator<< print the dimensions in parentheses") {
  CHECK(Shape{128, 784}.str() == "(128, 784)");
  CHECK(Shape{5}.str() == "(5)");
  CHECK(Shape{1, 2, 3, 4}.str() == "(1, 2, 3, 4)");
  std::ostringstream os;
  os << Shape{3, 0};
  CHECK(os.str() == "(3, 0)");
}

TEST_CASE("a default shape is usable in constant expressions") {
  constexpr Shape s;
  static_assert(s.rank() == 0);
  static_assert(s.numel() == 1);
  CHECK(Shape::max_rank == 4);
}
