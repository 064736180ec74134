// bench/cuda/bench_svd.cu: the SVD kernel family (kernels/svd_jacobi.cuh, kernels/svd_topk.cuh) beside
// cuSOLVER (backend/cuda/solver.hpp), at the sizes GradMax needs.
//
//   jacobi/10x20/batch:<b>                 svd_jacobi, u and v, b = 1 (one teacher-student layer), 64,
//                                          1024 matrices in one launch
//   gesvdj/10x20                           cuSOLVER gesvdj on one 10 x 20 matrix (full SVD, then top 10)
//   topk/<n>x<n>/k:<k>/gemm:<cublas|native> svd_topk (randomized subspace iteration, 2 power iterations,
//                                          oversampling 10), GEMMs by cuBLAS or by kernels::gemm
//   gesvdj/<n>x<n>/k:<k>                   cuSOLVER gesvdj full SVD of the same matrix, top k kept
//   topk_stages/<n>x<n>/k:64/p:<q>/os:<o>  svd_topk (cuBLAS GEMMs) with q power iterations and
//                                          oversampling o: alignment, time, and us_<stage> counters per
//                                          stage (range, power, basis, project, small_svd, vectors)
//   gradmax_dense/1024x1024/k:64/batch:512 svd_topk_of_product of M = D^T H / N, D, H (512, 1024) (the
//                                          dense GradMax case: a 1024-wide layer, 64 new neurons)
// Timing: CUDA events around `calls` back-to-back calls on one stream (about a millisecond of work per
// iteration); workspaces are allocated once, outside the timed region. Counters:
//   us_per_call    microseconds per call;   us_per_matrix  (batched Jacobi) per matrix
//   target_us      the issue's target for this case (0: none); within_target 1 when met
// Every benchmark validates its result once before timing and skips with an error when it is wrong:
// Jacobi by reconstruction max |A - U S V^T| <= 1e-5 s_max and orthonormality; top-k and gesvdj by the
// subspace alignment ||U_k^T u||_F^2 / k >= 0.999 with the planted singular vectors (matrices are
// built as U diag(s) V^T with gaps after 1, 8 and 64 singular values, plus noise).
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <netgrow/kernels/gemm.cuh>
#include <netgrow/kernels/svd_jacobi.cuh>
#include <netgrow/kernels/svd_topk.cuh>

#include "event_timer.hpp"
#include "netgrow/core/cuda_check.hpp"
#include "netgrow/core/cuda_library_check.hpp"
#include "netgrow/backend/cuda/solver.hpp"

