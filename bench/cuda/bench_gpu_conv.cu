// bench/cuda/bench_gpu_conv.cu: one convolution layer's forward and backward on the GPU, im2col + GEMM
// against the implicit GEMMs of kernels/conv_implicit.cuh with each tile shape, at the layer shapes of
// the training-step rows (batch 128, 3 x 3 kernels, stride 1, padding 1):
//
//   conv/<layer>/fwd/<path>   y = conv(x, W) + b
//   conv/<layer>/bwd/<path>   dW and dx from dy (and x), as a training step's backward (no db)
//   layers: wrn_g1 16 -> 16 at 32 x 32, wrn_g2 32 -> 32 at 16 x 16, wrn_g3 64 -> 64 at 8 x 8 (the
//           Wide-ResNet-28-1's three groups), vgg_64_128 64 -> 128 at 16 x 16, vgg_256_256 256 -> 256 at 8 x 8
//   paths:  im2col (the backend's im2col + cuBLAS GEMM + layout permutes); v3:auto (the implicit GEMM
//           the backend runs: cursors, the tile picked from the GEMM's rows), v3:16, v3:32, v3:64 (each
//           tile forced), v2:auto (per-element gathers), v1 (v2 with v1's 64 x 64 tile)
//
// Timing: CUDA events around `calls` back-to-back calls (about a millisecond per iteration). Counters:
// us_per_call, TFLOP/s (2 O C k^2 N Ho Wo per GEMM: one forward, two backward). Before timing every
// implicit row checks its outputs against the im2col path's: max |diff| <= 1e-4 max |reference|, else
// it reports an error and times nothing.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <netgrow/cuda.hpp>

#include "event_timer.hpp"

