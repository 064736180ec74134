/// \file
/// netgrow/grow/lemon.hpp: LEMON, lossless model expansion (Wang et al., ICLR 2024): a trained small
/// network becomes a larger one that computes exactly the same function, and training continues there.
///
/// Width (grow::Lemon, an initializer for grow_width; models::expand_all_sites grows every site of a
/// model to a target in one step). The new neurons replicate existing ones circularly: a pair of width
/// D_S grown to D_T = q D_S + r gives every neuron q - 1 copies and the first r neurons one more
/// (indivisible widths included). Copies share their source's incoming weights and bias; the consumer's
/// weights over a neuron's n copies (itself included) are made unequal but summing to the original:
/// ~~~{.unparsed}
///   W'[:, copy c of j] = R_c - (sum over the copies of R - W[:, j]) / n       R ~ N(0, spread^2 / F')
/// ~~~
/// so the function is kept exactly for any activation while the copies start apart (F': the consumer's
/// fan-in after growth; spread = 0 is Net2Net's equal split W / n). BatchNorm and depthwise layers
/// between the pair copy their channels.
///
/// LayerNorm between the pair (LEMON's average expansion). LayerNorm mixes channels, so a copy would
/// change every feature's normalisation; instead every neuron gets the same number q - 1 of copies and
/// the remaining r new neurons are *averages* (incoming weights and bias: the mean of the existing ones,
/// so their value is the mean of the layer's values). Then the mean of the expanded features is the old
/// mean and their variance (q D_S / D_T) times the old, which LayerNormLayer::grow_channels_from
/// compensates exactly (gamma x sqrt(q D_S / D_T), eps x q D_S / D_T); the average features leave it as
/// exactly 0, so their outgoing weights are free: random (R) when f(0) = 0 after the LayerNorm, else 0.
///
/// Depth (expand_depth). New blocks are copies of existing ones whose branch outputs zero (DepthCopy,
/// grow/depth.hpp), in LEMON's two orders: interpolation (1 1' 2 2' 3 3': each copy right after its
/// source) or stacking (1 2 3 1' 2' 3': copies after the last block). Only blocks with an identity skip
/// can be copied this way (a projection block's copy would need a different kind).
///
/// After expansion LEMON keeps the from-scratch *maximum* learning rate and decays it faster: a cosine
/// over the shorter remaining budget (CosineLr), or for BERT-style training TwoStageLinearLr
/// (optim/lr_schedule.hpp).
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "netgrow/core/init.hpp"
#include "netgrow/grow/depth.hpp"
#include "netgrow/grow/initializer.hpp"

namespace netgrow::grow {

/// LEMON's lossless width expansion (see the file comment). Written for the Cpu; device networks run it
/// through the host (grow/initializer.hpp, host_staged_growth).
struct Lemon {
  /// Initializer traits (grow/initializer.hpp): needs f(0) = 0, needs f'(0) != 0, reads GrowthData, copies
  /// existing neurons.
  ///@{
  static constexpr bool needs_zero_at_zero = false;
  static constexpr bool needs_nonzero_slope = false;
  static constexpr bool needs_data = false;
  static constexpr bool copies_neurons = true;
  ///@}

  /// The random split's standard deviation times sqrt(F') (F': the consumer's fan-in after growth);
  /// 1 draws R at the expanded consumer's LeCun-normal scale, 0 gives Net2Net's equal split.
  double spread = 1.0;

  /// The sources of k new neurons next to `width` existing ones: circular copies, or (mixing layer
  /// between) equal copies followed by average_source entries.
  static std::vector<Index> sources(Index width, Index k, bool mixing_between) {
    std::vector<Index> s(static_cast<std::size_t>(k));
    const Index copies = mixing_between ? ((width + k) / width - 1) * width : k;
    for (Index i = 0; i < k; ++i) s[static_cast<std::size_t>(i)] = i < copies ? i % width : average_source;
    return s;
  }

