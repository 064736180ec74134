/// \file
/// netgrow/models/ntk_measure.hpp: the empirical neural tangent kernel as a growth controller's signal:
/// where new neurons would raise the kernel most (beside GradMax's loss gradient, PairSite::measure).
///
/// A new neuron at a site (P, C) with zero incoming weights w and outgoing weights u (the form GradMax
/// and Random give it: the function is kept) adds to the kernel's trace Tr(Theta) = sum_r |dF_r/dtheta|^2
/// only through w, since u multiplies a zero activation. The kernel's rows r (NtkOutputs):
///
/// ~~~{.unparsed}
///   each           F_r = f_c(x_i) for every sample i and output c: the whole empirical NTK (N C
///                  backward passes)
///   sum            F_r = sum_c f_c(x_i) (prune/ntk.hpp's and TE-NAS's convention; N passes). At the last
///                  hidden layer only u's component along (1, ..., 1) then counts: one direction.
///   random_signs   F_r = sum_c v_ic f_c(x_i), v_ic = +-1 drawn (N passes): E_v of its K is each's K,
///                  an unbiased estimate of the whole NTK's gains at the cost of sum (the default)
/// ~~~
///
/// ~~~{.unparsed}
///   dF_r/dw = s M_r^T u          M_r = dF_r/dW_aux (fan_out, fan_in): GradMax's matrix for the output
///                                gradient "dF_r/dz"; s = f'(0) of the activations between the pair x
///                                BatchNorm's gradient scale
///   gain(u) = s^2 u^T K u        K = sum_r M_r M_r^T (fan_out, fan_out), no labels
/// ~~~
///
/// The new neuron's bias (zero) has a Jacobian too, s (u . sum over positions of dF_i/dz); the gain
/// counts the incoming weights only, as GradMax's objective does (exact for producers without bias).
/// GradMax maximises |M^T u| for the loss's M, a batch mean in which samples cancel; K adds them
/// squared. K's top eigenvectors are the outgoing directions that raise the kernel most, and its
/// eigenvalues lambda_j by how much. measure_ntk reports, in the grow::SiteMeasure a controller reads:
/// sqrt(lambda_j) as the site's singular values, |s| x (mean outgoing norm) as a new neuron's Jacobian
/// norm per unit of sqrt(lambda) (GradMax's norm rule for u), and the existing neurons' root mean square
/// of |dF/dw_j| = sqrt(sum_r |dF_r/dw_j|^2) over their incoming weights as the reference. Fed these
/// measures, grow::GradMaxTrigger becomes an NTK trigger: a site gains a neuron where one would add more
/// to the kernel than threshold x an existing neuron's share, the sites with the largest ratios first.
///
/// Cost: one forward pass of the batch x (N samples) and one backward pass per row r; per site and row,
/// GradMax's data (M_r) and K's update. K is formed when fan_out <= exact_up_to; beyond (a conv ->
/// Flatten -> Dense site, whose fan_out is outputs x positions) a single-pass Nystrom sketch of rank
/// probe_k + oversampling estimates its top eigenvalues (exact when K's rank is at most the sketch's).
/// Any device: the passes and GradMax's data (M_r, or the batch's dz and h) on the network's, K and its
/// sketch formed on the host from a copy of that data per row (fan_out x fan_in, or N x (fan_in +
/// fan_out) values). Parameter gradients are overwritten; in training mode BatchNorm's running
/// statistics move once, as in a training forward pass.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Eigenvalues>

#include "netgrow/core/rng.hpp"
#include "netgrow/models/growth_site.hpp"

