/// \file
/// netgrow/grow/gradmax.hpp: GradMax (Evci et al., ICLR 2022): new neurons whose incoming weights are
/// zero and whose outgoing weights maximise the gradient norm of those incoming weights.
///
/// With zero incoming weights and f'(0) = a between the pair, the gradient of the new incoming weights
/// is a * O M, where O (k, fan_out) holds the new outgoing weights and M = E[dL/dz h^T] (fan_out,
/// fan_in) is the gradient of the loss with respect to a zero auxiliary weight from the producer's
/// input h to the consumer's pre-activation z (paper eqs. 12-17). Under per-neuron norm c its
/// Frobenius norm is maximised by the top-k left singular vectors of M:
///     ||a O M||_F = |a| c sqrt(sigma_1^2 + ... + sigma_k^2).
/// Conventions (those of the GradMax reference code):
/// - each new neuron's outgoing vector is a unit singular vector times the norm rule's magnitude
///   (mean norm of the existing outgoing weights x scale, or fixed); singular values are not used as
///   weights; the new incoming weights are a random direction x epsilon-rule (0 by default); bias 0;
/// - singular vector signs: GradMax's objective ignores them, the trajectory does not (GradMaxSign below);
///   by default fixed (largest entry positive);
/// - k beyond the numerical rank r of M (sigma_j <= sigma_1 * max(m, n) * machine epsilon): the
///   directions r..k-1 are a random orthonormal complement of the singular vectors (drawn from rng);
///   beyond fan_out directions, where no more orthogonal ones exist, further neurons get random unit
///   directions. Never NaN, never an error.
/// M comes from GrowthData: a given matrix (e.g. GradMaxMatrix, streamed over many batches) or one
/// batch's h and dL/dz, in which case the SVD works on the product without forming M when that is
/// cheaper (ops::svd_topk_of_product).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <vector>

#include "netgrow/ops/svd.hpp"
#include "netgrow/grow/initializer.hpp"

namespace netgrow::grow {

/// Streaming estimate of M = E[dL/dz h^T] over batches of possibly different sizes: batch b with N_b
/// samples contributes N_b * (dz_b^T h_b) (dz_b already carries the 1/N_b of a mean loss), and
/// value() divides by the total sample count. On the device of its inputs.
template <class S, class D = Cpu>
class GradMaxMatrix {
 public:
  /// h (N, fan_in), dz (N, fan_out) of one batch.
  void add(ConstView<S, D> h, ConstView<S, D> dz) {
    require<ShapeError>(h.rank() == 2 && dz.rank() == 2 && h.dim(0) == dz.dim(0), "GradMaxMatrix::add: h ",
                        h.shape(), " and dL/dz ", dz.shape(), " must be (N, fan_in) and (N, fan_out)");
    if (sum_.empty()) sum_ = Tensor<S, D>(Shape{dz.dim(1), h.dim(1)});
    require<ShapeError>(sum_.shape() == Shape{dz.dim(1), h.dim(1)}, "GradMaxMatrix::add: batch gives (",
                        dz.dim(1), ", ", h.dim(1), ") but earlier batches gave ", sum_.shape());
    ops::gemm<S>(ops::Trans::yes, ops::Trans::no, static_cast<S>(h.dim(0)), dz, h, S(1), sum_.view());
    samples_ += h.dim(0);
  }
  Index samples() const { return samples_; }  ///< samples added so far
  /// M (fan_out, fan_in).
  Tensor<S, D> value() const {
    require<StateError>(samples_ > 0, "GradMaxMatrix::value: no batch added");
    Tensor<S, D> m = sum_.clone();
    ops::scale<S>(m.view(), S(1) / static_cast<S>(samples_));
    return m;
  }
  /// Forgets every batch (back to no samples).
  void clear() {
    sum_ = Tensor<S, D>();
    samples_ = 0;
  }

