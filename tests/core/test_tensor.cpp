// Tests core/tensor.hpp: ownership, alignment, resize reuse, clone/copy_from, views, rows, reshape, at().
#include <doctest/doctest.h>

#include "netgrow/core/tensor.hpp"

#include <cstdint>
#include <type_traits>
#include <vector>

#include "support/iota.hpp"

using netgrow::ConstView;
using netgrow::Cpu;
using netgrow::device_view;
using netgrow::host_view;
using netgrow::Index;
using netgrow::Shape;
using netgrow::Tensor;
using netgrow::TensorView;

using netgrow::test::iota_tensor;

namespace {

bool aligned64(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 64 == 0; }

}  // namespace

static_assert(!std::is_copy_constructible_v<Tensor<float>>, "tensors are move-only");
static_assert(!std::is_copy_assignable_v<Tensor<float>>, "tensors are move-only");
static_assert(std::is_nothrow_move_constructible_v<Tensor<float>>);
static_assert(std::is_nothrow_move_assignable_v<Tensor<float>>);
static_assert(std::is_convertible_v<TensorView<float>, ConstView<float>>, "mutable views convert to read-only ones");
static_assert(!std::is_convertible_v<ConstView<float>, TensorView<float>>, "read-only views stay read-only");

TEST_CASE("a default tensor is empty with shape (0)") {
  const Tensor<float> t;
  CHECK(t.empty());
  CHECK(t.numel() == 0);
  CHECK(t.rank() == 1);
  CHECK(t.shape() == Shape{0});
  CHECK(t.capacity() == 0);
  CHECK(t.data() == nullptr);
  CHECK(t.cview().empty());
}

TEST_CASE("a tensor built from a shape is zero-filled, aligned and row-major") {
  Tensor<double> t(Shape{3, 4});
  CHECK(t.shape() == Shape{3, 4});
  CHECK(t.rank() == 2);
  CHECK(t.dim(0) == 3);
  CHECK(t.dim(-1) == 4);
  CHECK(t.numel() == 12);
  CHECK(t.capacity() == 12);
  CHECK_FALSE(t.empty());
  CHECK(aligned64(t.data()));
  for (double v : t.span()) CHECK(v == 0.0);

  Tensor<float> braced({2, 5});
  CHECK(braced.shape() == Shape{2, 5});
  CHECK(aligned64(braced.data()));

  t.at(1, 2) = 7.0;
  CHECK(t[1 * 4 + 2] == 7.0);
}

TEST_CASE("a rank-0 tensor holds one element") {
  Tensor<float> t(Shape{});
  CHECK(t.rank() == 0);
  CHECK(t.numel() == 1);
  CHECK_FALSE(t.empty());
  CHECK(t[0] == 0.0f);
  t[0] = 2.5f;
  CHECK(t.to_vector() == std::vector<float>{2.5f});
}

TEST_CASE("from copies values in row-major order") {
  const auto t = Tensor<float>::from(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.at(0, 0) == 1.0f);
  CHECK(t.at(0, 2) == 3.0f);
  CHECK(t.at(1, 0) == 4.0f);
  CHECK(t.at(1, 2) == 6.0f);

  const std::vector<double> values{0.5, -1.5, 2.0, 8.0};
  const auto u = Tensor<double>::from(Shape{4}, values);
  CHECK(u.to_vector() == values);
}

TEST_CASE("from with the wrong number of values throws ShapeError naming the shape") {
  CHECK_THROWS_WITH_AS(Tensor<float>::from(Shape{2, 3}, {1, 2, 3}), doctest::Contains("(2, 3)"),
                       netgrow::ShapeError);
  CHECK_THROWS_AS(Tensor<float>::from(Shape{2}, {1, 2, 3}), netgrow::ShapeError);
}