namespace netgrow::models {

/// Which kernel rows measure_ntk sums over (see the file comment).
enum class NtkOutputs { each, sum, random_signs };

/// measure_ntk's settings.
struct NtkMeasureOptions {
  NtkOutputs outputs = NtkOutputs::random_signs;  ///< the kernel's rows
  Mode mode = Mode::train;            ///< the forward pass's mode
  Index exact_up_to = 512;            ///< form K (fan_out^2 values) up to this fan_out, sketch beyond
  Index oversampling = 10;            ///< the sketch's columns beyond probe_k
  std::uint64_t seed = 0x6e746b;      ///< the sketch's Gaussian test matrix and random_signs' signs
  grow::PairDataOptions pair_data{};  ///< how M_r is formed (BatchNorm's Jacobian)
};

/// One site's kernel numbers (see the file comment).
struct NtkSiteKernel {
  std::string name{};
  Index width = 0;                   ///< the site's neurons
  Index fan_out = 0;                 ///< rows of M_r (values per outgoing vector u)
  Eigen::MatrixXd k{};               ///< K (fan_out, fan_out) when formed, else empty
  std::vector<double> eigenvalues{}; ///< K's top eigenvalues, descending (at most probe_k)
  double scale = 0;                  ///< s: f'(0) between the pair x BatchNorm's gradient scale
  double mean_outgoing_norm = 0;     ///< the existing neurons' mean outgoing norm (the norm rule for u)
  double existing_rms = 0;           ///< sqrt(mean over existing neurons j of sum_r |dF_r/dw_j|^2)

  /// s^2 u^T K u: the kernel trace a new neuron with outgoing weights u (fan_out) and zero incoming
  /// weights adds; needs K formed.
  double gain(const Eigen::VectorXd& u) const {
    require(k.size() > 0, "NtkSiteKernel::gain: K of site ", name, " was sketched, not formed (fan_out ", fan_out, ")");
    require<ShapeError>(u.size() == fan_out, "NtkSiteKernel::gain: u has ", u.size(), " entries, site ", name,
                        " has fan_out ", fan_out);
    return scale * scale * u.dot(k * u);
  }
};

namespace detail {

// K (or its sketch Y = K Omega) of one site, summed over the kernel's rows. A template on the matrix type
// (always MatrixXd) so that its products and eigen solver are compiled only where a measure is taken, not
// in every translation unit that includes models.hpp (include cost: BENCHMARKS.md).
template <class Matrix = Eigen::MatrixXd>
struct NtkAccumulator {
  Index probe_k = 0;
  bool started = false, exact = true;
  Matrix k, omega, y;
  double existing_sum = 0;
  Index existing_neurons = 0;
  NtkSiteKernel out;

