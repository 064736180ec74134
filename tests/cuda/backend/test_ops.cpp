// Tests backend/cuda/{blas,elementwise,loss,optim}.hpp and kernels/{elementwise,reduce,loss,optim}.cuh:
// every op on Cuda views against its Cpu overload (the reference) on the same inputs, at odd sizes
// (1, 7, 33, 129, 257, 1031, widths right after a growth step), batch >= 2, both transposes, alpha
// and beta away from 0/1, beta = 0 over NaN garbage, and the errors the CPU throws.
//
// Tolerances (|got - want| <= abs + rel |want|):
//   GEMM          float: 1e-5 * k * max|A| max|B| |alpha| + 1e-5 |beta| max|C| absolute; double: 1e-13 * (same)
//   element-wise  exact for piecewise-linear maps and copies; 4e-6 rel + 1e-7 abs (float) / 1e-14 rel (double)
//                 for tanh, erf and exp based activations (device and host libm differ by a few ulp);
//                 1 ulp-level (2.5e-7 rel float) for scale, axpy and updates that nvcc may contract to FMA
//   reductions    float sums: 1e-5 * rows * max|x| absolute; double-accumulated norms and losses: 1e-10 rel
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "compare.hpp"
#include "netgrow/ops/blas.hpp"
#include "netgrow/ops/elementwise.hpp"
#include "netgrow/ops/loss.hpp"
#include "netgrow/ops/mask.hpp"
#include "netgrow/ops/optim.hpp"
#include "netgrow/layers/activation_functions.hpp"
#include "ops_shim.hpp"

using namespace netgrow;
using test::check_close;
using test::max_abs;
using test::on_device;
using test::on_host;
using test::uniform_tensor;
namespace gpu = netgrow::test::on_cuda;

namespace {

struct GemmCase {
  Index m, n, k;
};

// (m, n, k): tiny, odd, around tile edges, and a layer right after growing 1024 -> 1088 neurons.
const GemmCase gemm_cases[] = {{1, 1, 1}, {7, 13, 5}, {33, 65, 17}, {129, 31, 257}, {2, 1088, 1031}, {1031, 7, 1088}};

template <class T>
void check_gemm_case(const GemmCase& gc, ops::Trans ta, ops::Trans tb, T alpha, T beta, double rel_unit, Rng& rng) {
  const Shape a_shape = ta == ops::Trans::no ? Shape{gc.m, gc.k} : Shape{gc.k, gc.m};
  const Shape b_shape = tb == ops::Trans::no ? Shape{gc.k, gc.n} : Shape{gc.n, gc.k};
  const auto a = uniform_tensor<T>(a_shape, rng);
  const auto b = uniform_tensor<T>(b_shape, rng);
  auto c = uniform_tensor<T>(Shape{gc.m, gc.n}, rng);
  const auto da = on_device(a), db = on_device(b);
  Tensor<T, Cpu> c_init = c.clone();
  if (beta == T(0))  // beta = 0 must never read C: garbage (NaN) there must not leak into the result
    for (Index i = 0; i < c_init.numel(); ++i) c_init[i] = std::numeric_limits<T>::quiet_NaN();
  auto dc = on_device(c_init);
  ops::gemm<T>(ta, tb, alpha, a.cview(), b.cview(), beta, c.view());
  gpu::gemm<T>(ta, tb, alpha, da.cview(), db.cview(), beta, dc.view());
  const double bound = rel_unit * (static_cast<double>(gc.k) * max_abs<T>(a.cview()) * max_abs<T>(b.cview()) *
                                       std::abs(static_cast<double>(alpha)) +
                                   std::abs(static_cast<double>(beta)) * 1.0);
  check_close(on_host(dc), c, 0, bound,
              "gemm m=" + std::to_string(gc.m) + " n=" + std::to_string(gc.n) + " k=" + std::to_string(gc.k) +
                  " ta=" + std::to_string(ta == ops::Trans::yes) + " tb=" + std::to_string(tb == ops::Trans::yes) +
                  " alpha=" + std::to_string(alpha) + " beta=" + std::to_string(beta));
}

template <class T>
void check_gemm_all(double rel_unit) {
  Rng rng(11);
  for (const auto& gc : gemm_cases)
    for (auto ta : {ops::Trans::no, ops::Trans::yes})
      for (auto tb : {ops::Trans::no, ops::Trans::yes}) {
        check_gemm_case<T>(gc, ta, tb, T(1), T(0), rel_unit, rng);
        check_gemm_case<T>(gc, ta, tb, T(0.5), T(-1.5), rel_unit, rng);
      }
}

const Index sizes[] = {1, 7, 33, 129, 257, 1031, 70001};

}  // namespace