TEST_CASE("fill and fill_zero set every element") {
  Tensor<int> t(Shape{2, 2, 2});
  t.fill(3);
  CHECK(t.to_vector() == std::vector<int>(8, 3));
  t.fill_zero();
  CHECK(t.to_vector() == std::vector<int>(8, 0));
}

TEST_CASE("resize to a shape that fits reuses the allocation") {
  Tensor<float> t(Shape{8, 16});
  const float* before = t.data();
  t.resize(Shape{4, 16});
  CHECK(t.shape() == Shape{4, 16});
  CHECK(t.numel() == 64);
  CHECK(t.capacity() == 128);
  CHECK(t.data() == before);

  // Growing back within the capacity, even under another rank, still does not reallocate.
  t.resize(Shape{2, 8, 8});
  CHECK(t.shape() == Shape{2, 8, 8});
  CHECK(t.capacity() == 128);
  CHECK(t.data() == before);
}

TEST_CASE("resize beyond the capacity allocates a larger aligned buffer") {
  Tensor<float> t(Shape{2, 2});
  t.resize(Shape{10, 10});
  CHECK(t.shape() == Shape{10, 10});
  CHECK(t.capacity() >= 100);
  CHECK(aligned64(t.data()));
  t.fill(1.0f);  // the whole new shape is writable (ASan checks the bounds)
  CHECK(t.at(9, 9) == 1.0f);
}

TEST_CASE("resize of an empty tensor allocates") {
  Tensor<double> t;
  t.resize(Shape{3});
  CHECK(t.numel() == 3);
  CHECK(t.data() != nullptr);
  t.fill(2.0);
  CHECK(t.to_vector() == std::vector<double>{2.0, 2.0, 2.0});
}

TEST_CASE("moving a tensor transfers its buffer without copying") {
  Tensor<float> a = iota_tensor(Shape{3, 2});
  const float* p = a.data();
  Tensor<float> b = std::move(a);
  CHECK(b.data() == p);
  CHECK(b.shape() == Shape{3, 2});
  CHECK(b.at(2, 1) == 5.0f);

  Tensor<float> c(Shape{1});
  c = std::move(b);
  CHECK(c.data() == p);
  CHECK(c.shape() == Shape{3, 2});
}

TEST_CASE("clone is a deep copy") {
  Tensor<float> a = iota_tensor(Shape{2, 3});
  Tensor<float> b = a.clone();
  CHECK(b.shape() == a.shape());
  CHECK(b.data() != a.data());
  CHECK(b.to_vector() == a.to_vector());
  b.at(0, 0) = 100.0f;
  CHECK(a.at(0, 0) == 0.0f);
  a.at(1, 2) = -1.0f;
  CHECK(b.at(1, 2) == 5.0f);
}

TEST_CASE("clone of an empty tensor is empty") {
  const Tensor<float> a;
  const Tensor<float> b = a.clone();
  CHECK(b.empty());
  CHECK(b.shape() == Shape{0});
}

TEST_CASE("copy_from takes the source's shape and values") {
  const Tensor<float> src = iota_tensor(Shape{2, 3});
  Tensor<float> dst(Shape{10, 10});
  const float* before = dst.data();
  dst.copy_from(src);
  CHECK(dst.shape() == Shape{2, 3});
  CHECK(dst.to_vector() == src.to_vector());
  CHECK(dst.data() == before);  // fits: the allocation is reused

  Tensor<float> small(Shape{1});
  small.copy_from(src.cview().reshape(Shape{6}));
  CHECK(small.shape() == Shape{6});
  CHECK(small.to_vector() == src.to_vector());
}

TEST_CASE("copy_from a view of the tensor's own rows is safe") {
  Tensor<float> t = iota_tensor(Shape{4, 2});
  t.copy_from(t.cview().rows(1, 2));
  CHECK(t.shape() == Shape{2, 2});
  CHECK(t.to_vector() == std::vector<float>{2, 3, 4, 5});
}

