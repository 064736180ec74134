/// \file
/// netgrow/grow/heads.hpp: growing attention heads (MultiHeadAttentionLayer, on its own or inside a
/// TransformerBlockLayer) at a fixed head dimension dh, keeping the layer's function exactly.
///
/// ~~~
///   grow::grow_heads(block.attention(), 2, grow::HeadsRandom{}, rng);                 // 2 heads, zero outputs
///   auto data = grow::head_data_from_last_backward(block);                            // after a backward
///   grow::grow_heads(block.attention(), 2, grow::HeadsGradMax{}, rng, data);          // values by GradMax
///   grow::grow_heads(block.attention(), block.attention().heads(), grow::HeadsCopy{}, rng);  // 2x heads
/// ~~~
///
/// Initializers:
/// ~~~{.unparsed}
///   HeadsRandom    Wq, Wk, Wv rows random (unit directions x the mean row norm of the existing heads),
///                  Wo columns zero: the new heads add nothing until Wo learns (LLaMA-Pro's zero outputs
///                  applied to heads; MSG's heads without the mask).
///   HeadsGradMax   Wq, Wk as HeadsRandom, Wv rows chosen to maximise the gradient of the zero Wo columns
///                  (below), Wo columns zero.
///   HeadsCopy      LEMON / HyperCloning head duplication: new head i copies head i mod h (Wq, Wk, Wv rows
///                  and biases); the output columns of a head copied n - 1 times are split in n parts
///                  that sum to the original, W/n + eta_c with sum_c eta_c = 0 (symmetric noise of
///                  standard deviation `noise` x the column's RMS; 0: equal split).
/// ~~~
/// Each keeps the function exactly, in training and evaluation mode (attention has no mode).
///
/// GradMax for a head (derived here; the GradMax paper does it for a dense pair). A new head j with
/// attention probabilities A (N, T, T, from its Wq, Wk), value weights V (dh, d) with zero bias and
/// output columns O (d, dh) adds y_t += O sum_s A_ts V a_s, a the attention's input (N, T, d). With O = 0
/// the layer's function is unchanged and, g_t = dL/dy_t the gradient at the attention's output,
/// ~~~{.unparsed}
///   dL/dO = sum_{n,t} g_t (V abar_t)^T = M V^T,     abar_t = sum_s A_ts a_s,     M = sum_{n,t} g_t abar_t^T  (d, d)
/// ~~~
/// (summed over the batch, as the layer's weight gradients are). Under a norm budget |V|_F = c the
/// gradient norm |M V^T|_F is largest when V's rows are the top-dh right singular vectors of M times
/// c / sqrt(dh): then |dL/dO|_F = (c / sqrt(dh)) sqrt(sigma_1^2 + ... + sigma_dh^2). V's own gradient is
/// zero (O = 0), and so is Q's and K's: the first step trains O, which then opens Q, K and V. A is the
/// new head's own attention on the grow batch (its random Wq, Wk); with Wq = Wk = 0 it would be uniform
/// (causal: a running mean), but Q = K = 0 is a saddle (their gradients stay zero), so they are random.
/// Any device: HeadsCopy and HeadsGradMax work on the host (a device layer's projections or grow batch
/// copied over, the new rows copied back; GradMax's SVDs are d x d per head), HeadsRandom draws there.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "netgrow/blocks/transformer_block.hpp"
#include "netgrow/core/clock.hpp"
#include "netgrow/grow/gradmax.hpp"
#include "netgrow/grow/random.hpp"
#include "netgrow/layers/multi_head_attention.hpp"
#include "netgrow/layers/parameter_growth.hpp"
#include "netgrow/ops/attention.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::grow {

/// The grow batch of an attention layer: its input a (N, T, d) and dL/dy at its output (N, T, d).
/// Views: they must outlive the growth.
template <class S, class D = Cpu>
struct HeadData {
  ConstView<S, D> input;        ///< a, the attention's input (LN1's output in a transformer block)
  ConstView<S, D> output_grad;  ///< dL/dy at the attention's output
  bool empty() const { return input.empty() || output_grad.empty(); }  ///< no batch given
};

/// The attention sub-block's grow batch from a transformer block's last forward and backward (views of
/// the block's buffers: use them before its next forward()).
template <class S, class D>
HeadData<S, D> head_data_from_last_backward(const TransformerBlockLayer<S, D>& block) {
  const HeadData<S, D> data{block.attention_input(), block.attention_output_grad()};
  require<StateError>(!data.empty() && data.input.shape() == data.output_grad.shape(), "head_data_from_last_backward: "
                      "run forward() and backward() of the block (the network) on the grow batch first");
  return data;
}