TEST_CASE("gemm (cuBLAS path) matches the CPU GEMM for every transpose case at odd sizes, float and double") {
  REQUIRE(cuda::context().gemm_path() == cuda::GemmPath::library);
  check_gemm_all<float>(1e-5);
  check_gemm_all<double>(1e-13);
}

TEST_CASE("gemm (native path, kernels/gemm.cuh) matches the CPU GEMM for every transpose case at odd sizes") {
  cuda::context().set_gemm_path(cuda::GemmPath::native);
  try {
    check_gemm_all<float>(1e-5);
    check_gemm_all<double>(1e-13);
  } catch (...) {
    cuda::context().set_gemm_path(cuda::GemmPath::library);
    throw;
  }
  cuda::context().set_gemm_path(cuda::GemmPath::library);
}

TEST_CASE("gemm handles empty products and checks shapes like the CPU") {
  Rng rng(12);
  // k = 0: C = beta C; beta = 0 gives zeros without reading C.
  const Tensor<float, Cpu> a(Shape{3, 0}), b(Shape{0, 4});
  auto c = uniform_tensor<float>(Shape{3, 4}, rng);
  auto dc = on_device(c);
  const auto da = on_device(a), db = on_device(b);
  gpu::gemm<float>(ops::Trans::no, ops::Trans::no, 1.0f, da.cview(), db.cview(), 2.0f, dc.view());
  ops::gemm<float>(ops::Trans::no, ops::Trans::no, 1.0f, a.cview(), b.cview(), 2.0f, c.view());
  check_close(on_host(dc), c, 0, 0, "k = 0, beta = 2");
  gpu::gemm<float>(ops::Trans::no, ops::Trans::no, 1.0f, da.cview(), db.cview(), 0.0f, dc.view());
  const auto zeros = on_host(dc);
  for (float v : zeros.span()) CHECK(v == 0.0f);
  // m = 0.
  const Tensor<float, Cuda> e(Shape{0, 5}), f(Shape{5, 4});
  Tensor<float, Cuda> g(Shape{0, 4});
  gpu::gemm<float>(ops::Trans::no, ops::Trans::no, 1.0f, e.cview(), f.cview(), 0.0f, g.view());
  // Mismatches.
  Tensor<float, Cuda> x(Shape{3, 5}), y(Shape{4, 2}), z(Shape{3, 2});
  CHECK_THROWS_AS(gpu::gemm<float>(ops::Trans::no, ops::Trans::no, 1.0f, x.cview(), y.cview(), 0.0f, z.view()),
                  ShapeError);
  Tensor<float, Cuda> r3(Shape{3, 5, 1});
  CHECK_THROWS_AS(gpu::gemm<float>(ops::Trans::no, ops::Trans::no, 1.0f, r3.cview(), y.cview(), 0.0f, z.view()),
                  ShapeError);
}