TEST_CASE("views alias the tensor's memory") {
  Tensor<float> t = iota_tensor(Shape{2, 3});
  TensorView<float> v = t.view();
  CHECK(v.data() == t.data());
  CHECK(v.shape() == t.shape());
  CHECK(v.rank() == 2);
  CHECK(v.dim(1) == 3);
  CHECK(v.numel() == 6);
  CHECK_FALSE(v.empty());
  v.at(1, 1) = 42.0f;
  CHECK(t.at(1, 1) == 42.0f);
  v[0] = -3.0f;
  CHECK(t[0] == -3.0f);
  CHECK(v.span().size() == 6);
  CHECK(v.span().data() == t.data());

  ConstView<float> c = v;  // implicit mutable -> read-only
  CHECK(c.data() == t.data());
  CHECK(c.at(1, 1) == 42.0f);
  static_assert(std::is_same_v<decltype(c.at(0, 0)), const float&>);

  ConstView<float> from_tensor = t;  // implicit Tensor -> read-only view
  CHECK(from_tensor.data() == t.data());
  TensorView<float> mutable_from_tensor = t;
  CHECK(mutable_from_tensor.data() == t.data());
}

TEST_CASE("a default view is empty with shape (0)") {
  const TensorView<float> v;
  CHECK(v.empty());
  CHECK(v.data() == nullptr);
  CHECK(v.shape() == Shape{0});
}

TEST_CASE("a view with null data and elements throws ShapeError") {
  CHECK_THROWS_WITH_AS(TensorView<float>(nullptr, Shape{2, 2}), doctest::Contains("(2, 2)"), netgrow::ShapeError);
  CHECK_NOTHROW(TensorView<float>(nullptr, Shape{0, 2}));
}

TEST_CASE("const_view and mutable_view accept tensors and views") {
  Tensor<float> t = iota_tensor(Shape{3});
  const Tensor<float>& ct = t;

  auto c1 = netgrow::const_view(ct);
  auto c2 = netgrow::const_view(t.view());
  auto c3 = netgrow::const_view(t.cview());
  static_assert(std::is_same_v<decltype(c1), ConstView<float>>);
  static_assert(std::is_same_v<decltype(c2), ConstView<float>>);
  static_assert(std::is_same_v<decltype(c3), ConstView<float>>);
  CHECK(c1.data() == t.data());
  CHECK(c2.data() == t.data());
  CHECK(c3.data() == t.data());
  CHECK(c3.shape() == Shape{3});

  auto m1 = netgrow::mutable_view(t);
  auto m2 = netgrow::mutable_view(t.view());
  static_assert(std::is_same_v<decltype(m1), TensorView<float>>);
  static_assert(std::is_same_v<decltype(m2), TensorView<float>>);
  m1[0] = 9.0f;
  m2[2] = 8.0f;
  CHECK(t.to_vector() == std::vector<float>{9, 1, 8});
}

TEST_CASE("rows views a contiguous range of rows") {
  Tensor<float> t = iota_tensor(Shape{4, 3});
  auto r = t.view().rows(1, 2);
  CHECK(r.shape() == Shape{2, 3});
  CHECK(r.data() == t.data() + 3);
  CHECK(r.at(0, 0) == 3.0f);
  CHECK(r.at(1, 2) == 8.0f);
  r.at(0, 1) = -1.0f;
  CHECK(t.at(1, 1) == -1.0f);

  auto none = t.cview().rows(4, 0);
  CHECK(none.shape() == Shape{0, 3});
  CHECK(none.numel() == 0);

  Tensor<float> cube = iota_tensor(Shape{3, 2, 2});
  auto last = cube.cview().rows(2, 1);
  CHECK(last.shape() == Shape{1, 2, 2});
  CHECK(last[0] == 8.0f);

  Tensor<float> vec = iota_tensor(Shape{5});
  auto mid = vec.cview().rows(2, 2);
  CHECK(mid.shape() == Shape{2});
  CHECK(mid[0] == 2.0f);
  CHECK(mid[1] == 3.0f);
}

