// The pointer-level kernels of kernels/{batch_norm,layer_norm,pool,depthwise,conv_layout}.cuh against the
// CPU ops of include/netgrow/ops/ (the Cpu back end) at odd sizes: batch >= 2, C = 1, 3, 17 and 19 (16 + 3 grown
// channels whose maps are zero), H != W, kernel 1, 3, 5, stride 1, 2, padding 0, 1; LayerNorm at D = 1,
// 37, 1000 and rows beyond one chunk. Tolerances: compare.hpp.
#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "compare.hpp"
#include "kernel_shims.hpp"
#include "netgrow/ops/batch_norm.hpp"
#include "netgrow/ops/depthwise.hpp"
#include "netgrow/ops/layer_norm.hpp"
#include "netgrow/ops/pool.hpp"

using namespace netgrow;
using test::difference;
using test::identical;
using test::random_host;

namespace {

// The window geometries every pooling and depthwise test sweeps (over one H x W map).
std::vector<ops::ConvGeometry> window_geometries() {
  std::vector<ops::ConvGeometry> out;
  for (auto [h, w] : std::initializer_list<std::pair<Index, Index>>{{7, 5}, {6, 9}})
    for (Index k : {1, 2, 3, 5})
      for (Index s : {1, 2})
        for (Index p : {0, 1}) {
          const ops::ConvGeometry g{1, h, w, k, s, p};
          if (h + 2 * p >= k && w + 2 * p >= k) out.push_back(g);
        }
  return out;
}

// Zeroes channels [from, C) of x (N, C, ...): what channels added by width growth look like.
template <class T>
void zero_grown_channels(TensorView<T> x, Index from) {
  const Index n = x.dim(0), c = x.dim(1), m = x.numel() / (n * c);
  for (Index i = 0; i < n; ++i)
    for (Index ch = from; ch < c; ++ch)
      for (Index j = 0; j < m; ++j) x[(i * c + ch) * m + j] = T(0);
}

std::string describe(const ops::ConvGeometry& g) {
  return std::to_string(g.height) + "x" + std::to_string(g.width) + " k" + std::to_string(g.kernel) + " s" +
         std::to_string(g.stride) + " p" + std::to_string(g.padding);
}

// Batch-norm input shapes: (N, C, H, W) and (N, C), one with more values per channel than a
// first-stage chunk (8192), one right after growth.
std::vector<Shape> norm_shapes() {
  return {Shape{2, 3, 5, 7}, Shape{3, 17, 4, 6}, Shape{2, 1, 9, 5}, Shape{7, 3},
          Shape{5, 17}, Shape{3, 2, 64, 70}, Shape{2, 19, 5, 3}};
}

}  // namespace

TEST_CASE_TEMPLATE("batch_norm kernels: training forward and running statistics match the CPU", T, float, double) {
  Rng rng(11);
  for (const Shape& shape : norm_shapes()) {
    INFO("x ", shape);
    const Index c = shape[1];
    auto gamma = random_host<T>(Shape{c}, rng, 1.0, 0.2), beta = random_host<T>(Shape{c}, rng);
    Tensor<T> rm_cpu = random_host<T>(Shape{c}, rng), rv_cpu(Shape{c});
    fill_uniform(rv_cpu.view(), 0.5, 2.0, rng);
    Tensor<T> rm_gpu = rm_cpu.clone(), rv_gpu = rv_cpu.clone();
    for (int step = 0; step < 2; ++step) {  // twice: the running statistics compound
      auto x = random_host<T>(shape, rng, 0.3, 1.5);
      if (c == 19) zero_grown_channels<T>(x.view(), 16);
      Tensor<T> y_cpu(shape), y_gpu(shape);
      Tensor<double> mean_cpu(Shape{c}), inv_cpu(Shape{c}), mean_gpu(Shape{c}), inv_gpu(Shape{c});
      ops::batch_norm_forward_train<T>(x, gamma, beta, 0.1, 1e-5, rm_cpu.view(), rv_cpu.view(), mean_cpu.view(),
                                       inv_cpu.view(), y_cpu.view());
      test::on_gpu::batch_norm_forward_train<T>(x, gamma, beta, 0.1, 1e-5, rm_gpu.view(), rv_gpu.view(),
                                                mean_gpu.view(), inv_gpu.view(), y_gpu.view());
      CHECK(difference(mean_gpu, mean_cpu) < 1e-12);
      CHECK(difference(inv_gpu, inv_cpu) < 1e-12);
      CHECK(difference(y_gpu, y_cpu) < test::Tolerance<T>::elementwise * 4);
      CHECK(difference(rm_gpu, rm_cpu) < test::Tolerance<T>::elementwise);
      CHECK(difference(rv_gpu, rv_cpu) < test::Tolerance<T>::elementwise);
    }
  }
}