TEST_CASE("add_row_vector and sum_rows match the CPU, including two-pass row sums and beta over NaN") {
  Rng rng(13);
  for (const Shape& s : {Shape{1, 1}, Shape{7, 33}, Shape{2, 1088}, Shape{257, 3}, Shape{1031, 129},
                         Shape{4, 3, 5}, Shape{70001, 5}}) {
    INFO("shape ", s);
    const Index rows = s[0], cols = s.inner_numel();
    auto y = uniform_tensor<float>(s, rng);
    const auto b = uniform_tensor<float>(Shape{cols}, rng);
    auto dy = on_device(y);
    const auto db = on_device(b);
    ops::add_row_vector<float>(y.view(), b.cview());
    gpu::add_row_vector<float>(dy.view(), db.cview());
    check_close(on_host(dy), y, 0, 0, "add_row_vector");

    const double bound = 1e-5 * static_cast<double>(rows) * max_abs<float>(y.cview()) + 1e-6;
    for (float beta : {0.0f, 0.5f, 1.0f}) {
      INFO("beta ", beta);
      auto out = uniform_tensor<float>(Shape{cols}, rng);
      Tensor<float, Cpu> out_init = out.clone();
      if (beta == 0.0f)
        for (Index i = 0; i < cols; ++i) out_init[i] = std::numeric_limits<float>::quiet_NaN();
      auto dout = on_device(out_init);
      ops::sum_rows<float>(y.cview(), beta, out.view());
      gpu::sum_rows<float>(dy.cview(), beta, dout.view());
      check_close(on_host(dout), out, 0, bound, "sum_rows");
    }
  }
  // Zero rows: out = beta out.
  Tensor<float, Cuda> none(Shape{0, 3});
  auto out = on_device(Tensor<float, Cpu>::from(Shape{3}, {1.0f, 2.0f, 3.0f}));
  gpu::sum_rows<float>(none.cview(), 2.0f, out.view());
  const auto got = on_host(out);
  CHECK(got[0] == 2.0f);
  CHECK(got[2] == 6.0f);
  // Shape errors.
  Tensor<float, Cuda> y(Shape{3, 4}), bad(Shape{5});
  CHECK_THROWS_AS(gpu::add_row_vector<float>(y.view(), bad.cview()), ShapeError);
  CHECK_THROWS_AS(gpu::sum_rows<float>(y.cview(), 0.0f, bad.view()), ShapeError);
}

TEST_CASE("sum_rows in double matches the CPU closely") {
  Rng rng(14);
  const auto x = uniform_tensor<double>(Shape{1031, 33}, rng);
  Tensor<double, Cpu> out(Shape{33});
  Tensor<double, Cuda> dout(Shape{33});
  ops::sum_rows<double>(x.cview(), 0.0, out.view());
  gpu::sum_rows<double>(on_device(x).cview(), 0.0, dout.view());
  check_close(on_host(dout), out, 1e-12, 1e-12, "sum_rows double");
}

TEST_CASE("copy, fill, scale and axpy match the CPU at odd sizes") {
  Rng rng(15);
  for (Index n : sizes) {
    INFO("n = ", n);
    const auto x = uniform_tensor<float>(Shape{n}, rng);
    auto y = uniform_tensor<float>(Shape{n}, rng);
    const auto dx = on_device(x);
    auto dy = on_device(y);

    Tensor<float, Cuda> dcopy(Shape{n, 1});  // same count, other shape (as Flatten uses it)
    gpu::copy<float>(dx.cview(), dcopy.view());
    check_close(on_host(dcopy).cview().reshape(Shape{n}), x.cview(), 0, 0, "copy");

    gpu::axpy<float>(-0.75f, dx.cview(), dy.view());
    ops::axpy<float>(-0.75f, x.cview(), y.view());
    check_close(on_host(dy), y, 2.5e-7, 1e-7, "axpy");

    gpu::scale<float>(dy.view(), 1.5f);
    ops::scale<float>(y.view(), 1.5f);
    check_close(on_host(dy), y, 2.5e-7, 1e-7, "scale");

    gpu::fill<float>(dy.view(), -3.25f);
    ops::fill<float>(y.view(), -3.25f);
    check_close(on_host(dy), y, 0, 0, "fill");
  }
  Tensor<float, Cuda> a(Shape{3}), b(Shape{4});
  CHECK_THROWS_AS(gpu::copy<float>(a.cview(), b.view()), ShapeError);
  CHECK_THROWS_AS(gpu::axpy<float>(1.0f, a.cview(), b.view()), ShapeError);
}

