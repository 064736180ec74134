// Tests backend/cuda/layout.hpp and kernels/layout.cuh, kernels/reduce.cuh (axis norms): the layout ops
// width growth uses, against the Cpu overloads on the same inputs. Copies must be exact; norms (sums of
// squares in double) agree to 1e-12 relative.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "compare.hpp"
#include "netgrow/ops/layout.hpp"
#include "ops_shim.hpp"

using namespace netgrow;
using test::check_close;
using test::on_device;
using test::on_host;
using test::uniform_tensor;
namespace gpu = netgrow::test::on_cuda;

namespace {

struct ConcatCase {
  Shape a, b;
  int axis;
};

}  // namespace

TEST_CASE("concat matches the CPU along every axis, including widths right after a growth") {
  Rng rng(31);
  for (const ConcatCase& c : {ConcatCase{{3, 4, 5}, {3, 2, 5}, 1}, ConcatCase{{2, 7}, {3, 7}, 0},
                              ConcatCase{{4, 3}, {4, 5}, -1}, ConcatCase{{2, 3, 4, 5}, {2, 3, 1, 5}, 2},
                              ConcatCase{{17, 33}, {17, 7}, 1}, ConcatCase{{1024, 13}, {64, 13}, 0},
                              ConcatCase{{5, 0}, {5, 3}, 1}, ConcatCase{{1, 1}, {1, 1}, 1}}) {
    INFO("a ", c.a, " b ", c.b, " axis ", c.axis);
    const auto a = uniform_tensor<float>(c.a, rng), b = uniform_tensor<float>(c.b, rng);
    const Shape out_shape = ops::grown_shape(c.a, c.axis, c.b[c.axis < 0 ? c.axis + c.b.rank() : c.axis]);
    Tensor<float, Cpu> out(out_shape);
    Tensor<float, Cuda> dout(out_shape);
    ops::concat<float>(a.cview(), b.cview(), c.axis, out.view());
    gpu::concat<float>(on_device(a).cview(), on_device(b).cview(), c.axis, dout.view());
    check_close(on_host(dout), out, 0, 0, "concat");
  }
  Tensor<float, Cuda> a(Shape{3, 4}), b(Shape{2, 5}), out(Shape{3, 9});
  CHECK_THROWS_AS(gpu::concat<float>(a.cview(), b.cview(), 1, out.view()), ShapeError);
  CHECK_THROWS_AS(gpu::concat<float>(a.cview(), a.cview(), 1, out.view()), ShapeError);
  CHECK_THROWS_AS(gpu::concat<float>(a.cview(), a.cview(), 2, out.view()), ShapeError);
}

TEST_CASE("slice and assign_slice match the CPU") {
  Rng rng(32);
  struct SliceCase {
    Shape s;
    int axis;
    Index begin, count;
  };
  for (const SliceCase& c : {SliceCase{{3, 6, 5}, 1, 2, 3}, SliceCase{{9, 4}, 0, 1, 7}, SliceCase{{4, 9}, -1, 8, 1},
                             SliceCase{{2, 3, 4, 5}, 3, 1, 3}, SliceCase{{17, 40}, 1, 33, 7},
                             SliceCase{{6, 5}, 1, 2, 0}}) {
    INFO("shape ", c.s, " axis ", c.axis, " [", c.begin, ", ", c.begin + c.count, ")");
    const auto src = uniform_tensor<float>(c.s, rng);
    const int ax = c.axis < 0 ? c.axis + c.s.rank() : c.axis;
    Shape part = c.s;
    part[ax] = c.count;
    Tensor<float, Cpu> out(part);
    Tensor<float, Cuda> dout(part);
    const auto dsrc = on_device(src);
    ops::slice<float>(src.cview(), c.axis, c.begin, c.count, out.view());
    gpu::slice<float>(dsrc.cview(), c.axis, c.begin, c.count, dout.view());
    check_close(on_host(dout), out, 0, 0, "slice");

    const auto piece = uniform_tensor<float>(part, rng);
    auto dst = src.clone();
    auto ddst = on_device(src);
    ops::assign_slice<float>(piece.cview(), c.axis, c.begin, dst.view());
    gpu::assign_slice<float>(on_device(piece).cview(), c.axis, c.begin, ddst.view());
    check_close(on_host(ddst), dst, 0, 0, "assign_slice");
  }
  Tensor<float, Cuda> src(Shape{3, 4}), out(Shape{3, 2});
  CHECK_THROWS_AS(gpu::slice<float>(src.cview(), 1, 3, 2, out.view()), ShapeError);
  CHECK_THROWS_AS(gpu::assign_slice<float>(out.cview(), 1, 3, src.view()), ShapeError);
}

