// Tests core/eigen.hpp: matrix()/vector() are zero-copy row-major maps of tensors, view_of aliases Eigen storage.
#include <doctest/doctest.h>

#include "netgrow/core/eigen.hpp"

#include <type_traits>
#include <vector>

#include "support/iota.hpp"

using netgrow::Shape;
using netgrow::Tensor;

using netgrow::test::iota_tensor;

TEST_CASE("matrix maps a rank-2 tensor row-major without copying") {
  Tensor<float> t = iota_tensor(Shape{2, 3});
  auto m = netgrow::matrix(t);
  CHECK(m.rows() == 2);
  CHECK(m.cols() == 3);
  CHECK(m.data() == t.data());
  CHECK(m(0, 2) == 2.0f);
  CHECK(m(1, 0) == 3.0f);
  CHECK(m(1, 2) == 5.0f);

  m(1, 1) = 40.0f;  // writes through the map reach the tensor
  CHECK(t.at(1, 1) == 40.0f);
  m.row(0).setConstant(-1.0f);
  CHECK(t.to_vector() == std::vector<float>{-1, -1, -1, 3, 40, 5});

  t.at(0, 1) = 9.0f;  // and writes to the tensor are seen through the map
  CHECK(m(0, 1) == 9.0f);
}

TEST_CASE("matrix of a view maps exactly the view") {
  Tensor<float> t = iota_tensor(Shape{4, 2});
  auto m = netgrow::matrix(t.view().rows(1, 2));
  CHECK(m.rows() == 2);
  CHECK(m.cols() == 2);
  CHECK(m.data() == t.data() + 2);
  m.setZero();
  CHECK(t.to_vector() == std::vector<float>{0, 1, 0, 0, 0, 0, 6, 7});
}

TEST_CASE("matrix flattens trailing dimensions and maps rank 1 as (n, 1)") {
  Tensor<float> cube = iota_tensor(Shape{2, 3, 4});
  auto m = netgrow::matrix(cube);
  CHECK(m.rows() == 2);
  CHECK(m.cols() == 12);
  CHECK(m(1, 5) == 17.0f);

  Tensor<float> v = iota_tensor(Shape{5});
  auto c = netgrow::matrix(v);
  CHECK(c.rows() == 5);
  CHECK(c.cols() == 1);
  CHECK(c.data() == v.data());
  CHECK(c(3, 0) == 3.0f);
  c(4, 0) = 50.0f;
  CHECK(v[4] == 50.0f);
}

TEST_CASE("matrix maps a rank-0 tensor as 1x1") {
  Tensor<double> s(Shape{});
  auto m = netgrow::matrix(s);
  CHECK(m.rows() == 1);
  CHECK(m.cols() == 1);
  m(0, 0) = 4.0;
  CHECK(s[0] == 4.0);
}

TEST_CASE("matrix of a const tensor or a read-only view is a read-only map") {
  const Tensor<float> t = iota_tensor(Shape{3, 2});
  auto m = netgrow::matrix(t);
  static_assert(std::is_same_v<decltype(m), Eigen::Map<const netgrow::RowMajorMatrix<float>>>);
  CHECK(m.data() == t.data());
  CHECK(m(2, 1) == 5.0f);
  CHECK(m.sum() == 15.0f);

  auto mv = netgrow::matrix(t.cview());
  static_assert(std::is_same_v<decltype(mv), Eigen::Map<const netgrow::RowMajorMatrix<float>>>);
  CHECK(mv.data() == t.data());

  Tensor<float> u(Shape{2});
  static_assert(std::is_same_v<decltype(netgrow::matrix(u)), Eigen::Map<netgrow::RowMajorMatrix<float>>>);
}