TEST_CASE("scale_rows_columns (masked growth's gains) matches the CPU exactly: rows, columns, both, odd sizes") {
  Rng rng(16);
  const std::pair<Index, Index> shapes[] = {{1, 1}, {7, 13}, {33, 1}, {1, 129}, {257, 31}};
  for (const auto& shape : shapes) {
    const Index r = shape.first, c = shape.second;
    const auto rows = uniform_tensor<float>(Shape{r}, rng), cols = uniform_tensor<float>(Shape{c}, rng);
    const auto drows = on_device(rows), dcols = on_device(cols);
    for (int which = 0; which < 3; ++which) {  // rows only, columns only, both
      INFO(r, " x ", c, ", case ", which);
      const ConstView<float, Cpu> hr = which == 1 ? ConstView<float, Cpu>() : rows.cview();
      const ConstView<float, Cpu> hc = which == 0 ? ConstView<float, Cpu>() : cols.cview();
      const ConstView<float, Cuda> gr = which == 1 ? ConstView<float, Cuda>() : drows.cview();
      const ConstView<float, Cuda> gc = which == 0 ? ConstView<float, Cuda>() : dcols.cview();
      auto x = uniform_tensor<float>(Shape{r, c}, rng);
      auto dx = on_device(x);
      ops::scale_rows_columns<float>(hr, hc, x.view());
      gpu::scale_rows_columns<float>(gr, gc, dx.view());
      check_close(on_host(dx), x, 0, 0, "scale_rows_columns");  // one rounded product, one multiply: exact
    }
  }
  Tensor<float, Cuda> x(Shape{3, 4}), three(Shape{3}), four(Shape{4});
  CHECK_THROWS_AS(gpu::scale_rows_columns<float>(four.cview(), ConstView<float, Cuda>(), x.view()), ShapeError);
  CHECK_THROWS_AS(gpu::scale_rows_columns<float>(three.cview(), three.cview(), x.view()), ShapeError);
}

TEST_CASE("copy between overlapping ranges of one tensor has memmove semantics") {
  Rng rng(16);
  const auto h = uniform_tensor<float>(Shape{1031}, rng);
  auto d = on_device(h);
  TensorView<float, Cuda> all = d.view();
  gpu::copy<float>(ConstView<float, Cuda>(all.data(), Shape{1000}), TensorView<float, Cuda>(all.data() + 31, Shape{1000}));
  const auto got = on_host(d);
  for (Index i = 0; i < 31; ++i) CHECK(got[i] == h[i]);
  for (Index i = 0; i < 1000; ++i) CHECK(got[i + 31] == h[i]);
}

TEST_CASE("squared_norm and all_finite match the CPU (double accumulation, deterministic)") {
  Rng rng(17);
  for (Index n : {Index{0}, Index{1}, Index{7}, Index{1031}, Index{70001}, (Index{1} << 20) + 3}) {
    INFO("n = ", n);
    auto x = uniform_tensor<float>(Shape{n}, rng, -2, 2);
    auto dx = on_device(x);
    const double want = ops::squared_norm<float>(x.cview());
    const double got = gpu::squared_norm<float>(dx.cview());
    CHECK(got == doctest::Approx(want).epsilon(1e-10));
    CHECK(gpu::squared_norm<float>(dx.cview()) == got);  // bit-identical on a second run
    CHECK(gpu::all_finite<float>(dx.cview()));
    if (n == 0) continue;
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity()}) {
      for (Index where : {Index{0}, n - 1}) {
        Tensor<float, Cpu> y = x.clone();
        y[where] = bad;
        CHECK_FALSE(gpu::all_finite<float>(on_device(y).cview()));
        CHECK_FALSE(ops::all_finite<float>(y.cview()));
      }
    }
  }
  const auto xd = uniform_tensor<double>(Shape{1031}, rng);
  CHECK(gpu::squared_norm<double>(on_device(xd).cview()) ==
        doctest::Approx(ops::squared_norm<double>(xd.cview())).epsilon(1e-12));
}

namespace {

template <class Act, class T>
void check_activation(const Act& act, double rel, double abs) {
  Rng rng(18);
  for (Index n : {Index{1}, Index{7}, Index{1031}}) {
    auto x = uniform_tensor<T>(Shape{n}, rng, -4, 4);
    x[n / 2] = T(0);  // the kink of the ReLUs
    const auto dy = uniform_tensor<T>(Shape{n}, rng);
    Tensor<T, Cpu> y(x.shape()), dx(x.shape());
    ops::activation_forward(act, x.cview(), y.view());
    ops::activation_backward(act, x.cview(), y.cview(), dy.cview(), dx.view());
    const auto dxd = on_device(x), dyd = on_device(dy), dyv = on_device(y);
    Tensor<T, Cuda> gy(x.shape()), gdx(x.shape());
    gpu::activation_forward<Act, T>(act, dxd.cview(), gy.view());
    // backward from the CPU's y, so the derivative is compared on identical inputs
    gpu::activation_backward<Act, T>(act, dxd.cview(), dyv.cview(), dyd.cview(), gdx.view());
    const std::string name = std::string(Act::name) + " n=" + std::to_string(n);
    check_close(on_host(gy), y, rel, abs, name + " forward");
    check_close(on_host(gdx), dx, rel, abs, name + " backward");
    // In place: x and y the same array.
    auto inplace = on_device(x);
    gpu::activation_forward<Act, T>(act, inplace.cview(), inplace.view());
    check_close(on_host(inplace), y, rel, abs, name + " forward in place");
  }
}

}  // namespace