/// Random query/key/value rows, zero output columns (see the file comment).
struct HeadsRandom {
  static constexpr bool needs_data = false;  ///< reads no grow batch
  double scale = 1.0;  ///< new rows' norm: scale x the mean row norm of the existing heads' projection
};

/// Random query/key rows, GradMax value rows, zero output columns (see the file comment).
struct HeadsGradMax {
  static constexpr bool needs_data = true;  ///< reads the grow batch (HeadData)
  double scale = 1.0;                       ///< row norms as HeadsRandom (values: c / sqrt(dh) per row)
  ops::SvdOptions svd{};                    ///< how the top-dh SVD of M is computed
  /// Data parallelism: each new head's M replaced by its mean over the processes before the SVD
  /// (dist::process_mean(comm)), so every process grows the same heads. Empty: one process.
  CrossProcessMean mean_over_processes{};
};

/// Head duplication with split output columns (LEMON, HyperCloning; see the file comment).
struct HeadsCopy {
  static constexpr bool needs_data = false;  ///< reads no grow batch
  double noise = 0.0;                        ///< symmetric noise on the split, x the column's RMS
};

/// What one head growth did.
struct HeadReport {
  Index old_heads = 0, new_heads = 0;   ///< heads before and after
  std::vector<double> singular_values;  ///< HeadsGradMax: per new head, the top-dh singular values of M
  /// HeadsGradMax: |dL/dO|_F the first backward will give the new output columns, (c / sqrt(dh))
  /// sqrt(sum sigma_i^2) summed in squares over the new heads.
  double predicted_gradient_norm = 0;
  double seconds = 0;                   ///< wall time
};

namespace detail {

// Mean row norm of the first `rows` rows of a projection weight (rows, d).
template <class S, class D>
double mean_row_norm(const Tensor<S, D>& w) {
  const std::vector<double> norms = ops::axis_norms<S>(w.cview().reshape(Shape{1, w.dim(0), w.dim(1)}), 1);
  double sum = 0;
  for (double n : norms) sum += n;
  return norms.empty() ? 0.0 : sum / static_cast<double>(norms.size());
}

// Random unit rows (rows, d) x norm, drawn on the host.
template <class S, class D>
Tensor<S, D> random_rows_like(Index rows, Index d, double norm, Rng& rng) {
  Tensor<S, Cpu> w = random_unit_rows<S>(rows, d, RandomDirection::sphere, rng);
  set_row_norms(w, norm);
  return host_to<D>(std::move(w));
}

// abar (N, T, d) = A a per head of the new heads' probabilities A (N, k, T, T): one (N, T, d) slice per head.
template <class S>
std::vector<Tensor<S, Cpu>> attended_inputs(ConstView<S, Cpu> a, ConstView<S, Cpu> probs, Index k) {
  const Index n = a.dim(0), t = a.dim(1), d = a.dim(2);
  std::vector<Tensor<S, Cpu>> out;
  for (Index j = 0; j < k; ++j) {
    Tensor<S, Cpu> abar(Shape{n, t, d});
    for (Index i = 0; i < n; ++i) {
      const Eigen::Map<const RowMajorMatrix<S>> p(probs.data() + (i * k + j) * t * t, t, t);
      const Eigen::Map<const RowMajorMatrix<S>> x(a.data() + i * t * d, t, d);
      Eigen::Map<RowMajorMatrix<S>>(abar.data() + i * t * d, t, d).noalias() = p * x;
    }
    out.push_back(std::move(abar));
  }
  return out;
}

}  // namespace detail