TEST_CASE("rows out of range throws ShapeError naming the shape") {
  Tensor<float> t(Shape{4, 3});
  CHECK_THROWS_WITH_AS(t.view().rows(3, 2), doctest::Contains("(4, 3)"), netgrow::ShapeError);
  CHECK_THROWS_AS(t.view().rows(-1, 1), netgrow::ShapeError);
  CHECK_THROWS_AS(t.view().rows(0, -1), netgrow::ShapeError);
  CHECK_THROWS_AS(t.view().rows(5, 0), netgrow::ShapeError);
  Tensor<float> scalar(Shape{});
  CHECK_THROWS_AS(scalar.view().rows(0, 1), netgrow::ShapeError);
}

TEST_CASE("reshape keeps the data under a new shape with the same element count") {
  Tensor<float> t = iota_tensor(Shape{2, 3, 4});
  auto r = t.cview().reshape(Shape{6, 4});
  CHECK(r.shape() == Shape{6, 4});
  CHECK(r.data() == t.data());
  CHECK(r.at(5, 3) == 23.0f);
  CHECK(t.cview().reshape(Shape{24}).at(13) == 13.0f);
  CHECK(t.cview().reshape(Shape{1, 2, 3, 4}).rank() == 4);
}

TEST_CASE("reshape to a different element count throws ShapeError naming both shapes") {
  Tensor<float> t(Shape{2, 3});
  CHECK_THROWS_WITH_AS(t.view().reshape(Shape{4, 2}), doctest::Contains("(2, 3)"), netgrow::ShapeError);
  CHECK_THROWS_WITH_AS(t.view().reshape(Shape{4, 2}), doctest::Contains("(4, 2)"), netgrow::ShapeError);
}

TEST_CASE("as_matrix flattens trailing dimensions and maps rank 1 as a column") {
  Tensor<float> t(Shape{2, 3, 4});
  CHECK(t.cview().as_matrix().shape() == Shape{2, 12});
  CHECK(t.cview().as_matrix().data() == t.data());
  Tensor<float> m(Shape{5, 7});
  CHECK(m.cview().as_matrix().shape() == Shape{5, 7});
  Tensor<float> v(Shape{6});
  CHECK(v.cview().as_matrix().shape() == Shape{6, 1});
  Tensor<float> four(Shape{2, 1, 3, 2});
  CHECK(four.cview().as_matrix().shape() == Shape{2, 6});
  Tensor<float> scalar(Shape{});
  CHECK_THROWS_AS(scalar.cview().as_matrix(), netgrow::ShapeError);
}

TEST_CASE("at() indexes every rank in row-major order") {
  Tensor<float> v = iota_tensor(Shape{4});
  CHECK(v.at(3) == 3.0f);
  Tensor<float> m = iota_tensor(Shape{3, 4});
  CHECK(m.at(2, 1) == 9.0f);
  Tensor<float> c = iota_tensor(Shape{2, 3, 4});
  CHECK(c.at(1, 2, 3) == 23.0f);
  CHECK(c.at(1, 0, 2) == 14.0f);
  Tensor<float> h = iota_tensor(Shape{2, 3, 4, 5});
  CHECK(h.at(1, 2, 3, 4) == 119.0f);
  CHECK(h.at(0, 1, 0, 2) == 22.0f);
  const Tensor<float>& ch = h;
  CHECK(ch.at(std::size_t{1}, 0u, 0, Index{0}) == 60.0f);  // any integral index type
}