TEST_CASE("activation kernels run the CPU functors and match the CPU layer maps") {
  check_activation<Relu1, float>(Relu1{}, 0, 0);
  check_activation<Relu, float>(Relu{}, 0, 0);
  check_activation<LeakyRelu, float>(LeakyRelu{.slope = 0.2}, 0, 0);
  check_activation<Identity, float>(Identity{}, 0, 0);
  check_activation<Tanh, float>(Tanh{}, 4e-6, 1e-7);
  check_activation<Gelu, float>(Gelu{}, 4e-6, 1e-7);
  check_activation<CenteredLogistic, float>(CenteredLogistic{}, 4e-6, 1e-7);
  check_activation<Relu1, double>(Relu1{}, 0, 0);
  check_activation<Tanh, double>(Tanh{}, 1e-14, 1e-16);
  check_activation<Gelu, double>(Gelu{}, 1e-14, 1e-16);
  Tensor<float, Cuda> a(Shape{3}), b(Shape{4});
  CHECK_THROWS_AS((gpu::activation_forward<Relu1, float>(Relu1{}, a.cview(), b.view())), ShapeError);
  CHECK_THROWS_AS((gpu::activation_backward<Relu1, float>(Relu1{}, a.cview(), a.cview(), a.cview(), b.view())),
                  ShapeError);
}

TEST_CASE("bce_with_logits: value in double and gradient (sigmoid(z) - t) / numel match the CPU, huge logits too") {
  Rng rng(23);
  for (const Shape& s : {Shape{1, 1}, Shape{64, 1}, Shape{1031, 3}}) {
    INFO("shape ", s);
    auto z = uniform_tensor<float>(s, rng), t = uniform_tensor<float>(s, rng);
    for (Index i = 0; i < z.numel(); ++i) {
      z[i] = 20 * z[i] - 10;
      t[i] = 0.5f * (t[i] + 1);  // [0, 1]
    }
    z[0] = 500.f;  // exp(-|z|) underflows: the loss stays finite
    Tensor<float, Cpu> g(s);
    const double want = ops::bce_with_logits<float>(z.cview(), t.cview(), g.view());
    const auto dz = on_device(z), dt = on_device(t);
    Tensor<float, Cuda> dg(s);
    const double got = gpu::bce_with_logits<float>(dz.cview(), dt.cview(), dg.view());
    CHECK(got == doctest::Approx(want).epsilon(1e-10));
    check_close(on_host(dg), g, 2.5e-7, 0, "bce gradient");
  }
  Tensor<float, Cuda> a(Shape{2, 1}), b(Shape{3, 1});
  CHECK_THROWS_AS(gpu::bce_with_logits<float>(a.cview(), b.cview(), TensorView<float, Cuda>()), ShapeError);
}