  void start(Index fan_out, const NtkMeasureOptions& o, std::uint64_t site_index) {
    started = true;
    out.fan_out = fan_out;
    exact = fan_out <= o.exact_up_to;
    if (exact) {
      k = Eigen::MatrixXd::Zero(fan_out, fan_out);
      return;
    }
    const Index r = std::min(fan_out, probe_k + o.oversampling);
    Rng rng(o.seed + 1 + site_index);
    omega.resize(fan_out, r);
    for (Index j = 0; j < r; ++j)
      for (Index i = 0; i < fan_out; ++i) omega(i, j) = rng.normal();
    y = Eigen::MatrixXd::Zero(fan_out, r);
  }
  // Adds one row's M_r M_r^T = A G A^T, given M_r's left factor A (fan_out, m) and the Gram matrix G
  // (m, m) of its right factor.
  void add(const Eigen::MatrixXd& a, const Eigen::MatrixXd& gram) {
    if (exact) k.noalias() += a * gram * a.transpose();
    else y.noalias() += a * (gram * (a.transpose() * omega));
  }
  // Top eigenvalues of K (formed) or of its Nystrom approximation Y (Omega^T Y)^+ Y^T.
  void finish() {
    using Solver = Eigen::SelfAdjointEigenSolver<Matrix>;
    Eigen::VectorXd values;
    if (exact) {
      k = 0.5 * (k + k.transpose()).eval();
      values = Solver(k, Eigen::EigenvaluesOnly).eigenvalues();
    } else {
      Matrix c = omega.transpose() * y;
      c = 0.5 * (c + c.transpose()).eval();
      const Solver ec(c);
      const double floor = 1e-12 * std::max(1e-300, ec.eigenvalues().cwiseAbs().maxCoeff());
      std::vector<Index> kept;
      for (Index j = 0; j < c.rows(); ++j)
        if (ec.eigenvalues()(j) > floor) kept.push_back(j);
      Matrix b(y.rows(), static_cast<Index>(kept.size()));  // Y V Lambda^{-1/2}: K ~ B B^T
      for (std::size_t j = 0; j < kept.size(); ++j)
        b.col(static_cast<Index>(j)) = y * ec.eigenvectors().col(kept[j]) / std::sqrt(ec.eigenvalues()(kept[j]));
      values = b.cols() > 0 ? Solver(b.transpose() * b, Eigen::EigenvaluesOnly).eigenvalues() : Eigen::VectorXd();
    }
    out.eigenvalues.clear();
    for (Index j = values.size() - 1; j >= 0 && static_cast<Index>(out.eigenvalues.size()) < probe_k; --j)
      out.eigenvalues.push_back(std::max(0.0, values(j)));
    out.existing_rms = existing_neurons > 0 ? std::sqrt(existing_sum / static_cast<double>(existing_neurons)) : 0.0;
    if (exact) out.k = std::move(k);
  }
};

// Row r's M_r M_r^T for site (P, C) from the last backward pass, and the existing neurons' squared
// incoming-gradient norms.
template <class Net, std::size_t P, std::size_t C>
void accumulate_ntk(PairSite<Net, P, C>& site, NtkAccumulator<>& acc, const NtkMeasureOptions& o,
                    std::uint64_t site_index) {
  using S = typename Net::scalar_type;
  using Producer = typename Net::template layer_type<P>;
  Net& net = *site.net;
  const auto data = grow::data_from_last_backward<P, C>(net, o.pair_data);
  const bool batch = !data.has_matrix();
  const Index fan_out = batch ? data.output_grads().dim(1) : data.matrix().dim(0);
  if (!acc.started) {
    acc.start(fan_out, o, site_index);
    acc.existing_neurons = site.width();
    acc.out.name = site.name;
    acc.out.width = site.width();
    acc.out.scale = grow::detail::slope_between<Net, P, C>(net) * data.gradient_scale();
    acc.out.mean_outgoing_norm = grow::detail::mean_of(ops::axis_norms<S>(
        net.template layer<C>().weight().value.cview().reshape(grow::detail::consumer_blocks<Net, P, C>(net, acc.out.width)),
        1));
  }
  if (batch) {  // M_r = dz^T h over the rows the seed reaches: A = dz_rows^T, G = h_rows h_rows^T
    Tensor<S, Cpu> dz_staging, h_staging;
    const ConstView<S, Cpu> dz = host_view(data.output_grads(), dz_staging), h = host_view(data.inputs(), h_staging);
    std::vector<Index> rows;
    for (Index r = 0; r < dz.dim(0); ++r)
      if (matrix(dz).row(r).cwiseAbs().maxCoeff() > S(0)) rows.push_back(r);
    Eigen::MatrixXd a(fan_out, static_cast<Index>(rows.size())), hr(static_cast<Index>(rows.size()), h.dim(1));
    for (std::size_t j = 0; j < rows.size(); ++j) {
      a.col(static_cast<Index>(j)) = matrix(dz).row(rows[j]).transpose().template cast<double>();
      hr.row(static_cast<Index>(j)) = matrix(h).row(rows[j]).template cast<double>();
    }
    acc.add(a, hr * hr.transpose());
  } else {
    Tensor<S, Cpu> staging;
    const Eigen::MatrixXd m = matrix(host_view(data.matrix(), staging)).template cast<double>();
    acc.add(m, Eigen::MatrixXd::Identity(m.cols(), m.cols()));
  }
  for (double norm : ops::axis_norms<S>(net.template layer<P>().weight().grad.cview(), Producer::output_axis)) {
    acc.existing_sum += norm * norm;
  }
}

}  // namespace detail

/// Every site's kernel numbers on the batch x (N, ...) (see the file comment), in for_each_site order;
/// probe_k[i]: how many of site i's top eigenvalues to keep (the most neurons it may gain). `model`
/// has net() (its Sequential, on any device) and for_each_site(f) over PairSite values; x is on the
/// network's device.
template <class Model, class Net = std::remove_cvref_t<decltype(std::declval<Model&>().net())>,
          class S = typename Net::scalar_type>
std::vector<NtkSiteKernel> ntk_site_kernels(Model& model,
                                            std::type_identity_t<ConstView<S, typename Net::device_type>> x,
                                            const std::vector<Index>& probe_k, const NtkMeasureOptions& o = {}) {
  using D = typename Net::device_type;
  auto& net = model.net();
  require(x.rank() >= 2 && x.dim(0) >= 1, "models::ntk_site_kernels: needs a batch (N, ...), got ", x.shape());
  require(o.exact_up_to >= 0 && o.oversampling >= 1, "models::ntk_site_kernels: exact_up_to must be non-negative "
                                                     "and oversampling positive");
  std::vector<detail::NtkAccumulator<>> acc;
  model.for_each_site([&](auto&) { acc.emplace_back(); });
  require<ShapeError>(probe_k.size() == acc.size(), "models::ntk_site_kernels: ", probe_k.size(), " probe counts for ",
                      acc.size(), " sites");
  for (std::size_t s = 0; s < acc.size(); ++s) {
    require(probe_k[s] >= 0, "models::ntk_site_kernels: probe_k must be non-negative, got ", probe_k[s]);
    acc[s].probe_k = probe_k[s];
  }
  const Index n = x.dim(0);
  const auto y = net.forward(x, o.mode);
  const Index per_sample = y.numel() / n;
  Tensor<S, Cpu> seed(y.shape());
  Tensor<S, D> seed_staging;
  Rng signs(o.seed);
  const Index rows_per_sample = o.outputs == NtkOutputs::each ? per_sample : 1;
  for (Index r = 0; r < n * rows_per_sample; ++r) {
    const Index i = r / rows_per_sample;
    seed.fill_zero();
    S* row = seed.data() + i * per_sample;
    if (o.outputs == NtkOutputs::each) row[r % per_sample] = S(1);
    else
      for (Index c = 0; c < per_sample; ++c)
        row[c] = o.outputs == NtkOutputs::sum || signs.uniform() < 0.5 ? S(1) : S(-1);
    net.backward(device_view<D>(seed.cview(), seed_staging));
    std::uint64_t s = 0;
    model.for_each_site([&](auto& site) {
      detail::accumulate_ntk(site, acc[s], o, s);
      ++s;
    });
  }
  std::vector<NtkSiteKernel> out;
  for (auto& a : acc) {
    a.finish();
    out.push_back(std::move(a.out));
  }
  return out;
}

/// The SiteMeasure values a growth controller reads, from the kernel (see the file comment): costs as
/// PairSite::measure gives them; singular values sqrt(lambda_j); a new neuron's norm factor |s| x the
/// mean outgoing norm; the existing neurons' RMS Jacobian norm as the reference. No activation
/// singular values (NORTH's trigger reads PairSite::measure).
template <class Model, class Net = std::remove_cvref_t<decltype(std::declval<Model&>().net())>,
          class S = typename Net::scalar_type>
std::vector<grow::SiteMeasure> measure_ntk(Model& model, std::type_identity_t<ConstView<S, typename Net::device_type>> x,
                                           const std::vector<Index>& probe_k, const NtkMeasureOptions& o = {}) {
  const std::vector<NtkSiteKernel> kernels = ntk_site_kernels<Model, Net, S>(model, x, probe_k, o);
  std::vector<grow::SiteMeasure> out;
  std::size_t s = 0;
  model.for_each_site([&](auto& site) {
    grow::SiteMeasure m = site.costs();
    const NtkSiteKernel& kern = kernels[s++];
    for (double lambda : kern.eigenvalues) m.gradient_singular_values.push_back(std::sqrt(lambda));
    m.new_gradient_per_sigma = std::abs(kern.scale) * kern.mean_outgoing_norm;
    m.existing_gradient_norm = kern.existing_rms;
    out.push_back(std::move(m));
  });
  return out;
}

}  // namespace netgrow::models