  /// k new neurons for `pair`: their incoming weights, bias and outgoing weights, and the existing
  /// neurons' new outgoing weights (see the file comment). Throws for a negative or non-finite spread.
  template <class S>
  NewNeurons<S> initialize(const PairView<S>& pair, Index k, const GrowthData<S>&, Rng& rng) const {
    require(spread >= 0 && std::isfinite(spread), "Lemon: spread must be finite and non-negative, got ", spread);
    const Index width = pair.width(), fan_in = pair.fan_in(), fan_out = pair.fan_out();
    require(pair.consumer_outputs > 0 && pair.consumer_fan_in > 0, "Lemon: the pair view lacks the consumer's fan-in");
    const std::vector<Index> source = sources(width, k, pair.mixing_between);

    NewNeurons<S> n;
    n.incoming = Tensor<S, Cpu>(Shape{k, fan_in});
    n.outgoing = Tensor<S, Cpu>(Shape{k, fan_out});
    n.existing_outgoing = Tensor<S, Cpu>(Shape{width, fan_out});
    if (!pair.bias.empty()) n.bias = Tensor<S, Cpu>(Shape{k});
    const auto in = matrix(pair.incoming);
    const Eigen::Matrix<S, 1, Eigen::Dynamic> mean_in = in.colwise().mean();
    S mean_bias = S(0);
    for (Index j = 0; j < pair.bias.numel(); ++j) mean_bias += pair.bias[j];
    if (!pair.bias.empty()) mean_bias /= static_cast<S>(width);
    auto new_in = matrix(n.incoming);
    for (Index i = 0; i < k; ++i) {
      const Index s = source[static_cast<std::size_t>(i)];
      if (s == average_source) new_in.row(i) = mean_in;
      else new_in.row(i) = in.row(s);
      if (!pair.bias.empty()) n.bias[i] = s == average_source ? mean_bias : pair.bias[s];
    }

    // The random split: R for the existing rows, then for the new ones.
    const double f_new = static_cast<double>(pair.consumer_fan_in + k * (fan_out / pair.consumer_outputs));
    const double sd = spread / std::sqrt(f_new);
    Tensor<S, Cpu> r_old(Shape{width, fan_out}), r_new(Shape{k, fan_out});
    fill_normal(r_old.view(), 0.0, sd, rng);
    fill_normal(r_new.view(), 0.0, sd, rng);
    const Tensor<S, Cpu> w = pair.outgoing();  // (width, fan_out)
    const auto W = matrix(w);
    const auto Ro = matrix(r_old);
    const auto Rn = matrix(r_new);
    Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> sum_r = Ro;
    std::vector<Index> copies(static_cast<std::size_t>(width), 1);
    for (Index i = 0; i < k; ++i) {
      const Index s = source[static_cast<std::size_t>(i)];
      if (s == average_source) continue;
      sum_r.row(s) += Rn.row(i);
      ++copies[static_cast<std::size_t>(s)];
    }
    // correction[j] = (sum of R over j's copies - W[j]) / n_j
    Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> correction = sum_r - W;
    for (Index j = 0; j < width; ++j) correction.row(j) /= static_cast<S>(copies[static_cast<std::size_t>(j)]);
    matrix(n.existing_outgoing) = Ro - correction;
    auto new_out = matrix(n.outgoing);
    for (Index i = 0; i < k; ++i) {
      const Index s = source[static_cast<std::size_t>(i)];
      if (s == average_source) {
        if (pair.zero_at_zero) new_out.row(i) = Rn.row(i);
        else new_out.row(i).setZero();
      } else {
        new_out.row(i) = Rn.row(i) - correction.row(s);
      }
    }
    n.duplicate_of = source;
    return n;
  }
};

/// LEMON's orders for new blocks (see the file comment).
enum class LemonDepthOrder {
  interpolation,  ///< each copy right after its source: 1 1' 2 2' 3 3'
  stack,          ///< copies after the last block: 1 2 3 1' 2' 3'
};

/// Grows `stack` to `target_depth` blocks with zero-output copies of its identity-skip blocks (DepthCopy),
/// spread as evenly as the count allows over the sources (the earlier sources take the remainder), in
/// `order`. Returns one report per new block. Throws, leaving the stack unchanged, for a target below the
/// current depth or a stack without identity-skip blocks.
template <class K, class S, class D>
std::vector<DepthReport> expand_depth(StackLayer<K, S, D>& stack, std::size_t target_depth,
                                      LemonDepthOrder order = LemonDepthOrder::interpolation) {
  require(target_depth >= stack.size(), "expand_depth: target depth ", target_depth, " is below the stack's depth ",
          stack.size());
  std::vector<std::size_t> copyable;  // blocks with an identity skip, by index
  for (std::size_t i = 0; i < stack.size(); ++i)
    if (!stack.block(i).has_projection()) copyable.push_back(i);
  const std::size_t add = target_depth - stack.size();
  std::vector<DepthReport> reports;
  if (add == 0) return reports;
  require(!copyable.empty(), "expand_depth: LEMON copies blocks with an identity skip, and every block of this stack "
                             "projects its skip; grow it with grow_depth(..., DepthZero{}) instead");
  // copies[c]: how many copies source copyable[c] gets.
  std::vector<std::size_t> copies(copyable.size(), add / copyable.size());
  for (std::size_t c = 0; c < add % copyable.size(); ++c) ++copies[c];
  Rng unused(0);  // DepthCopy draws nothing
  if (order == LemonDepthOrder::interpolation) {
    // From the last source backwards, so earlier indices stay valid.
    for (std::size_t c = copyable.size(); c-- > 0;)
      for (std::size_t j = 0; j < copies[c]; ++j)
        reports.push_back(grow_depth(stack, copyable[c] + 1, DepthCopy{.source = copyable[c]}, unused));
  } else {
    // Rounds over the sources in order, each round appending one copy of every source that has one left.
    const std::size_t rounds = copies.empty() ? 0 : copies[0];
    for (std::size_t round = 0; round < rounds; ++round)
      for (std::size_t c = 0; c < copyable.size(); ++c)
        if (round < copies[c])
          reports.push_back(grow_depth(stack, stack.size(), DepthCopy{.source = copyable[c]}, unused));
  }
  return reports;
}

}  // namespace netgrow::grow