TEST_CASE("matrix products computed through the maps land in the tensors") {
  const auto a = Tensor<double>::from(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  const auto b = Tensor<double>::from(Shape{3, 2}, {1, 0, 0, 1, 1, 1});
  Tensor<double> c(Shape{2, 2});
  netgrow::matrix(c).noalias() = netgrow::matrix(a) * netgrow::matrix(b);
  CHECK(c.to_vector() == std::vector<double>{4, 5, 10, 11});
}

TEST_CASE("vector maps every element as a column without copying") {
  Tensor<float> t = iota_tensor(Shape{2, 3});
  auto v = netgrow::vector(t);
  CHECK(v.size() == 6);
  CHECK(v.rows() == 6);
  CHECK(v.cols() == 1);
  CHECK(v.data() == t.data());
  CHECK(v(4) == 4.0f);
  v(5) = -7.0f;
  CHECK(t.at(1, 2) == -7.0f);
  v.array() += 1.0f;
  CHECK(t.at(0, 0) == 1.0f);

  const Tensor<float>& ct = t;
  auto cv = netgrow::vector(ct);
  static_assert(std::is_same_v<decltype(cv), Eigen::Map<const netgrow::EigenVector<float>>>);
  CHECK(cv.data() == t.data());
  CHECK(cv.sum() == doctest::Approx(1 + 2 + 3 + 4 + 5 - 6));

  auto part = netgrow::vector(t.view().rows(1, 1));
  CHECK(part.size() == 3);
  CHECK(part.data() == t.data() + 3);
}

TEST_CASE("matrix and vector of an empty tensor are empty maps") {
  Tensor<float> t;
  CHECK(netgrow::vector(t).size() == 0);
  CHECK(netgrow::matrix(t).size() == 0);
  Tensor<float> no_rows(Shape{0, 4});
  CHECK(netgrow::matrix(no_rows).rows() == 0);
  CHECK(netgrow::matrix(no_rows).cols() == 4);
}

TEST_CASE("view_of a row-major Eigen matrix aliases its memory as a (rows, cols) tensor") {
  netgrow::RowMajorMatrix<float> m(2, 3);
  m << 1, 2, 3, 4, 5, 6;
  auto v = netgrow::view_of(m);
  static_assert(std::is_same_v<decltype(v), netgrow::TensorView<float>>);
  CHECK(v.shape() == Shape{2, 3});
  CHECK(v.data() == m.data());
  CHECK(v.at(0, 2) == 3.0f);
  CHECK(v.at(1, 0) == 4.0f);
  v.at(1, 1) = 50.0f;
  CHECK(m(1, 1) == 50.0f);
  m(0, 0) = -1.0f;
  CHECK(v.at(0, 0) == -1.0f);

  const netgrow::RowMajorMatrix<float>& cm = m;
  auto cv = netgrow::view_of(cm);
  static_assert(std::is_same_v<decltype(cv), netgrow::ConstView<float>>);
  CHECK(cv.data() == m.data());
  CHECK(cv.at(1, 2) == 6.0f);
}

TEST_CASE("view_of an Eigen vector is an (n, 1) or (1, n) tensor") {
  Eigen::VectorXd col(4);
  col << 1, 2, 3, 4;
  auto v = netgrow::view_of(col);
  CHECK(v.shape() == Shape{4, 1});
  CHECK(v.data() == col.data());
  v.at(2, 0) = 30.0;
  CHECK(col(2) == 30.0);

  Eigen::RowVectorXd row(3);
  row << 5, 6, 7;
  auto r = netgrow::view_of(row);
  CHECK(r.shape() == Shape{1, 3});
  CHECK(r.at(0, 2) == 7.0);
}

TEST_CASE("a tensor mapped to Eigen and viewed back is the same memory") {
  Tensor<float> t = iota_tensor(Shape{3, 4});
  netgrow::RowMajorMatrix<float> copy = netgrow::matrix(t);  // an explicit copy, for contrast
  CHECK(copy.data() != t.data());
  copy(0, 0) = 100.0f;
  CHECK(t.at(0, 0) == 0.0f);
  auto back = netgrow::view_of(copy);
  CHECK(back.shape() == t.shape());
  CHECK(back.at(2, 3) == 11.0f);
  CHECK(back.at(0, 0) == 100.0f);
}