namespace {

namespace kernels = netgrow::kernels;
using netgrow::Index;

// One stream and the library handles for the whole run.
struct Gpu {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cusolverDnHandle_t cusolver = nullptr;
  Gpu() {
    NETGROW_CUDA_CHECK(cudaStreamCreate(&stream));
    NETGROW_CUBLAS_CHECK(cublasCreate(&cublas));
    NETGROW_CUBLAS_CHECK(cublasSetStream(cublas, stream));
    NETGROW_CUBLAS_CHECK(cublasSetMathMode(cublas, CUBLAS_DEFAULT_MATH));  // no TF32
    NETGROW_CUSOLVER_CHECK(cusolverDnCreate(&cusolver));
    NETGROW_CUSOLVER_CHECK(cusolverDnSetStream(cusolver, stream));
  }
  ~Gpu() {
    (void)cusolverDnDestroy(cusolver);
    (void)cublasDestroy(cublas);
    (void)cudaStreamDestroy(stream);
  }
};

Gpu& gpu() {
  static Gpu instance;
  return instance;
}

// A device array of floats (or bytes) that frees itself.
template <class T>
struct DeviceArray {
  T* data = nullptr;
  std::size_t count = 0;
  explicit DeviceArray(std::size_t n = 0) : count(n) {
    if (n > 0) NETGROW_CUDA_CHECK(cudaMalloc(&data, n * sizeof(T)));
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() {
    if (data) (void)cudaFree(data);
  }
  void upload(const std::vector<T>& host) {
    NETGROW_CUDA_CHECK(cudaMemcpy(data, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> host(count);
    NETGROW_CUDA_CHECK(cudaStreamSynchronize(gpu().stream));
    NETGROW_CUDA_CHECK(cudaMemcpy(host.data(), data, count * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }
};

// ---------------------------------------------------------------------------------------------
// Host-side test matrices (double, row-major)

using HostMatrix = std::vector<double>;  // row-major with an explicit column count

std::vector<double> gaussian(std::size_t count, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  std::vector<double> x(count);
  for (double& e : x) e = normal(rng);
  return x;
}

// (rows, cols) row-major with orthonormal columns: modified Gram-Schmidt (twice) of a Gaussian matrix.
HostMatrix orthonormal_columns(Index rows, Index cols, std::mt19937_64& rng) {
  HostMatrix q = gaussian(static_cast<std::size_t>(rows * cols), rng);
  for (Index j = 0; j < cols; ++j)
    for (int pass = 0; pass < 2; ++pass) {
      for (Index p = 0; p < j; ++p) {
        double dot = 0;
        for (Index i = 0; i < rows; ++i) dot += q[i * cols + p] * q[i * cols + j];
        for (Index i = 0; i < rows; ++i) q[i * cols + j] -= dot * q[i * cols + p];
      }
      double norm = 0;
      for (Index i = 0; i < rows; ++i) norm += q[i * cols + j] * q[i * cols + j];
      norm = std::sqrt(norm);
      for (Index i = 0; i < rows; ++i) q[i * cols + j] /= norm;
    }
  return q;
}

// Singular values with gaps after 1, 8 and 64 values (so one matrix serves k = 1, 8, 64).
std::vector<double> three_level_spectrum(Index r) {
  std::vector<double> s;
  for (Index i = 0; i < r; ++i) {
    const auto x = static_cast<double>(i);
    s.push_back(i == 0   ? 1.0
                : i < 8  ? 0.2 - 0.1 * (x - 1) / 6
                : i < 64 ? 0.02 - 0.01 * (x - 8) / 55
                         : 0.002 * std::pow(0.97, x - 64));
  }
  return s;
}

// x (rows, r) diag(d) y^T (r, cols) for row-major x (rows, r), y (cols, r).
HostMatrix scaled_product(const HostMatrix& x, const std::vector<double>& d, const HostMatrix& y, Index rows,
                          Index cols, Index r) {
  HostMatrix out(static_cast<std::size_t>(rows * cols), 0.0);
  std::vector<double> xd(static_cast<std::size_t>(r));
  for (Index i = 0; i < rows; ++i) {
    for (Index p = 0; p < r; ++p) xd[p] = x[i * r + p] * d[p];
    for (Index j = 0; j < cols; ++j) {
      double s = 0;
      for (Index p = 0; p < r; ++p) s += xd[p] * y[j * r + p];
      out[i * cols + j] = s;
    }
  }
  return out;
}

std::vector<float> to_float(const HostMatrix& x) {
  return std::vector<float>(x.begin(), x.end());
}

// ||U_k^T u||_F^2 / k for U (rows, r) double and u (rows, k) float, both row-major.
double alignment(const HostMatrix& planted, Index r, const std::vector<float>& u, Index rows, Index k) {
  double total = 0;
  for (Index a = 0; a < k; ++a)
    for (Index b = 0; b < k; ++b) {
      double dot = 0;
      for (Index i = 0; i < rows; ++i) dot += planted[i * r + a] * static_cast<double>(u[i * k + b]);
      total += dot * dot;
    }
  return total / static_cast<double>(k);
}

// A planted (n, n) matrix U diag(s) V^T + noise, rank 160 plus noise of spectral norm ~1e-5.
struct Planted {
  Index n = 0, r = 0;
  HostMatrix u, v;
  std::vector<float> a;
};

const Planted& planted(Index n) {
  static std::vector<std::unique_ptr<Planted>> cache;
  for (const auto& p : cache)
    if (p->n == n) return *p;
  auto p = std::make_unique<Planted>();
  std::mt19937_64 rng(static_cast<std::uint64_t>(n));
  p->n = n;
  p->r = 160;
  p->u = orthonormal_columns(n, p->r, rng);
  p->v = orthonormal_columns(n, p->r, rng);
  HostMatrix a = scaled_product(p->u, three_level_spectrum(p->r), p->v, n, n, p->r);
  const std::vector<double> noise = gaussian(static_cast<std::size_t>(n * n), rng);
  const double noise_scale = 1e-5 / (2 * std::sqrt(static_cast<double>(n)));
  for (std::size_t e = 0; e < a.size(); ++e) a[e] += noise_scale * noise[e];
  p->a = to_float(a);
  cache.push_back(std::move(p));
  return *cache.back();
}

// ---------------------------------------------------------------------------------------------
// Timing

// Times `run` (calls per iteration chosen so one iteration is about a millisecond) and sets counters.
template <class Run>
void time_calls(benchmark::State& state, Run&& run, double target_us, double matrices = 1) {
  const double per_call = netgrow::bench::time_manual(state, run, gpu().stream);
  state.counters["us_per_call"] = per_call * 1e6;
  if (matrices > 1) state.counters["us_per_matrix"] = per_call * 1e6 / matrices;
  state.counters["target_us"] = target_us;
  state.counters["within_target"] = (target_us > 0 && per_call * 1e6 <= target_us) ? 1 : 0;
}

void fail(benchmark::State& state, const std::string& why) {
  state.SkipWithError(why.c_str());
  for (auto _ : state) {
  }
}

// The native GEMM as an svd_topk GEMM policy.
struct NativeGemm {
  template <class T>
  void operator()(bool trans_a, bool trans_b, Index m, Index n, Index k, T alpha, const T* a, Index lda, const T* b,
                  Index ldb, T beta, T* c, Index ldc, cudaStream_t stream) const {
    kernels::gemm<T>(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, stream);
  }
};

// ---------------------------------------------------------------------------------------------
// Benchmarks

// "" when u (m, k) S v (n, k)^T reconstructs a (m, n) (k = min(m, n)) and u, v are orthonormal.
std::string check_full_svd(const std::vector<float>& a, const std::vector<float>& s, const std::vector<float>& u,
                           const std::vector<float>& v, Index m, Index n, Index k) {
  double worst = 0, ortho = 0;
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < n; ++j) {
      double x = a[i * n + j];
      for (Index p = 0; p < k; ++p) x -= static_cast<double>(u[i * k + p]) * s[p] * v[j * k + p];
      worst = std::max(worst, std::abs(x));
    }
  for (const auto& [q, rows] : {std::pair{&u, m}, std::pair{&v, n}})
    for (Index a1 = 0; a1 < k; ++a1)
      for (Index b1 = 0; b1 < k; ++b1) {
        double dot = 0;
        for (Index i = 0; i < rows; ++i) dot += static_cast<double>((*q)[i * k + a1]) * (*q)[i * k + b1];
        ortho = std::max(ortho, std::abs(dot - (a1 == b1 ? 1.0 : 0.0)));
      }
  if (worst <= 1e-5 * s[0] && ortho <= 1e-4 && std::isfinite(worst)) return "";
  std::ostringstream out;
  out << "wrong SVD: max |A - U S V^T| = " << worst << " (s_max " << s[0] << "), max |Q^T Q - I| = " << ortho;
  return out.str();
}

void bench_jacobi_10x20(benchmark::State& state) {
  const Index batch = state.range(0), m = 10, n = 20, k = 10;
  std::mt19937_64 rng(5);
  const std::vector<float> host_a = to_float(gaussian(static_cast<std::size_t>(batch * m * n), rng));
  DeviceArray<float> a(host_a.size()), s(static_cast<std::size_t>(batch * k)),
      u(static_cast<std::size_t>(batch * m * k)), v(static_cast<std::size_t>(batch * n * k));
  a.upload(host_a);
  const auto run = [&] {
    kernels::svd_jacobi<float>(batch, m, n, a.data, n, m * n, k, s.data, k, u.data, k, m * k, v.data, k, n * k,
                               gpu().stream);
  };
  run();
  const std::vector<float> hs = s.download(), hu = u.download(), hv = v.download();
  for (Index b = 0; b < batch; b += std::max<Index>(1, batch / 8)) {
    const std::string why =
        check_full_svd(std::vector<float>(host_a.begin() + b * m * n, host_a.begin() + (b + 1) * m * n),
                       std::vector<float>(hs.begin() + b * k, hs.begin() + (b + 1) * k),
                       std::vector<float>(hu.begin() + b * m * k, hu.begin() + (b + 1) * m * k),
                       std::vector<float>(hv.begin() + b * n * k, hv.begin() + (b + 1) * n * k), m, n, k);
    if (!why.empty()) return fail(state, why);
  }
  time_calls(state, run, batch == 1 ? 30.0 : 0.0, static_cast<double>(batch));
}

void bench_gesvdj_10x20(benchmark::State& state) {
  const Index m = 10, n = 20, k = 10;
  std::mt19937_64 rng(5);
  const std::vector<float> host_a = to_float(gaussian(static_cast<std::size_t>(m * n), rng));
  DeviceArray<float> a(host_a.size()), s(k), u(m * k), v(n * k);
  a.upload(host_a);
  const std::size_t bytes = netgrow::cuda::solver_svd_workspace_bytes<float>(gpu().cusolver, m, n);
  DeviceArray<unsigned char> work(bytes);
  const auto run = [&] {
    netgrow::cuda::solver_svd_topk<float>(gpu().cusolver, gpu().cublas, m, n, a.data, n, k, s.data, u.data, k, v.data,
                                          k, gpu().stream, {}, {work.data, bytes});
  };
  run();
  const std::string why = check_full_svd(host_a, s.download(), u.download(), v.download(), m, n, k);
  if (!why.empty()) return fail(state, why);
  time_calls(state, run, 0.0);
}

// svd_topk (randomized) of the planted n x n matrix: its device arrays, options and workspace.
struct TopkCase {
  const Planted& p;
  Index n, k;
  DeviceArray<float> a, s, u;
  kernels::SvdOptions options;
  std::size_t bytes = 0;
  std::unique_ptr<DeviceArray<unsigned char>> work;
  TopkCase(Index size, Index top, int power_iterations = 2, Index oversampling = 10)
      : p(planted(size)), n(size), k(top), a(p.a.size()), s(static_cast<std::size_t>(top)),
        u(static_cast<std::size_t>(size * top)) {
    a.upload(p.a);
    options.method = kernels::SvdMethod::randomized;
    options.power_iterations = power_iterations;
    options.oversampling = oversampling;
    bytes = kernels::svd_topk_workspace_bytes<float>(n, n, k, false, options);
    work = std::make_unique<DeviceArray<unsigned char>>(bytes);
  }
  template <class Gemm>
  void run(const Gemm& gemm, const kernels::SvdOptions& o) {
    kernels::svd_topk<float>(gemm, n, n, a.data, n, k, s.data, u.data, k, nullptr, 0, gpu().stream, o,
                             {work->data, bytes});
  }
  double alignment_now() { return alignment(p.u, p.r, u.download(), n, k); }
};

template <class Gemm>
void bench_topk(benchmark::State& state, Gemm gemm) {
  TopkCase c(state.range(0), state.range(1));
  const auto run = [&] { c.run(gemm, c.options); };
  run();
  const double align = c.alignment_now();
  if (!(align >= 0.999)) return fail(state, "top-k alignment with the planted subspace " + std::to_string(align));
  state.counters["alignment"] = align;
  time_calls(state, run, 500.0);
}

// Records a CUDA event at each stage boundary of the randomized path (SvdOptions::stage_hook) and sums
// the time between consecutive boundaries per stage over the calls of one measurement.
struct StageTimer {
  static constexpr const char* names[] = {"range", "power", "basis", "project", "small_svd", "vectors"};
  static constexpr int stages = 6;
  std::vector<cudaEvent_t> events;  // one per boundary per call: (stages + 1) per call
  std::size_t used = 0;
  explicit StageTimer(int calls) : events(static_cast<std::size_t>(calls) * (stages + 1)) {
    for (auto& e : events) NETGROW_CUDA_CHECK(cudaEventCreate(&e));
  }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;
  ~StageTimer() {
    for (auto& e : events) (void)cudaEventDestroy(e);
  }
  static void hook(void* user, const char*, cudaStream_t stream) {
    auto* t = static_cast<StageTimer*>(user);
    if (t->used < t->events.size()) NETGROW_CUDA_CHECK(cudaEventRecord(t->events[t->used++], stream));
  }
  // Milliseconds per stage, averaged over the recorded calls (waits for the last event).
  std::vector<double> per_stage_ms() const {
    std::vector<double> ms(stages, 0.0);
    const std::size_t calls = used / (stages + 1);
    if (calls == 0) return ms;
    NETGROW_CUDA_CHECK(cudaEventSynchronize(events[used - 1]));
    for (std::size_t c = 0; c < calls; ++c)
      for (int s = 0; s < stages; ++s) {
        float t = 0;
        NETGROW_CUDA_CHECK(cudaEventElapsedTime(&t, events[c * (stages + 1) + s], events[c * (stages + 1) + s + 1]));
        ms[static_cast<std::size_t>(s)] += t / static_cast<double>(calls);
      }
    return ms;
  }
};

// topk_stages/<n>x<n>/k:<k>/p:<power>/os:<oversampling>: svd_topk on cuBLAS GEMMs with the given power
// iterations and oversampling, its alignment checked as bench_topk's (the row is kept and flagged
// when the alignment falls below 0.999: fewer iterations are then not an option), timed whole, and
// each stage's microseconds from events recorded between the stages (counters us_<stage>).
void bench_topk_stages(benchmark::State& state) {
  TopkCase c(state.range(0), state.range(1), static_cast<int>(state.range(2)), state.range(3));
  const kernels::CublasGemm gemm{gpu().cublas};
  const auto run = [&] { c.run(gemm, c.options); };
  run();
  const double align = c.alignment_now();
  state.counters["alignment"] = align;
  state.counters["alignment_ok"] = align >= 0.999 ? 1 : 0;
  {
    constexpr int calls = 20;
    StageTimer timer(calls);
    kernels::SvdOptions timed = c.options;
    timed.stage_hook = &StageTimer::hook;
    timed.stage_user = &timer;
    for (int i = 0; i < calls; ++i) c.run(gemm, timed);
    const std::vector<double> ms = timer.per_stage_ms();
    for (int i = 0; i < StageTimer::stages; ++i)
      state.counters[std::string("us_") + StageTimer::names[i]] = ms[static_cast<std::size_t>(i)] * 1e3;
  }
  time_calls(state, run, 500.0);
}

void bench_gesvdj_topk(benchmark::State& state) {
  const Index n = state.range(0), k = state.range(1);
  const Planted& p = planted(n);
  DeviceArray<float> a(p.a.size()), s(static_cast<std::size_t>(k)), u(static_cast<std::size_t>(n * k));
  a.upload(p.a);
  const std::size_t bytes = netgrow::cuda::solver_svd_workspace_bytes<float>(gpu().cusolver, n, n);
  DeviceArray<unsigned char> work(bytes);
  const auto run = [&] {
    netgrow::cuda::solver_svd_topk<float>(gpu().cusolver, gpu().cublas, n, n, a.data, n, k, s.data, u.data, k, nullptr,
                                          0, gpu().stream, {}, {work.data, bytes});
  };
  run();
  const double align = alignment(p.u, p.r, u.download(), n, k);
  if (!(align >= 0.999)) return fail(state, "gesvdj alignment with the planted subspace " + std::to_string(align));
  state.counters["alignment"] = align;
  time_calls(state, run, 0.0);
}

template <class Gemm>
void bench_gradmax_dense(benchmark::State& state, Gemm gemm) {
  const Index rows = 512, width = 1024, k = 64, r = 160;
  // D = P diag(sqrt s) Qd^T, H = P diag(sqrt s) Qh^T (+ noise), P^T P = I: D^T H = Qd diag(s) Qh^T.
  static std::vector<float> d_host, h_host;
  static HostMatrix qd;
  if (d_host.empty()) {
    std::mt19937_64 rng(512);
    const HostMatrix pm = orthonormal_columns(rows, r, rng);
    qd = orthonormal_columns(width, r, rng);
    const HostMatrix qh = orthonormal_columns(width, r, rng);
    std::vector<double> root = three_level_spectrum(r);
    for (double& x : root) x = std::sqrt(x);
    HostMatrix dm = scaled_product(pm, root, qd, rows, width, r), hm = scaled_product(pm, root, qh, rows, width, r);
    const std::vector<double> noise = gaussian(static_cast<std::size_t>(2 * rows * width), rng);
    for (std::size_t e = 0; e < dm.size(); ++e) {
      dm[e] += 1e-7 * noise[e];
      hm[e] += 1e-7 * noise[dm.size() + e];
    }
    d_host = to_float(dm);
    h_host = to_float(hm);
  }
  DeviceArray<float> d(d_host.size()), h(h_host.size()), s(static_cast<std::size_t>(k)),
      u(static_cast<std::size_t>(width * k));
  d.upload(d_host);
  h.upload(h_host);
  kernels::SvdOptions options;
  options.method = kernels::SvdMethod::randomized;
  const std::size_t bytes = kernels::svd_topk_of_product_workspace_bytes<float>(rows, width, width, k, false, options);
  DeviceArray<unsigned char> work(bytes);
  const auto run = [&] {
    kernels::svd_topk_of_product<float>(gemm, rows, width, width, d.data, width, h.data, width, 1.0f / rows, k, s.data,
                                        u.data, k, nullptr, 0, gpu().stream, options, {work.data, bytes});
  };
  run();
  const double align = alignment(qd, r, u.download(), width, k);
  if (!(align >= 0.999))
    return fail(state, "product top-k alignment with the planted subspace " + std::to_string(align));
  state.counters["alignment"] = align;
  time_calls(state, run, 500.0);
}

void register_benchmarks() {
  const auto manual = [](benchmark::internal::Benchmark* b) { b->UseManualTime()->Unit(benchmark::kMicrosecond); };
  for (const Index batch : {1, 64, 1024})
    manual(benchmark::RegisterBenchmark(("jacobi/10x20/batch:" + std::to_string(batch)).c_str(), bench_jacobi_10x20)
               ->Arg(batch));
  manual(benchmark::RegisterBenchmark("gesvdj/10x20", bench_gesvdj_10x20));
  for (const Index n : {576, 1152})
    for (const Index k : {8, 64}) {
      const std::string shape = std::to_string(n) + "x" + std::to_string(n) + "/k:" + std::to_string(k);
      manual(benchmark::RegisterBenchmark(("topk/" + shape + "/gemm:cublas").c_str(), [](benchmark::State& st) {
               bench_topk(st, kernels::CublasGemm{gpu().cublas});
             })->Args({n, k}));
      manual(benchmark::RegisterBenchmark(("topk/" + shape + "/gemm:native").c_str(), [](benchmark::State& st) {
               bench_topk(st, NativeGemm{});
             })->Args({n, k}));
      manual(benchmark::RegisterBenchmark(("gesvdj/" + shape).c_str(), bench_gesvdj_topk)->Args({n, k}));
    }
  // Where the top-64 SVD's time goes, at the default settings and with fewer power iterations or less
  // oversampling (the alignment counter says whether they still find the subspace).
  for (const Index n : {576, 1152})
    for (const auto& [power, oversampling] : {std::pair<Index, Index>{2, 10}, {1, 10}, {1, 5}, {0, 10}})
      manual(benchmark::RegisterBenchmark(("topk_stages/" + std::to_string(n) + "x" + std::to_string(n) +
                                           "/k:64/p:" + std::to_string(power) + "/os:" + std::to_string(oversampling))
                                              .c_str(),
                                          bench_topk_stages)
                 ->Args({n, 64, power, oversampling}));
  manual(benchmark::RegisterBenchmark("gradmax_dense/1024x1024/k:64/batch:512/gemm:cublas", [](benchmark::State& st) {
    bench_gradmax_dense(st, kernels::CublasGemm{gpu().cublas});
  }));
  manual(benchmark::RegisterBenchmark("gradmax_dense/1024x1024/k:64/batch:512/gemm:native",
                                      [](benchmark::State& st) { bench_gradmax_dense(st, NativeGemm{}); }));
}

}  // namespace

int main(int argc, char** argv) {
  return netgrow::bench::run_gpu_benchmarks("bench_svd", argc, argv, register_benchmarks);
}