TEST_CASE_TEMPLATE("batch_norm kernels: evaluation forward matches the CPU", T, float, double) {
  Rng rng(12);
  for (const Shape& shape : norm_shapes()) {
    INFO("x ", shape);
    const Index c = shape[1];
    auto x = random_host<T>(shape, rng);
    auto gamma = random_host<T>(Shape{c}, rng, 1.0, 0.2), beta = random_host<T>(Shape{c}, rng);
    auto rm = random_host<T>(Shape{c}, rng);
    Tensor<T> rv(Shape{c});
    fill_uniform(rv.view(), 0.5, 2.0, rng);
    Tensor<T> y_cpu(shape), y_gpu(shape);
    Tensor<double> mean_cpu(Shape{c}), inv_cpu(Shape{c}), mean_gpu(Shape{c}), inv_gpu(Shape{c});
    ops::batch_norm_forward_eval<T>(x, gamma, beta, rm, rv, 1e-5, mean_cpu.view(), inv_cpu.view(), y_cpu.view());
    test::on_gpu::batch_norm_forward_eval<T>(x, gamma, beta, rm, rv, 1e-5, mean_gpu.view(), inv_gpu.view(),
                                             y_gpu.view());
    CHECK(identical(mean_gpu, mean_cpu));
    CHECK(difference(inv_gpu, inv_cpu) < 1e-15);
    CHECK(difference(y_gpu, y_cpu) < test::Tolerance<T>::elementwise * 4);
  }
}

TEST_CASE_TEMPLATE("batch_norm kernels: backward with batch and running statistics matches the CPU", T, float,
                   double) {
  Rng rng(13);
  for (const Shape& shape : norm_shapes())
    for (auto stats : {ops::NormStatistics::batch, ops::NormStatistics::running})
      for (bool accumulate : {false, true})
        for (bool with_dx : {true, false}) {
          INFO("x ", shape, ", batch statistics ", stats == ops::NormStatistics::batch, ", accumulate ", accumulate,
               ", dx ", with_dx);
          const Index c = shape[1];
          auto x = random_host<T>(shape, rng, 0.2, 1.3);
          if (c == 19) zero_grown_channels<T>(x.view(), 16);
          auto dy = random_host<T>(shape, rng);
          auto gamma = random_host<T>(Shape{c}, rng, 1.0, 0.2), beta = random_host<T>(Shape{c}, rng);
          // Statistics from a CPU forward pass of the matching mode.
          Tensor<T> rm = random_host<T>(Shape{c}, rng), rv(Shape{c}), y(shape);
          fill_uniform(rv.view(), 0.5, 2.0, rng);
          Tensor<double> mean(Shape{c}), inv(Shape{c});
          if (stats == ops::NormStatistics::batch)
            ops::batch_norm_forward_train<T>(x, gamma, beta, 0.1, 1e-5, rm.view(), rv.view(), mean.view(), inv.view(),
                                             y.view());
          else
            ops::batch_norm_forward_eval<T>(x, gamma, beta, rm, rv, 1e-5, mean.view(), inv.view(), y.view());
          auto dgamma_cpu = random_host<T>(Shape{c}, rng), dbeta_cpu = random_host<T>(Shape{c}, rng);
          Tensor<T> dgamma_gpu = dgamma_cpu.clone(), dbeta_gpu = dbeta_cpu.clone();
          Tensor<T> dx_cpu = with_dx ? Tensor<T>(shape) : Tensor<T>(), dx_gpu = with_dx ? Tensor<T>(shape) : Tensor<T>();
          ops::batch_norm_backward<T>(x, dy, gamma, mean, inv, stats, dgamma_cpu.view(), dbeta_cpu.view(), accumulate,
                                      dx_cpu.view());
          test::on_gpu::batch_norm_backward<T>(x, dy, gamma, mean, inv, stats == ops::NormStatistics::batch,
                                               dgamma_gpu.view(), dbeta_gpu.view(), accumulate, dx_gpu.view());
          CHECK(difference(dgamma_gpu, dgamma_cpu) < test::Tolerance<T>::reduction);
          CHECK(difference(dbeta_gpu, dbeta_cpu) < test::Tolerance<T>::reduction);
          if (with_dx) CHECK(difference(dx_gpu, dx_cpu) < test::Tolerance<T>::reduction);
        }
}