/// Adds k heads of the layer's head dimension to `attention` with initializer `init` (HeadsRandom,
/// HeadsGradMax with `data`, HeadsCopy), keeping its function exactly. Gradients and optimizer state
/// (Adam moments) of the new rows and columns start at zero; per-element learning-rate factors at 1.
/// Throws, leaving the layer unchanged, for k < 0, missing or mis-shaped data, non-finite weights or data.
template <class S, class D, class Init>
HeadReport grow_heads(MultiHeadAttentionLayer<S, D>& attention, Index k, const Init& init, Rng& rng,
                      const HeadData<S, D>& data = {}) {
  static_assert(std::same_as<Init, HeadsRandom> || std::same_as<Init, HeadsGradMax> || std::same_as<Init, HeadsCopy>,
                "netgrow::grow::grow_heads: initializers are HeadsRandom, HeadsGradMax and HeadsCopy");
  const double start = monotonic_seconds();
  const Index d = attention.dim(), dh = attention.head_dim(), h = attention.heads(), rows = k * dh;
  require(k >= 0, "grow_heads: cannot add ", k, " heads");
  bool finite = true;
  attention.visit_parameters([&](auto&&, Parameter<S, D>& p) { finite = finite && ops::all_finite<S>(p.value); });
  require<NumericError>(finite, "grow_heads: ", attention.describe(), " holds NaN or infinity; growth refused, the "
                        "layer is unchanged");
  HeadReport report;
  report.old_heads = h;
  report.new_heads = h + k;
  if (k == 0) return report;

  NewHeads<S, D> heads;
  heads.count = k;
  if constexpr (std::same_as<Init, HeadsCopy>) {
    require(init.noise >= 0 && std::isfinite(init.noise), "grow_heads: HeadsCopy noise must be >= 0, got ", init.noise);
    const auto& q = attention.query();
    const bool bias = q.has_bias();
    // Sources: new head i copies head (i mod h); copies[j] counts head j's copies, itself included. The
    // copies are made on the host (device layers: their weights copied over, the new rows copied back).
    std::vector<Index> copies(static_cast<std::size_t>(h), 1);
    for (Index i = 0; i < k; ++i) ++copies[static_cast<std::size_t>(i % h)];
    const auto copy_rows = [&](DenseLayer<S, D>& layer, Tensor<S, D>& w, Tensor<S, D>& b) {
      Tensor<S, Cpu> w_staging, b_staging;
      const ConstView<S, Cpu> src_w = host_view(layer.weight().value, w_staging);
      const ConstView<S, Cpu> src_b = bias ? host_view(layer.bias().value, b_staging) : ConstView<S, Cpu>();
      Tensor<S, Cpu> new_w(Shape{rows, d}), new_b;
      if (bias) new_b = Tensor<S, Cpu>(Shape{rows});
      for (Index i = 0; i < k; ++i) {
        const Index src = (i % h) * dh;
        matrix(new_w).middleRows(i * dh, dh) = matrix(src_w).middleRows(src, dh);
        if (bias) vector(new_b).segment(i * dh, dh) = vector(src_b).segment(src, dh);
      }
      w = host_to<D>(std::move(new_w));
      if (bias) b = host_to<D>(std::move(new_b));
    };
    copy_rows(attention.query(), heads.query, heads.query_bias);
    copy_rows(attention.key(), heads.key, heads.key_bias);
    copy_rows(attention.value(), heads.value, heads.value_bias);
    // Output columns: W (d, h dh); head j's dh columns split over its copies.
    Tensor<S, D>& wo = attention.output().weight().value;
    Tensor<S, Cpu> staging;
    const ConstView<S, Cpu> kept = host_view(wo, staging);
    Tensor<S, Cpu> split;  // existing columns, rescaled
    split.copy_from(kept);
    Tensor<S, Cpu> new_output(Shape{rows, d});
    auto existing = matrix(split);
    const auto original = matrix(kept);
    for (Index j = 0; j < h; ++j) {
      const Index n = copies[static_cast<std::size_t>(j)];
      if (n == 1) continue;
      for (Index c = 0; c < dh; ++c) {
        const Index col = j * dh + c;
        const double rms = std::sqrt(original.col(col).template cast<double>().squaredNorm() / static_cast<double>(d));
        // n parts W / n + eta_p with the eta summing to zero: draw n, subtract their mean.
        std::vector<EigenVector<double>> eta(static_cast<std::size_t>(n), EigenVector<double>::Zero(d));
        if (init.noise > 0) {
          EigenVector<double> mean = EigenVector<double>::Zero(d);
          for (auto& e : eta) {
            for (Index r = 0; r < d; ++r) e(r) = rng.normal() * init.noise * rms;
            mean += e;
          }
          mean /= static_cast<double>(n);
          for (auto& e : eta) e -= mean;
        }
        const EigenVector<double> part = original.col(col).template cast<double>() / static_cast<double>(n);
        existing.col(col) = (part + eta[0]).template cast<S>();
        Index p = 1;
        for (Index i = j; i < k; i += h, ++p)
          matrix(new_output).row(i * dh + c) = (part + eta[static_cast<std::size_t>(p)]).transpose().template cast<S>();
      }
    }
    heads.output = host_to<D>(std::move(new_output));
    attention.grow_heads(heads);  // checks shapes first; from here on nothing fails
    Tensor<S, Cpu> grown = host_copy(wo.cview());
    matrix(grown).leftCols(h * dh) = matrix(split);  // the existing heads' split columns
    copy_between<S>(grown.cview(), wo.view());
  } else {
    const double q_norm = init.scale * detail::mean_row_norm(attention.query().weight().value);
    const double k_norm = init.scale * detail::mean_row_norm(attention.key().weight().value);
    const double v_norm = init.scale * detail::mean_row_norm(attention.value().weight().value);
    Tensor<S, Cpu> query = detail::random_rows_like<S, Cpu>(rows, d, q_norm, rng);
    Tensor<S, Cpu> key = detail::random_rows_like<S, Cpu>(rows, d, k_norm, rng);
    heads.output = Tensor<S, D>(Shape{rows, d});
    if constexpr (std::same_as<Init, HeadsRandom>) {
      heads.value = detail::random_rows_like<S, D>(rows, d, v_norm, rng);
    } else {
      require(!data.empty(), "grow_heads: HeadsGradMax needs the grow batch; pass head_data_from_last_backward(block) "
                             "after a forward and backward on it");
      require<ShapeError>(data.input.rank() == 3 && data.input.dim(2) == d && data.output_grad.shape() == data.input.shape(),
                          "grow_heads: grow batch a ", data.input.shape(), " and dL/dy ", data.output_grad.shape(),
                          " for ", attention.describe());
      require<NumericError>(ops::all_finite<S>(data.input) && ops::all_finite<S>(data.output_grad), "grow_heads: the "
                            "grow batch holds NaN or infinity; growth refused, the layer is unchanged");
      // On the host (device layers: the grow batch copied over, the value rows copied back). The new heads'
      // attention on the grow batch: their Q and K (zero bias), softmax per head.
      const Tensor<S, Cpu> input = host_copy(data.input), output_grad = host_copy(data.output_grad);
      const Index n = input.dim(0), t = input.dim(1);
      const ConstView<S, Cpu> a2 = input.cview().reshape(Shape{n * t, d});
      Tensor<S, Cpu> q(Shape{n, t, rows}), kk(Shape{n, t, rows}), out(Shape{n, t, rows}), probs(Shape{n, k, t, t});
      ops::gemm<S>(ops::Trans::no, ops::Trans::yes, S(1), a2, query.cview(), S(0), q.view().reshape(Shape{n * t, rows}));
      ops::gemm<S>(ops::Trans::no, ops::Trans::yes, S(1), a2, key.cview(), S(0), kk.view().reshape(Shape{n * t, rows}));
      ops::attention_forward<S>(q.cview(), kk.cview(), kk.cview(), k, attention.causal(), probs.view(), out.view());
      const std::vector<Tensor<S, Cpu>> abar = detail::attended_inputs<S>(input.cview(), probs.cview(), k);
      Tensor<S, Cpu> value(Shape{rows, d});
      const double row_norm = v_norm;  // c / sqrt(dh) per row with c = sqrt(dh) x the mean row norm
      double predicted = 0;
      for (Index j = 0; j < k; ++j) {
        // M^T (d, d) = sum abar g^T: GradMax's directions of M^T are the right singular vectors of M.
        Tensor<S, Cpu> mt(Shape{d, d});
        ops::gemm<S>(ops::Trans::yes, ops::Trans::no, S(1), abar[static_cast<std::size_t>(j)].cview().reshape(Shape{n * t, d}),
                     output_grad.cview().reshape(Shape{n * t, d}), S(0), mt.view());
        if (init.mean_over_processes) init.mean_over_processes(std::span<S>(mt.data(), static_cast<std::size_t>(mt.numel())));
        GradMaxDirections<S, Cpu> dirs = gradmax_directions(GrowthData<S, Cpu>::from_matrix(std::move(mt)), dh, init.svd, rng);
        set_row_norms(dirs.rows, row_norm);
        matrix(value).middleRows(j * dh, dh) = matrix(dirs.rows);
        double s2 = 0;
        for (double s : dirs.singular_values) s2 += s * s;
        predicted += row_norm * row_norm * s2;
        report.singular_values.insert(report.singular_values.end(), dirs.singular_values.begin(), dirs.singular_values.end());
      }
      report.predicted_gradient_norm = std::sqrt(predicted);
      heads.value = host_to<D>(std::move(value));
    }
    heads.query = host_to<D>(std::move(query));
    heads.key = host_to<D>(std::move(key));
    attention.grow_heads(heads);
  }
  report.seconds = monotonic_seconds() - start;
  return report;
}

}  // namespace netgrow::grow