TEST_CASE("mse: value in double and gradient 2 (pred - target) / numel match the CPU") {
  Rng rng(19);
  for (const Shape& s : {Shape{1, 1}, Shape{7, 33}, Shape{1031, 3}, Shape{2, 1088}}) {
    INFO("shape ", s);
    const auto p = uniform_tensor<float>(s, rng), t = uniform_tensor<float>(s, rng);
    Tensor<float, Cpu> g(s);
    const double want = ops::mse<float>(p.cview(), t.cview(), g.view());
    const auto dp = on_device(p), dt = on_device(t);
    Tensor<float, Cuda> dg(s);
    const double got = gpu::mse<float>(dp.cview(), dt.cview(), dg.view());
    CHECK(got == doctest::Approx(want).epsilon(1e-10));
    check_close(on_host(dg), g, 2.5e-7, 0, "mse gradient");
    CHECK(gpu::mse<float>(dp.cview(), dt.cview(), TensorView<float, Cuda>()) == got);  // value only
  }
  Tensor<float, Cuda> a(Shape{2, 3}), b(Shape{3, 2}), e(Shape{0, 3});
  CHECK_THROWS_AS(gpu::mse<float>(a.cview(), b.cview(), TensorView<float, Cuda>()), ShapeError);
  CHECK_THROWS_AS(gpu::mse<float>(a.cview(), a.cview(), b.view()), ShapeError);
  CHECK_THROWS_AS(gpu::mse<float>(e.cview(), e.cview(), TensorView<float, Cuda>()), ArgumentError);
}

TEST_CASE("softmax cross-entropy: loss, correct count and gradient match the CPU; labels checked") {
  Rng rng(20);
  for (const Shape& s : {Shape{1, 1}, Shape{2, 1}, Shape{7, 10}, Shape{33, 1031}, Shape{1031, 7}, Shape{9, 33}}) {
    INFO("logits ", s);
    auto z = uniform_tensor<float>(s, rng, -6, 6);
    Tensor<std::int32_t, Cpu> labels(Shape{s[0]});
    for (Index i = 0; i < s[0]; ++i) labels[i] = static_cast<std::int32_t>(rng.next_u64() % static_cast<std::uint64_t>(s[1]));
    if (s[1] >= 3 && s[0] >= 2) {  // ties: arg-max must be the first maximal index, as on the CPU
      z.at(0, 1) = 50.0f;
      z.at(0, 2) = 50.0f;
      labels[0] = 1;
      z.at(1, 0) = 40.0f;
      z.at(1, s[1] - 1) = 40.0f;
      labels[1] = static_cast<std::int32_t>(s[1] - 1);
    }
    Tensor<float, Cpu> g(s);
    const auto want = ops::softmax_cross_entropy<float>(z.cview(), labels.cview(), g.view());
    const auto dz = on_device(z);
    const auto dl = to<Cuda>(labels);
    Tensor<float, Cuda> dg(s);
    const auto got = gpu::softmax_cross_entropy<float>(dz.cview(), dl.cview(), dg.view());
    CHECK(got.loss == doctest::Approx(want.loss).epsilon(1e-10));
    CHECK(got.correct == want.correct);
    CHECK(got.count == want.count);
    check_close(on_host(dg), g, 1e-6, 1e-9, "cross-entropy gradient");
    // Host labels and no gradient.
    const auto host_labels = gpu::softmax_cross_entropy<float>(dz.cview(), labels.cview(), TensorView<float, Cuda>());
    CHECK(host_labels.loss == got.loss);
    CHECK(host_labels.correct == got.correct);
  }
  // double
  const auto zd = uniform_tensor<double>(Shape{9, 33}, rng, -6, 6);
  Tensor<std::int32_t, Cpu> ld(Shape{9});
  for (Index i = 0; i < 9; ++i) ld[i] = static_cast<std::int32_t>(i * 3);
  Tensor<double, Cpu> gd(zd.shape());
  Tensor<double, Cuda> dgd(zd.shape());
  const auto wd = ops::softmax_cross_entropy<double>(zd.cview(), ld.cview(), gd.view());
  const auto hd = gpu::softmax_cross_entropy<double>(on_device(zd).cview(), to<Cuda>(ld).cview(), dgd.view());
  CHECK(hd.loss == doctest::Approx(wd.loss).epsilon(1e-12));
  check_close(on_host(dgd), gd, 1e-12, 1e-15, "cross-entropy gradient (double)");

  // Invalid labels: the same exception and message as the CPU (first offending sample).
  auto z = uniform_tensor<float>(Shape{5, 4}, rng);
  Tensor<std::int32_t, Cpu> bad = Tensor<std::int32_t, Cpu>::from(Shape{5}, {0, 1, 4, -1, 2});
  Tensor<float, Cpu> g(Shape{5, 4});
  Tensor<float, Cuda> dg(Shape{5, 4});
  std::string cpu_message, gpu_message;
  try {
    ops::softmax_cross_entropy<float>(z.cview(), bad.cview(), g.view());
  } catch (const ArgumentError& e) {
    cpu_message = e.what();
  }
  try {
    gpu::softmax_cross_entropy<float>(on_device(z).cview(), to<Cuda>(bad).cview(), dg.view());
  } catch (const ArgumentError& e) {
    gpu_message = e.what();
  }
  CHECK_FALSE(cpu_message.empty());
  CHECK(gpu_message == cpu_message);
  Tensor<float, Cuda> r1(Shape{5}), zz(Shape{5, 4});
  Tensor<std::int32_t, Cuda> three(Shape{3});
  CHECK_THROWS_AS(gpu::softmax_cross_entropy<float>(r1.cview(), three.cview(), TensorView<float, Cuda>()), ShapeError);
  CHECK_THROWS_AS(gpu::softmax_cross_entropy<float>(zz.cview(), three.cview(), TensorView<float, Cuda>()), ShapeError);
}