namespace {

// LayerNorm inputs (N, D): D = 1, below, at and above the warp size and the row block, 1000; one with
// more rows than a parameter-gradient chunk (256).
std::vector<Shape> layer_norm_shapes() {
  return {Shape{5, 37}, Shape{5, 1}, Shape{5, 1000}, Shape{2, 32}, Shape{3, 129}, Shape{1, 7}, Shape{300, 37}};
}

// Masked growth's gains for d features: 0 on the last third (a fresh fade), 0.25 on the middle third,
// 1 on the rest; a single feature keeps gain 1 (the sum must stay positive).
template <class T>
Tensor<T> fade_gains(Index d) {
  Tensor<T> g(Shape{d});
  for (Index j = 0; j < d; ++j) g[j] = d == 1 || j < d / 3 ? T(1) : j < 2 * d / 3 ? T(0.25) : T(0);
  return g;
}

}  // namespace

TEST_CASE_TEMPLATE("layer_norm kernels: forward and backward match the CPU at odd sizes, with and without MSG gains",
                   T, float, double) {
  Rng rng(14);
  for (const Shape& shape : layer_norm_shapes())
    for (bool accumulate : {false, true})
      for (bool with_dx : {true, false})
        for (bool weighted : {false, true}) {
          INFO("x ", shape, ", accumulate ", accumulate, ", dx ", with_dx, ", gains ", weighted);
          const Index d = shape[1];
          const Shape rows{shape[0]};
          auto x = random_host<T>(shape, rng, 0.3, 1.5), dy = random_host<T>(shape, rng);
          auto gamma = random_host<T>(Shape{d}, rng, 1.0, 0.5), beta = random_host<T>(Shape{d}, rng);
          const Tensor<T> gains = weighted ? fade_gains<T>(d) : Tensor<T>();
          Tensor<T> y_cpu(shape), y_gpu(shape);
          Tensor<double> mean_cpu(rows), inv_cpu(rows), mean_gpu(rows), inv_gpu(rows);
          ops::layer_norm_forward<T>(x, gamma, beta, 1e-5, mean_cpu.view(), inv_cpu.view(), y_cpu.view(), gains);
          test::on_gpu::layer_norm_forward<T>(x, gamma, beta, 1e-5, mean_gpu.view(), inv_gpu.view(), y_gpu.view(),
                                              gains);
          CHECK(difference(mean_gpu, mean_cpu) < 1e-12);
          CHECK(difference(inv_gpu, inv_cpu) < 1e-12);
          CHECK(difference(y_gpu, y_cpu) < test::Tolerance<T>::elementwise * 4);

          auto dgamma_cpu = random_host<T>(Shape{d}, rng), dbeta_cpu = random_host<T>(Shape{d}, rng);
          Tensor<T> dgamma_gpu = dgamma_cpu.clone(), dbeta_gpu = dbeta_cpu.clone();
          Tensor<T> dx_cpu = with_dx ? Tensor<T>(shape) : Tensor<T>(), dx_gpu = with_dx ? Tensor<T>(shape) : Tensor<T>();
          ops::layer_norm_backward<T>(x, dy, gamma, mean_cpu, inv_cpu, dgamma_cpu.view(), dbeta_cpu.view(), accumulate,
                                      dx_cpu.view(), gains);
          test::on_gpu::layer_norm_backward<T>(x, dy, gamma, mean_cpu, inv_cpu, dgamma_gpu.view(), dbeta_gpu.view(),
                                               accumulate, dx_gpu.view(), gains);
          CHECK(difference(dgamma_gpu, dgamma_cpu) < test::Tolerance<T>::reduction);
          CHECK(difference(dbeta_gpu, dbeta_cpu) < test::Tolerance<T>::reduction);
          if (with_dx) CHECK(difference(dx_gpu, dx_cpu) < test::Tolerance<T>::reduction);
        }
}