TEST_CASE("append_in_place grows within capacity like the CPU, with device values or zeros, repeatedly") {
  Rng rng(33);
  struct AppendCase {
    Shape start;
    int axis;
    Index extra;
  };
  for (const AppendCase& c : {AppendCase{{17, 33}, 1, 7}, AppendCase{{17, 33}, 0, 5}, AppendCase{{8, 3, 3, 3}, 1, 2},
                              AppendCase{{8, 3, 3, 3}, 0, 4}, AppendCase{{33}, 0, 1}, AppendCase{{1, 5}, 1, 3},
                              AppendCase{{4, 0}, 1, 3}}) {
    INFO("start ", c.start, " axis ", c.axis, " + ", c.extra);
    Tensor<float, Cpu> t = uniform_tensor<float>(c.start, rng);
    Tensor<float, Cuda> d = on_device(t);
    t.reserve(4 * t.numel() + 64);
    d.reserve(4 * d.numel() + 64);
    const float* storage = d.data();
    for (int round = 0; round < 3; ++round) {
      INFO("round ", round);
      Shape extra = t.shape();
      extra[c.axis] = c.extra;
      const bool zeros = round == 1;
      const auto values = uniform_tensor<float>(extra, rng);
      const auto dvalues = on_device(values);
      ops::append_in_place<float>(t, c.axis, extra, zeros ? nullptr : values.data());
      gpu::append_in_place<float>(d, c.axis, extra, zeros ? nullptr : dvalues.data());
      CHECK(d.data() == storage);  // no reallocation
      check_close(on_host(d), t, 0, 0, "append_in_place");
    }
  }
  // Not enough capacity: ShapeError before any change.
  Tensor<float, Cpu> h = uniform_tensor<float>(Shape{3, 4}, rng);
  Tensor<float, Cuda> d = on_device(h);
  d.shrink_to_fit();
  CHECK_THROWS_AS(gpu::append_in_place<float>(d, 1, Shape{3, 2}, nullptr), ShapeError);
  CHECK(d.shape() == Shape{3, 4});
  check_close(on_host(d), h, 0, 0, "unchanged after the failed append");
}

TEST_CASE("axis_norms match the CPU for every axis") {
  Rng rng(34);
  for (const Shape& s : {Shape{17, 33}, Shape{1, 7}, Shape{1031, 3}, Shape{8, 3, 3, 3}, Shape{2, 3, 5, 7}}) {
    for (int axis = 0; axis < s.rank(); ++axis) {
      INFO("shape ", s, " axis ", axis);
      const auto x = uniform_tensor<float>(s, rng, -3, 3);
      const std::vector<double> want = ops::axis_norms<float>(x.cview(), axis);
      const std::vector<double> got = gpu::axis_norms<float>(on_device(x).cview(), axis);
      REQUIRE(got.size() == want.size());
      for (std::size_t j = 0; j < got.size(); ++j) CHECK(got[j] == doctest::Approx(want[j]).epsilon(1e-12));
    }
  }
  const auto xd = uniform_tensor<double>(Shape{9, 4}, rng);
  const auto want = ops::axis_norms<double>(xd.cview(), 1);
  const auto got = gpu::axis_norms<double>(on_device(xd).cview(), 1);
  for (std::size_t j = 0; j < got.size(); ++j) CHECK(got[j] == doctest::Approx(want[j]).epsilon(1e-13));
}

TEST_CASE("axis_to_rows and rows_to_axis match the CPU and invert each other") {
  Rng rng(35);
  for (const Shape& s : {Shape{17, 33}, Shape{1, 1}, Shape{33, 1031}, Shape{8, 3, 3, 3}, Shape{2, 3, 5, 7}}) {
    for (int axis = 0; axis < s.rank(); ++axis) {
      INFO("shape ", s, " axis ", axis);
      const auto x = uniform_tensor<float>(s, rng);
      const Index d = s[axis];
      const Shape rows_shape{d, s.numel() / d};
      Tensor<float, Cpu> rows(rows_shape);
      Tensor<float, Cuda> drows(rows_shape);
      ops::axis_to_rows<float>(x.cview(), axis, rows.view());
      gpu::axis_to_rows<float>(on_device(x).cview(), axis, drows.view());
      check_close(on_host(drows), rows, 0, 0, "axis_to_rows");

      Tensor<float, Cuda> back(s);
      gpu::rows_to_axis<float>(drows.cview(), axis, back.view());
      check_close(on_host(back), x, 0, 0, "rows_to_axis inverts axis_to_rows");
      Tensor<float, Cpu> cpu_back(s);
      ops::rows_to_axis<float>(rows.cview(), axis, cpu_back.view());
      check_close(on_host(back), cpu_back, 0, 0, "rows_to_axis");
    }
  }
  Tensor<float, Cuda> x(Shape{3, 4}), wrong(Shape{4, 4});
  CHECK_THROWS_AS(gpu::axis_to_rows<float>(x.cview(), 1, wrong.view()), ShapeError);
  CHECK_THROWS_AS(gpu::rows_to_axis<float>(wrong.cview(), 1, x.view()), ShapeError);
}