 private:
  Tensor<S, D> sum_;
  Index samples_ = 0;
};

/// GradMax's outgoing directions for k new neurons, and the singular values behind them.
template <class S, class D = Cpu>
struct GradMaxDirections {
  Tensor<S, D> rows;                    ///< (k, fan_out) unit outgoing directions
  std::vector<double> singular_values;  ///< (min(k, rank)) top singular values of M
};

namespace detail {

// rows (k, m) whose first `rank` rows are orthonormal: the rest become a random orthonormal
// complement (Gram-Schmidt, twice for stability), and beyond m, random unit rows. Draws from rng.
template <class S>
void complete_directions(Tensor<S, Cpu>& directions, Index rank, Rng& rng) {
  auto rows = matrix(directions);
  const Index k = rows.rows(), m = rows.cols();
  for (Index i = rank; i < k; ++i) {
    EigenVector<S> v(m);
    for (Index j = 0; j < m; ++j) v(j) = static_cast<S>(rng.normal());
    if (i < m) {
      for (int pass = 0; pass < 2; ++pass)
        for (Index p = 0; p < i; ++p) v -= rows.row(p).transpose() * rows.row(p).dot(v.transpose());
    }
    rows.row(i) = (v / v.norm()).transpose();
  }
}

}  // namespace detail

/// The top-k left singular vectors of M as rows, completed as described above. On the device of the
/// data: the SVD and the directions stay there; only the singular values come to the host, and, when
/// M's rank is below k, the directions (to complete them there with the Cpu's draws).
template <class S, class D>
GradMaxDirections<S, D> gradmax_directions(const GrowthData<S, D>& data, Index k, const ops::SvdOptions& svd, Rng& rng) {
  const bool use_batch = !data.has_matrix() && data.has_batch();
  const Index m = use_batch ? data.output_grads().dim(1) : data.matrix().dim(0);
  const Index n = use_batch ? data.inputs().dim(1) : data.matrix().dim(1);
  const Index kk = std::min(k, std::min(m, n));
  const ops::TopSvd<S, D> top = use_batch ? ops::svd_topk_of_product<S>(data.output_grads(), data.inputs(), kk, svd)
                                          : ops::svd_topk<S>(data.matrix().cview(), kk, svd);
  const double cutoff = (top.sigma.empty() ? 0.0 : top.sigma[0]) * static_cast<double>(std::max(m, n)) *
                        std::numeric_limits<S>::epsilon();
  Index rank = 0;
  while (rank < kk && top.sigma[static_cast<std::size_t>(rank)] > cutoff) ++rank;

  GradMaxDirections<S, D> d;
  d.singular_values.assign(top.sigma.begin(), top.sigma.begin() + rank);
  if constexpr (std::same_as<D, Cpu>) {
    d.rows = Tensor<S, Cpu>(Shape{k, m});
    matrix(d.rows).topRows(rank) = matrix(top.u).leftCols(rank).transpose();
    detail::complete_directions(d.rows, rank, rng);
  } else {
    Tensor<S, D> found(Shape{kk, m});  // u^T: row j is the j-th left singular vector
    ops::axis_to_rows<S>(top.u.cview(), 1, found.view());
    if (rank == k) {
      d.rows = std::move(found);
    } else {
      Tensor<S, Cpu> rows(Shape{k, m});
      const Tensor<S, Cpu> host = to<Cpu>(found);
      matrix(rows).topRows(rank) = matrix(host).topRows(rank);
      detail::complete_directions(rows, rank, rng);
      d.rows = host_to<D>(std::move(rows));
    }
  }
  return d;
}

/// How GradMax fixes the sign of each new neuron's outgoing vector (the SVD leaves it free).
///
/// A new neuron with outgoing vector s c u (s = +1 or -1, u unit) and zero incoming weights gets the
/// incoming gradient  a s c u^T M,  so the first update (learning rate eta) sets its incoming weights to
/// -eta a s c u^T M and its pre-activation on sample n to  -s t p_n  with p_n = (u^T M) h_n and t = eta a c
/// > 0. Its output then changes the consumer's input by  s c u f(-s t p_n),  and the loss by (first order
/// in that change)  dL(s) = s c sum_n q_n f(-s t p_n),  q_n = u^T dL/dz_n. The two signs differ by
///     dL(+1) - dL(-1) = c sum_n q_n [f(t p_n) + f(-t p_n)],
/// the even part of the activation f between the pair: |x| for ReLU (the sign chooses which half-space,
/// p > 0 or p < 0, the neuron opens on: a first-order effect), f''(0) x^2 for smooth activations (GELU: a
/// second-order effect), nothing for odd ones (tanh: a tie, where the default rule stays).
/// ~~~{.unparsed}
///   largest_entry_positive   the GradMax reference's convention (and netgrow's default)
///   loss_decrease            the sign with the larger loss decrease after the first update of the new
///                            incoming weights (dL above, on the grow batch, with t chosen so that the
///                            pre-activations t p have RMS 0.1; for ReLU the choice does not depend on t).
///                            Needs the grow batch's rows (GrowthData::from_batch) and a Cpu network.
///   pairs                    plus/minus pairs: new neurons 2j and 2j + 1 share direction u_j with opposite
///                            signs (a ReLU pair opens on both half-spaces: together linear in p); k/2
///                            directions instead of k, so half the gradient norm GradMax could reach
/// ~~~
enum class GradMaxSign { largest_entry_positive, loss_decrease, pairs };

namespace detail {

// Flips rows of `outgoing` (k, fan_out; unit or scaled) to the loss_decrease rule (see GradMaxSign) on the
// batch's h (N, fan_in) and dz (N, fan_out), with M = dz^T h and the layers between applied by
// pair.between_forward. Returns the number of rows flipped.
template <class S>
Index choose_signs_by_loss_decrease(Tensor<S, Cpu>& outgoing, const PairView<S, Cpu>& pair, const GrowthData<S, Cpu>& data) {
  require(data.has_batch() && static_cast<bool>(pair.between_forward),
          "GradMax: GradMaxSign::loss_decrease needs the grow batch's rows (GrowthData::from_batch, e.g. "
          "data_from_last_backward of a dense pair) and the layers between the pair (grow_width sets them)");
  using Mat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;
  const Mat h = matrix(data.inputs()).template cast<double>();       // (N, fan_in)
  const Mat g = matrix(data.output_grads()).template cast<double>();  // (N, fan_out)
  const Mat o = matrix(outgoing).template cast<double>();            // (k, fan_out)
  const Mat w = (o * g.transpose()) * h;                              // (k, fan_in): O M with M = g^T h
  const Mat p = h * w.transpose();                                    // (N, k)
  const Mat q = g * o.transpose();                                    // (N, k)
  const Index n = p.rows(), k = p.cols();
  // Data parallelism: the sums below are over every process's rows (their means, which decide alike).
  const auto over_processes = [&](std::vector<double>& v) {
    if (data.process_mean()) data.process_mean()(std::span<double>(v));
  };
  std::vector<double> mean_square(static_cast<std::size_t>(k));
  for (Index j = 0; j < k; ++j)
    mean_square[static_cast<std::size_t>(j)] = p.col(j).squaredNorm() / static_cast<double>(std::max<Index>(n, 1));
  over_processes(mean_square);
  Tensor<S, Cpu> z_plus(Shape{n, k}), z_minus(Shape{n, k}), f_plus(Shape{n, k}), f_minus(Shape{n, k});
  for (Index j = 0; j < k; ++j) {
    const double rms = std::sqrt(mean_square[static_cast<std::size_t>(j)]);
    const double t = rms > 0 ? 0.1 / rms : 0.0;
    for (Index i = 0; i < n; ++i) {
      z_plus.at(i, j) = static_cast<S>(t * p(i, j));
      z_minus.at(i, j) = static_cast<S>(-t * p(i, j));
    }
  }
  pair.between_forward(z_plus.cview(), f_plus.view());
  pair.between_forward(z_minus.cview(), f_minus.view());
  // Per neuron: sum_n q_n (f(tp) + f(-tp)), and a size to compare it with.
  std::vector<double> sums(2 * static_cast<std::size_t>(k), 0.0);
  for (Index j = 0; j < k; ++j) {
    double& even = sums[static_cast<std::size_t>(j)];
    double& scale = sums[static_cast<std::size_t>(k + j)];
    for (Index i = 0; i < n; ++i) {
      even += q(i, j) * (static_cast<double>(f_plus.at(i, j)) + static_cast<double>(f_minus.at(i, j)));
      scale += std::abs(q(i, j)) * (std::abs(static_cast<double>(f_plus.at(i, j))) + std::abs(static_cast<double>(f_minus.at(i, j))));
    }
  }
  over_processes(sums);
  Index flipped = 0;
  for (Index j = 0; j < k; ++j) {
    // dL(+1) - dL(-1) = c even: the current sign (+1) loses when even > 0. Ties (odd activations) stay.
    if (sums[static_cast<std::size_t>(j)] > 1e-9 * sums[static_cast<std::size_t>(k + j)]) {
      matrix(outgoing).row(j) *= S(-1);
      ++flipped;
    }
  }
  return flipped;
}

}  // namespace detail

/// GradMax: outgoing weights the top-k left singular vectors of M x norm rule, incoming weights epsilon x
/// norm rule (zero by default), bias 0 (see the file comment). Any device (GradMaxSign::loss_decrease
/// chooses its signs on the host).
struct GradMax {
  /// Initializer traits (grow/initializer.hpp): needs f(0) = 0, needs f'(0) != 0, reads GrowthData.
  ///@{
  static constexpr bool needs_zero_at_zero = true;
  static constexpr bool needs_nonzero_slope = true;
  static constexpr bool needs_data = true;
  ///@}