TEST_CASE_TEMPLATE("max_pool2d kernels match the CPU exactly, ties and grown zero channels included", T, float,
                   double) {
  Rng rng(21);
  for (const auto& window : window_geometries()) {
    if (2 * window.padding > window.kernel) continue;  // every window must hold an input element
    for (Index c : {1, 3, 19}) {
      INFO(describe(window), ", C ", c);
      const Shape xs{2, c, window.height, window.width};
      // Small integers: many ties inside windows.
      Tensor<T> x(xs);
      for (Index i = 0; i < x.numel(); ++i) x[i] = static_cast<T>(rng.uniform_int(3));
      if (c == 19) zero_grown_channels<T>(x.view(), 16);
      const Shape ys{2, c, window.out_height(), window.out_width()};
      Tensor<T> y_cpu(ys), y_gpu(ys);
      Tensor<std::int32_t> arg_cpu(ys), arg_gpu(ys);
      ops::max_pool2d_forward<T>(x, window, y_cpu.view(), arg_cpu.view());
      test::on_gpu::max_pool2d_forward<T>(x, window, y_gpu.view(), arg_gpu.view());
      CHECK(identical(y_gpu, y_cpu));
      CHECK(identical(arg_gpu, arg_cpu));
      auto dy = random_host<T>(ys, rng);
      Tensor<T> dx_cpu(xs), dx_gpu(xs);
      ops::max_pool2d_backward<T>(dy, arg_cpu, window, dx_cpu.view());
      test::on_gpu::max_pool2d_backward<T>(dy, arg_cpu, window, dx_gpu.view());
      CHECK(identical(dx_gpu, dx_cpu));
    }
  }
}

TEST_CASE_TEMPLATE("max_pool2d kernels: a NaN wins its window like on the CPU", T, float, double) {
  Rng rng(22);
  const ops::ConvGeometry g{1, 6, 7, 3, 2, 1};
  auto x = random_host<T>(Shape{2, 3, 6, 7}, rng);
  x.at(0, 1, 2, 3) = std::numeric_limits<T>::quiet_NaN();
  x.at(1, 2, 0, 0) = std::numeric_limits<T>::quiet_NaN();
  const Shape ys{2, 3, g.out_height(), g.out_width()};
  Tensor<T> y_cpu(ys), y_gpu(ys);
  Tensor<std::int32_t> arg_cpu(ys), arg_gpu(ys);
  ops::max_pool2d_forward<T>(x, g, y_cpu.view(), arg_cpu.view());
  test::on_gpu::max_pool2d_forward<T>(x, g, y_gpu.view(), arg_gpu.view());
  CHECK(identical(y_gpu, y_cpu));
  CHECK(identical(arg_gpu, arg_cpu));
}

TEST_CASE_TEMPLATE("avg_pool2d kernels match the CPU", T, float, double) {
  Rng rng(23);
  for (const auto& window : window_geometries())
    for (Index c : {1, 3, 17}) {
      INFO(describe(window), ", C ", c);
      const Shape xs{3, c, window.height, window.width}, ys{3, c, window.out_height(), window.out_width()};
      auto x = random_host<T>(xs, rng);
      Tensor<T> y_cpu(ys), y_gpu(ys);
      ops::avg_pool2d_forward<T>(x, window, y_cpu.view());
      test::on_gpu::avg_pool2d_forward<T>(x, window, y_gpu.view());
      CHECK(difference(y_gpu, y_cpu) < test::Tolerance<T>::elementwise);
      auto dy = random_host<T>(ys, rng);
      Tensor<T> dx_cpu(xs), dx_gpu(xs);
      ops::avg_pool2d_backward<T>(dy, window, dx_cpu.view());
      test::on_gpu::avg_pool2d_backward<T>(dy, window, dx_gpu.view());
      CHECK(difference(dx_gpu, dx_cpu) < test::Tolerance<T>::elementwise);
    }
}

TEST_CASE_TEMPLATE("global_avg_pool kernels match the CPU", T, float, double) {
  Rng rng(24);
  for (const Shape& xs : {Shape{2, 3, 7, 5}, Shape{3, 17, 1, 1}, Shape{2, 1, 33, 29}, Shape{5, 19, 4, 9}}) {
    INFO("x ", xs);
    auto x = random_host<T>(xs, rng);
    const Shape ys{xs[0], xs[1]};
    Tensor<T> y_cpu(ys), y_gpu(ys);
    ops::global_avg_pool_forward<T>(x, y_cpu.view());
    test::on_gpu::global_avg_pool_forward<T>(x, y_gpu.view());
    CHECK(difference(y_gpu, y_cpu) < test::Tolerance<T>::reduction);
    auto dy = random_host<T>(ys, rng);
    Tensor<T> dx_cpu(xs), dx_gpu(xs);
    ops::global_avg_pool_backward<T>(dy, dx_cpu.view());
    test::on_gpu::global_avg_pool_backward<T>(dy, dx_gpu.view());
    CHECK(difference(dx_gpu, dx_cpu) < test::Tolerance<T>::elementwise);
  }
}