TEST_CASE("sgd_update matches the CPU: momentum, Nesterov, weight decay, lr_scale") {
  Rng rng(21);
  struct Variant {
    double momentum;
    bool nesterov;
    double weight_decay;
    bool scaled;
  };
  for (const Variant v : {Variant{0, false, 0, false}, Variant{0.9, false, 0, false}, Variant{0.9, true, 1e-2, true},
                          Variant{0, false, 1e-3, true}}) {
    for (Index n : {Index{1}, Index{7}, Index{1031}}) {
      INFO("n=", n, " momentum=", v.momentum, " nesterov=", v.nesterov, " wd=", v.weight_decay, " scaled=", v.scaled);
      auto w = uniform_tensor<float>(Shape{n, 3}, rng);
      auto vel = uniform_tensor<float>(Shape{n, 3}, rng, -0.1, 0.1);
      const auto scale = uniform_tensor<float>(Shape{n, 3}, rng, 0.5, 1.5);
      auto dw = on_device(w), dvel = on_device(vel);
      const auto dscale = on_device(scale);
      ops::SgdHyper h;
      h.lr = 0.05;
      h.momentum = v.momentum;
      h.nesterov = v.nesterov;
      h.weight_decay = v.weight_decay;
      for (int step = 0; step < 3; ++step) {
        const auto g = uniform_tensor<float>(Shape{n, 3}, rng);
        const auto dg = on_device(g);
        const bool has_velocity = v.momentum > 0;
        ops::sgd_update<float>(w.view(), g.cview(), has_velocity ? vel.view() : TensorView<float, Cpu>(),
                               v.scaled ? scale.cview() : ConstView<float, Cpu>(), h);
        gpu::sgd_update<float>(dw.view(), dg.cview(), has_velocity ? dvel.view() : TensorView<float, Cuda>(),
                               v.scaled ? dscale.cview() : ConstView<float, Cuda>(), h);
      }
      // Absolute term: a few float ulps of the O(1) operands (the GPU contracts m v + g into an FMA, so a
      // velocity that nearly cancels differs from the CPU's by about eps).
      check_close(on_host(dw), w, 1e-6, 1e-6, "weights");
      if (v.momentum > 0) check_close(on_host(dvel), vel, 1e-6, 1e-6, "velocity");
    }
  }
  Tensor<float, Cuda> w(Shape{3}), g(Shape{4});
  ops::SgdHyper h;
  CHECK_THROWS_AS(gpu::sgd_update<float>(w.view(), g.cview(), TensorView<float, Cuda>(), ConstView<float, Cuda>(), h),
                  ShapeError);
  h.momentum = 0.9;
  CHECK_THROWS_AS(gpu::sgd_update<float>(w.view(), w.cview(), TensorView<float, Cuda>(), ConstView<float, Cuda>(), h),
                  ArgumentError);
}