TEST_CASE("at() with an index out of range throws ShapeError naming index and shape") {
  Tensor<float> t(Shape{2, 3});
  CHECK_THROWS_WITH_AS(t.at(2, 0), doctest::Contains("(2, 3)"), netgrow::ShapeError);
  CHECK_THROWS_WITH_AS(t.at(0, 3), doctest::Contains("index 3"), netgrow::ShapeError);
  CHECK_THROWS_AS(t.at(-1, 0), netgrow::ShapeError);
  CHECK_THROWS_AS(t.at(0, -1), netgrow::ShapeError);
  const Tensor<float>& ct = t;
  CHECK_THROWS_AS(ct.at(0, 5), netgrow::ShapeError);
  CHECK_THROWS_AS(t.view().at(9, 9), netgrow::ShapeError);
}

TEST_CASE("at() with the wrong number of indices throws ShapeError") {
  Tensor<float> t(Shape{2, 3});
  CHECK_THROWS_WITH_AS(t.at(1), doctest::Contains("rank-2"), netgrow::ShapeError);
  CHECK_THROWS_AS(t.at(0, 0, 0), netgrow::ShapeError);
}

TEST_CASE("uninitialized allocates the shape without requiring a fill") {
  auto t = Tensor<double>::uninitialized(Shape{3, 5});
  CHECK(t.shape() == Shape{3, 5});
  CHECK(t.capacity() == 15);
  CHECK(aligned64(t.data()));
  t.fill(1.0);
  CHECK(t.at(2, 4) == 1.0);
}

TEST_CASE("require_same_shape throws ShapeError naming the operation and both shapes") {
  CHECK_NOTHROW(netgrow::require_same_shape(Shape{2, 3}, Shape{2, 3}, "add"));
  CHECK_THROWS_WITH_AS(netgrow::require_same_shape(Shape{2, 3}, Shape{3, 2}, "add"),
                       doctest::Contains("add: shape mismatch (2, 3) vs (3, 2)"), netgrow::ShapeError);
}

TEST_CASE("a moved-from tensor is empty and usable") {
  Tensor<float> a({2, 3});
  a.fill(1.5f);
  Tensor<float> b = std::move(a);
  CHECK(b.shape() == Shape{2, 3});
  CHECK(b[5] == 1.5f);
  CHECK(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  CHECK(a.shape() == Shape{0});
  a.fill_zero();
  CHECK(a.view().empty());
  Tensor<float> c({4});
  c = std::move(b);
  CHECK(c.shape() == Shape{2, 3});
  CHECK(b.empty());  // NOLINT(bugprone-use-after-move)
}

TEST_CASE("reserve keeps the elements, reshape_within_capacity keeps them in place, shrink_to_fit trims") {
  auto t = Tensor<float>::from({2, 2}, {1.f, 2.f, 3.f, 4.f});
  t.reserve(10);
  CHECK(t.capacity() >= 10);
  CHECK(t.to_vector() == std::vector<float>{1.f, 2.f, 3.f, 4.f});
  const float* p = t.data();
  t.reshape_within_capacity(Shape{2, 5});
  CHECK(t.data() == p);
  CHECK(t[3] == 4.f);
  CHECK_THROWS_AS(t.reshape_within_capacity(Shape{3, 5}), netgrow::ShapeError);
  t.reshape_within_capacity(Shape{4});
  t.shrink_to_fit();
  CHECK(t.capacity() == 4);
  CHECK(t.to_vector() == std::vector<float>{1.f, 2.f, 3.f, 4.f});
}

TEST_CASE("host_view and device_view on the Cpu read the data itself and leave the staging tensor empty") {
  auto t = Tensor<float>::from({2, 2}, {1.f, 2.f, 3.f, 4.f});
  Tensor<float> host_staging, device_staging;
  const ConstView<float, Cpu> h = host_view(t, host_staging);
  CHECK(host_view(t.cview(), host_staging).data() == t.data());
  const ConstView<float, Cpu> d = device_view<Cpu>(t.cview(), device_staging);
  CHECK(h.data() == t.data());
  CHECK(d.data() == t.data());
  CHECK(d.shape() == t.shape());
  CHECK(host_staging.empty());
  CHECK(device_staging.empty());
}