namespace {

using namespace netgrow;

constexpr Index batch = 128;

struct Layer {
  const char* name;
  Index in, out, size;
};
constexpr Layer layers[] = {{"wrn_g1", 16, 16, 32},
                            {"wrn_g2", 32, 32, 16},
                            {"wrn_g3", 64, 64, 8},
                            {"vgg_64_128", 64, 128, 16},
                            {"vgg_256_256", 256, 256, 8}};

ConvGeometry geometry(const Layer& l) {
  return ConvGeometry{.channels = l.in, .height = l.size, .width = l.size, .kernel = 3, .stride = 1, .padding = 1};
}

Tensor<float, Cuda> uniform(Shape shape, Rng& rng) {
  Tensor<float, Cpu> t(shape);
  for (Index i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.uniform() * 2 - 1);
  return to<Cuda>(t);
}

// One layer's tensors and both paths' calls.
struct ConvCase {
  Layer layer;
  ConvGeometry g;
  Tensor<float, Cuda> x, w, b, dy, y, dx, dw, db, workspace, partials;
  explicit ConvCase(const Layer& l) : layer(l), g(geometry(l)) {
    Rng rng(static_cast<std::uint64_t>(l.in * 1000 + l.out));
    x = uniform(Shape{batch, l.in, l.size, l.size}, rng);
    w = uniform(Shape{l.out, l.in, 3, 3}, rng);
    b = uniform(Shape{l.out}, rng);
    dy = uniform(Shape{batch, l.out, g.out_height(), g.out_width()}, rng);
    y = Tensor<float, Cuda>(dy.shape());
    dx = Tensor<float, Cuda>(x.shape());
    dw = Tensor<float, Cuda>(w.shape());
  }
  void im2col_forward() {
    const netgrow::cuda::ConvPathScope path(netgrow::cuda::ConvPath::im2col_gemm);
    backend::Conv2dOps<Cuda>::forward<float>(x.cview(), w.cview(), b.cview(), g, y.view(), workspace);
  }
  void im2col_backward() {
    const netgrow::cuda::ConvPathScope path(netgrow::cuda::ConvPath::im2col_gemm);
    backend::Conv2dOps<Cuda>::backward<float>(x.cview(), dy.cview(), w.cview(), g, dw.view(), TensorView<float, Cuda>(),
                                              false, dx.view(), workspace, false);
  }
  void implicit_forward(kernels::ConvImplicitOptions o) {
    kernels::conv_implicit_forward<float>(x.data(), w.data(), b.data(), batch, layer.out, g, y.data(),
                                          netgrow::cuda::context().stream(), o);
  }
  void implicit_backward(kernels::ConvImplicitOptions o) {
    const Index need = kernels::conv_implicit_wgrad_workspace(batch, layer.out, g, o.tile_rows);
    if (partials.numel() < need) partials = Tensor<float, Cuda>(Shape{need});
    kernels::conv_implicit_wgrad<float>(x.data(), dy.data(), batch, layer.out, g, false, dw.data(), partials.data(),
                                        netgrow::cuda::context().stream(), o);
    kernels::conv_implicit_dgrad<float>(dy.data(), w.data(), batch, layer.out, g, dx.data(),
                                        netgrow::cuda::context().stream(), o);
  }
  double gemm_flops() const {
    return 2.0 * static_cast<double>(layer.out * layer.in * 9) * static_cast<double>(batch * g.positions());
  }
};

// "" when `got` matches `want` to 1e-4 of want's largest magnitude.
std::string compare(const Tensor<float, Cuda>& got, const Tensor<float, Cuda>& want, const char* what) {
  const Tensor<float, Cpu> a = to<Cpu>(got), e = to<Cpu>(want);
  double scale = 0, worst = 0;
  for (Index i = 0; i < e.numel(); ++i) scale = std::max(scale, static_cast<double>(std::abs(e[i])));
  for (Index i = 0; i < e.numel(); ++i) worst = std::max(worst, static_cast<double>(std::abs(a[i] - e[i])));
  if (std::isfinite(worst) && worst <= 1e-4 * scale) return "";
  return std::string(what) + " differs from the im2col path: max |diff| " + std::to_string(worst) + " of " +
         std::to_string(scale);
}

void skip(benchmark::State& state, const std::string& why) {
  state.SkipWithError(why.c_str());
  for (auto _ : state) {
  }
}

template <class Run>
void time_calls(benchmark::State& state, Run&& run, double flops) {
  const double per_call = bench::time_manual(state, run, netgrow::cuda::context().stream());
  state.counters["us_per_call"] = per_call * 1e6;
  state.counters["TFLOP/s"] = flops / per_call * 1e-12;
}

// implicit: false for the im2col path, else the implicit GEMM with options o.
void bench_conv(benchmark::State& state, const Layer& layer, bool backward, bool implicit,
                kernels::ConvImplicitOptions o) {
  ConvCase c(layer);
  if (implicit) {  // the reference outputs from the im2col path first
    if (!backward) {
      c.im2col_forward();
      const Tensor<float, Cuda> want = c.y.clone();
      c.implicit_forward(o);
      if (const std::string why = compare(c.y, want, "y"); !why.empty()) return skip(state, why);
    } else {
      c.im2col_backward();
      const Tensor<float, Cuda> want_dw = c.dw.clone(), want_dx = c.dx.clone();
      c.implicit_backward(o);
      if (const std::string why = compare(c.dw, want_dw, "dW"); !why.empty()) return skip(state, why);
      if (const std::string why = compare(c.dx, want_dx, "dx"); !why.empty()) return skip(state, why);
    }
  }
  const double flops = c.gemm_flops() * (backward ? 2 : 1);
  if (!implicit) {
    if (backward) time_calls(state, [&] { c.im2col_backward(); }, flops);
    else time_calls(state, [&] { c.im2col_forward(); }, flops);
  } else {
    if (backward) time_calls(state, [&] { c.implicit_backward(o); }, flops);
    else time_calls(state, [&] { c.implicit_forward(o); }, flops);
  }
}

void register_benchmarks() {
  struct Path {
    const char* name;
    bool implicit;
    kernels::ConvImplicitOptions options;
  };
  static const Path paths[] = {{"im2col", false, {}},         {"v3:auto", true, {0, 3}}, {"v3:16", true, {16, 3}},
                               {"v3:32", true, {32, 3}},      {"v3:64", true, {64, 3}},  {"v2:auto", true, {0, 2}},
                               {"v1", true, {64, 2}}};
  for (const Layer& layer : layers)
    for (bool backward : {false, true})
      for (const Path& path : paths) {
        const std::string name = std::string("conv/") + layer.name + (backward ? "/bwd/" : "/fwd/") + path.name;
        benchmark::RegisterBenchmark(name.c_str(), [&layer, backward, &path](benchmark::State& st) {
          bench_conv(st, layer, backward, path.implicit, path.options);
        })->UseManualTime()->Unit(benchmark::kMicrosecond);
      }
}

}  // namespace

int main(int argc, char** argv) {
  return netgrow::bench::run_gpu_benchmarks("bench_gpu_conv", argc, argv, register_benchmarks);
}