TEST_CASE("masked sgd_update and adam_update match the CPU: pruned weights and their state stay 0") {
  Rng rng(23);
  for (Index n : {Index{1}, Index{7}, Index{1031}}) {
    INFO("n=", n);
    auto w = uniform_tensor<float>(Shape{n}, rng), w2 = w.clone();
    auto vel = uniform_tensor<float>(Shape{n}, rng, -0.1, 0.1);
    Tensor<float, Cpu> m(Shape{n}), v(Shape{n}), mask(Shape{n});
    for (Index i = 0; i < n; ++i) mask.at(i) = rng.uniform() < 0.4 ? 0.f : 1.f;
    auto dw = on_device(w), dvel = on_device(vel), dw2 = on_device(w2), dm = on_device(m), dv = on_device(v);
    const auto dmask = on_device(mask);
    ops::SgdHyper sh;
    sh.lr = 0.05, sh.momentum = 0.9, sh.nesterov = true, sh.weight_decay = 1e-3;
    ops::AdamHyper ah;
    ah.lr = 1e-2, ah.weight_decay = 1e-2;
    for (int t = 1; t <= 3; ++t) {
      const auto g = uniform_tensor<float>(Shape{n}, rng);
      const auto dg = on_device(g);
      ah.bias_correction1 = 1.0 - std::pow(ah.beta1, t);
      ah.bias_correction2 = 1.0 - std::pow(ah.beta2, t);
      ops::sgd_update<float>(w.view(), g.cview(), vel.view(), ConstView<float, Cpu>(), sh, mask.cview());
      gpu::sgd_update<float>(dw.view(), dg.cview(), dvel.view(), ConstView<float, Cuda>(), sh, dmask.cview());
      ops::adam_update<float>(w2.view(), g.cview(), m.view(), v.view(), ConstView<float, Cpu>(), ah, mask.cview());
      gpu::adam_update<float>(dw2.view(), dg.cview(), dm.view(), dv.view(), ConstView<float, Cuda>(), ah, dmask.cview());
    }
    check_close(on_host(dw), w, 1e-6, 1e-6, "sgd weights");
    check_close(on_host(dvel), vel, 1e-6, 1e-6, "velocity");
    check_close(on_host(dw2), w2, 1e-6, 1e-6, "adam weights");
    for (Index i = 0; i < n; ++i)
      if (mask.at(i) == 0.f) {
        CHECK(w.at(i) == 0.f);
        CHECK(vel.at(i) == 0.f);
        CHECK(w2.at(i) == 0.f);
      }
  }
}

TEST_CASE("adam_update matches the CPU: Adam and AdamW, bias corrections, lr_scale") {
  Rng rng(22);
  for (bool decoupled : {false, true}) {
    for (bool scaled : {false, true}) {
      for (Index n : {Index{1}, Index{33}, Index{1031}}) {
        INFO("n=", n, " decoupled=", decoupled, " scaled=", scaled);
        auto w = uniform_tensor<float>(Shape{n}, rng);
        Tensor<float, Cpu> m(Shape{n}), v(Shape{n});
        const auto scale = uniform_tensor<float>(Shape{n}, rng, 0.5, 1.5);
        auto dw = on_device(w), dm = on_device(m), dv = on_device(v);
        const auto dscale = on_device(scale);
        for (int t = 1; t <= 4; ++t) {
          ops::AdamHyper h;
          h.lr = 1e-2;
          h.weight_decay = 1e-2;
          h.decoupled = decoupled;
          h.bias_correction1 = 1.0 - std::pow(h.beta1, t);
          h.bias_correction2 = 1.0 - std::pow(h.beta2, t);
          const auto g = uniform_tensor<float>(Shape{n}, rng);
          const auto dg = on_device(g);
          ops::adam_update<float>(w.view(), g.cview(), m.view(), v.view(),
                                  scaled ? scale.cview() : ConstView<float, Cpu>(), h);
          gpu::adam_update<float>(dw.view(), dg.cview(), dm.view(), dv.view(),
                                  scaled ? dscale.cview() : ConstView<float, Cuda>(), h);
        }
        check_close(on_host(dw), w, 1e-6, 1e-7, "weights");
        check_close(on_host(dm), m, 1e-6, 1e-8, "first moment");
        check_close(on_host(dv), v, 1e-6, 1e-9, "second moment");
      }
    }
  }
  Tensor<float, Cuda> w(Shape{3}), m(Shape{4});
  CHECK_THROWS_AS(gpu::adam_update<float>(w.view(), w.cview(), m.view(), m.view(), ConstView<float, Cuda>(), {}),
                  ShapeError);
}