TEST_CASE_TEMPLATE("depthwise kernels: forward, input and filter gradients match the CPU", T, float, double) {
  Rng rng(31);
  for (const auto& window : window_geometries()) {
    if (window.kernel == 2) continue;  // odd kernels, as depthwise layers use
    for (Index c : {1, 3, 17})
      for (bool bias : {true, false})
        for (bool accumulate : {false, true}) {
          INFO(describe(window), ", C ", c, ", bias ", bias, ", accumulate ", accumulate);
          const Shape xs{2, c, window.height, window.width}, ys{2, c, window.out_height(), window.out_width()};
          auto x = random_host<T>(xs, rng);
          auto w = random_host<T>(Shape{c, 1, window.kernel, window.kernel}, rng);
          Tensor<T> b = bias ? random_host<T>(Shape{c}, rng) : Tensor<T>();
          Tensor<T> y_cpu(ys), y_gpu(ys);
          ops::depthwise_conv2d_forward<T>(x, w, b, window, y_cpu.view());
          test::on_gpu::depthwise_conv2d_forward<T>(x, w, b, window, y_gpu.view());
          CHECK(difference(y_gpu, y_cpu) < test::Tolerance<T>::elementwise * 8);

          auto dy = random_host<T>(ys, rng);
          auto dw_cpu = random_host<T>(w.shape(), rng);
          Tensor<T> db_cpu = bias ? random_host<T>(Shape{c}, rng) : Tensor<T>();
          Tensor<T> dw_gpu = dw_cpu.clone(), db_gpu = db_cpu.clone(), dx_cpu(xs), dx_gpu(xs);
          ops::depthwise_conv2d_backward<T>(x, dy, w, window, dw_cpu.view(), db_cpu.view(), accumulate, dx_cpu.view());
          test::on_gpu::depthwise_conv2d_input_grad<T>(dy, w, window, dx_gpu.view());
          test::on_gpu::depthwise_conv2d_weight_grad<T>(x, dy, window, dw_gpu.view(), db_gpu.view(), accumulate);
          CHECK(difference(dx_gpu, dx_cpu) < test::Tolerance<T>::elementwise * 8);
          CHECK(difference(dw_gpu, dw_cpu) < test::Tolerance<T>::reduction);
          if (bias) CHECK(difference(db_gpu, db_cpu) < test::Tolerance<T>::reduction);
        }
  }
}

TEST_CASE_TEMPLATE("conv_layout kernels: permutes are exact adjoints and channel sums match", T, float, double) {
  Rng rng(41);
  for (auto [n, c, m] : std::initializer_list<std::tuple<Index, Index, Index>>{{2, 3, 35}, {3, 1, 7}, {2, 17, 1}, {5, 19, 33}}) {
    INFO("N ", n, ", C ", c, ", M ", m);
    auto channel_major = random_host<T>(Shape{c, n, m}, rng);
    auto bias = random_host<T>(Shape{c}, rng);
    Tensor<T> sample_major(Shape{n, c, m}), with_bias(Shape{n, c, m}), back(Shape{c, n, m});
    test::on_gpu::sample_major_from_channel_major<T>(channel_major, Tensor<T>(), n, c, m, sample_major.view());
    test::on_gpu::sample_major_from_channel_major<T>(channel_major, bias, n, c, m, with_bias.view());
    bool permuted = true, biased = true;
    for (Index i = 0; i < n; ++i)
      for (Index ch = 0; ch < c; ++ch)
        for (Index j = 0; j < m; ++j) {
          permuted = permuted && sample_major.at(i, ch, j) == channel_major.at(ch, i, j);
          biased = biased && with_bias.at(i, ch, j) == channel_major.at(ch, i, j) + bias[ch];
        }
    CHECK(permuted);
    CHECK(biased);
    test::on_gpu::channel_major_from_sample_major<T>(sample_major, n, c, m, back.view());
    CHECK(identical(back, channel_major));

    for (bool accumulate : {false, true}) {
      auto sums_gpu = random_host<T>(Shape{c}, rng);
      Tensor<T> sums_cpu = sums_gpu.clone();
      for (Index ch = 0; ch < c; ++ch) {
        double s = accumulate ? static_cast<double>(sums_cpu[ch]) : 0.0;
        for (Index i = 0; i < n; ++i)
          for (Index j = 0; j < m; ++j) s += static_cast<double>(sample_major.at(i, ch, j));
        sums_cpu[ch] = static_cast<T>(s);
      }
      test::on_gpu::channel_sums<T>(sample_major, n, c, m, accumulate, sums_gpu.view());
      CHECK(difference(sums_gpu, sums_cpu) < test::Tolerance<T>::elementwise * 4);
    }
  }
}