  NormRule norm = NormRule::mean_norm(1.0);  ///< outgoing side
  double epsilon = 0.0;                      ///< incoming side: norm.with_scale(epsilon), random direction
  ops::SvdOptions svd{};                     ///< how the top-k SVD is computed
  GradMaxSign sign = GradMaxSign::largest_entry_positive;  ///< how the outgoing vectors' signs are fixed

  /// k new neurons for `pair` from M (or the batch's h and dL/dz); throws when f'(0) = 0 between the
  /// pair or the data's shape does not match it.
  template <class S, class D>
  NewNeurons<S, D> initialize(const PairView<S, D>& pair, Index k, const GrowthData<S, D>& data, Rng& rng) const {
    require(pair.slope_at_zero != 0, "GradMax: an activation between the pair has f'(0) = 0, so the new neurons "
                                     "would get no gradient; use Relu1 or a nonzero LeakyRelu slope");
    NewNeurons<S, D> n;
    Tensor<S, Cpu> incoming = random_unit_rows<S>(k, pair.fan_in(), RandomDirection::sphere, rng);
    set_row_norms(incoming, norm.with_scale(epsilon).magnitude(pair.mean_incoming_norm));
    n.incoming = host_to<D>(std::move(incoming));
    const Index directions = sign == GradMaxSign::pairs ? (k + 1) / 2 : k;
    GradMaxDirections<S, D> d = gradmax_directions(data, directions, svd, rng);
    require<ShapeError>(d.rows.dim(1) == pair.fan_out() && data_fan_in(data) == pair.fan_in(),
                        "GradMax: the gradient matrix is (", d.rows.dim(1), ", ", data_fan_in(data),
                        ") but the pair has fan_out ", pair.fan_out(), " and fan_in ", pair.fan_in());
    if (sign == GradMaxSign::pairs) {
      Tensor<S, Cpu> found, paired(Shape{k, pair.fan_out()});
      if constexpr (std::same_as<D, Cpu>) found = std::move(d.rows);
      else found = to<Cpu>(d.rows);  // backend/cuda/transfer.hpp
      for (Index i = 0; i < k; ++i)
        matrix(paired).row(i) = matrix(found).row(i / 2) * (i % 2 == 0 ? S(1) : S(-1));
      d.rows = host_to<D>(std::move(paired));
    } else if (sign == GradMaxSign::loss_decrease) {
      if constexpr (std::same_as<D, Cpu>) {
        detail::choose_signs_by_loss_decrease(d.rows, pair, data);
      } else {  // on the host: the k rows and the grow batch copied over, the layers between on the device
        Tensor<S, Cpu> rows = host_copy(d.rows.cview());
        GrowthData<S, Cpu> host_data;
        if (data.has_batch())
          host_data = GrowthData<S, Cpu>::from_owned_batch(host_copy(data.inputs()), host_copy(data.output_grads()));
        host_data.with_process_mean(data.process_mean());
        PairView<S, Cpu> host_pair;
        host_pair.between_forward = pair.between_forward;
        detail::choose_signs_by_loss_decrease(rows, host_pair, host_data);
        d.rows = host_to<D>(std::move(rows));
      }
    }
    n.outgoing = std::move(d.rows);
    const double magnitude = norm.magnitude(pair.mean_outgoing_norm);
    if constexpr (std::same_as<D, Cpu>) set_row_norms(n.outgoing, magnitude);
    else ops::scale<S>(n.outgoing.view(), static_cast<S>(magnitude));  // the directions are unit rows
    n.singular_values = std::move(d.singular_values);
    return n;
  }

 private:
  template <class S, class D>
  static Index data_fan_in(const GrowthData<S, D>& data) {
    return !data.has_matrix() && data.has_batch() ? data.inputs().dim(1) : data.matrix().dim(1);
  }
};

}  // namespace netgrow::grow
