/// \file
/// netgrow/layers/stream_expansion.hpp: what a layer needs to widen the residual stream of a transformer
/// (its model width d) without changing the network's function: LEMON's expansion (Wang et al., ICLR
/// 2024) through LayerNorm, carried through every layer that writes the stream or reads it.
///
/// The stream's d features become d' = q d + r: every feature gets q - 1 copies (`sources[i]` the
/// feature new feature i copies) and r new features hold the mean of the existing ones
/// (`average_source`). Then LayerNorm (grow_channels_from) keeps its output on the old features,
/// repeats it on the copies and gives 0 on the averages. Layers play one of two roles:
/// ~~~{.unparsed}
///   writers  (embeddings, the attention's and the MLP's output projections): a copy feature's new row /
///            column is its source's, an average feature's the mean of all (bias likewise); so the
///            stream holds copies and means at every depth.          written_rows, written_columns
///   readers  (Q, K, V, fc1, the head: everything after a LayerNorm): the weights over a feature's n
///            copies, itself included, become unequal parts that sum to the original,
///            W'[:, copy c] = R_c - (sum_c R_c - W[:, j]) / n, R ~ N(0, spread^2 / d')   (spread 0: W / n);
///            an average feature reads 0 after a LayerNorm, so its weights are free: R (they would
///            never learn at 0, LEMON's reason for random values); before a LayerNorm (`normalized`
///            false) they are 0.                                     split_columns
/// ~~~
/// Masked growth (MSG, Yao et al. 2024; `fade_steps` > 0) is the alternative: the existing weights stay
/// as they are, every new row or column is drawn N(0, rms^2) with rms the root mean square of the
/// tensor's existing entries (0 for an all-zero bias), new LayerNorm features get gamma 1, beta 0 and a
/// fade (layers/fade_mask.hpp): a LayerNorm whose features are faded out computes its statistics on the
/// others and outputs 0 on them, so in a pre-LN network nothing downstream sees the new features until
/// their gain rises. `sources` then holds k averages (unused).
///
/// A layer that takes part declares `void grow_stream(const StreamExpansion<S>&)`; grow::expand_stream
/// (grow/stream.hpp) calls it on every layer in order. The rules work on host tensors: a device layer
/// copies its weights over and the new rows or columns back.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "netgrow/core/eigen.hpp"
#include "netgrow/core/init.hpp"
#include "netgrow/core/rng.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/ops/blas.hpp"
#include "netgrow/layers/parameter_growth.hpp"  // average_source

namespace netgrow {

/// One expansion of the stream from old_width features (see the file comment).
template <class S>
struct StreamExpansion {
  Index old_width = 0;          ///< d
  std::vector<Index> sources;   ///< per new feature: the feature it copies, or average_source
  double spread = 1.0;          ///< LEMON's random split (0: equal split)
  bool normalized = true;       ///< the readers reached now read a LayerNorm's output (averages are 0)
  Rng* rng = nullptr;           ///< draws R (not owned)
  std::int64_t fade_steps = 0;  ///< > 0: masked growth (MSG) faded in over this many steps, else LEMON

  bool masked() const { return fade_steps > 0; }  ///< MSG rather than LEMON

  Index added() const { return static_cast<Index>(sources.size()); }  ///< k = d' - d
  Index new_width() const { return old_width + added(); }             ///< d'

  /// The new rows (k, rest) of a writer whose rows are the stream's features: rows (d, rest).
  Tensor<S, Cpu> written_rows(ConstView<S, Cpu> rows) const {
    require<ShapeError>(rows.rank() >= 1 && rows.dim(0) == old_width, "stream expansion: a writer with ",
                        rows.rank() >= 1 ? rows.dim(0) : 0, " rows for a stream of ", old_width, " features");
    const Index rest = rows.numel() / old_width;
    if (masked()) return drawn(added(), rest, rows);
    const auto m = matrix(rows.reshape(Shape{old_width, rest}));
    const Eigen::Matrix<S, 1, Eigen::Dynamic> mean = m.colwise().mean();
    Tensor<S, Cpu> out(Shape{added(), rest});
    auto o = matrix(out);
    for (Index i = 0; i < added(); ++i) {
      const Index s = sources[static_cast<std::size_t>(i)];
      if (s == average_source) o.row(i) = mean;
      else o.row(i) = m.row(s);
    }
    return out;
  }

  /// The new columns (rows, k) of a writer whose columns are the stream's features: m (rows, d).
  Tensor<S, Cpu> written_columns(ConstView<S, Cpu> m) const {
    require<ShapeError>(m.rank() == 2 && m.dim(1) == old_width, "stream expansion: a writer of shape ", m.shape(),
                        " for a stream of ", old_width, " features");
    Tensor<S, Cpu> t(Shape{old_width, m.dim(0)});
    matrix(t) = matrix(m).transpose();
    const Tensor<S, Cpu> rows = written_rows(t.cview());
    Tensor<S, Cpu> out(Shape{m.dim(0), added()});
    matrix(out) = matrix(rows).transpose();
    return out;
  }

  /// A reader's weights w (out, d): rewrites the existing columns in place and returns the new ones as
  /// rows (k, out) (what DenseLayer::grow_inputs takes). Draws R from *rng unless spread is 0.
  Tensor<S, Cpu> split_columns(TensorView<S, Cpu> w) const {
    require<ShapeError>(w.rank() == 2 && w.dim(1) == old_width, "stream expansion: a reader of shape ", w.shape(),
                        " for a stream of ", old_width, " features");
    require(spread == 0 || rng != nullptr, "stream expansion: a random split needs an Rng");
    const Index out = w.dim(0), k = added();
    if (masked()) return drawn(k, out, w);
    const double sd = spread / std::sqrt(static_cast<double>(new_width()));
    RowMajorMatrix<S> r_old = RowMajorMatrix<S>::Zero(out, old_width), r_new = RowMajorMatrix<S>::Zero(out, k);
    if (spread > 0) {
      for (Index j = 0; j < old_width; ++j)
        for (Index o = 0; o < out; ++o) r_old(o, j) = static_cast<S>(rng->normal() * sd);
      for (Index i = 0; i < k; ++i)
        for (Index o = 0; o < out; ++o) r_new(o, i) = static_cast<S>(rng->normal() * sd);
    }
    auto W = matrix(w);
    std::vector<Index> copies(static_cast<std::size_t>(old_width), 1);
    RowMajorMatrix<S> sum_r = r_old;
    for (Index i = 0; i < k; ++i) {
      const Index s = sources[static_cast<std::size_t>(i)];
      if (s == average_source) continue;
      sum_r.col(s) += r_new.col(i);
      ++copies[static_cast<std::size_t>(s)];
    }
    // correction[:, j] = (sum of R over j's copies - W[:, j]) / n_j; spread 0 gives W / n_j everywhere.
    RowMajorMatrix<S> correction = sum_r - W;
    for (Index j = 0; j < old_width; ++j) correction.col(j) /= static_cast<S>(copies[static_cast<std::size_t>(j)]);
    Tensor<S, Cpu> rows(Shape{k, out});
    auto n = matrix(rows);
    for (Index i = 0; i < k; ++i) {
      const Index s = sources[static_cast<std::size_t>(i)];
      if (s != average_source) n.row(i) = (r_new.col(i) - correction.col(s)).transpose();
      else if (normalized) n.row(i) = r_new.col(i).transpose();
      else n.row(i).setZero();
    }
    W = r_old - correction;
    return rows;
  }

 private:
  // (rows, columns) entries N(0, rms^2), rms over `like`'s entries (masked growth).
  Tensor<S, Cpu> drawn(Index rows, Index columns, ConstView<S, Cpu> like) const {
    require(rng != nullptr, "stream expansion: masked growth draws its new weights and needs an Rng");
    const double rms = like.numel() > 0 ? std::sqrt(ops::squared_norm<S>(like) / static_cast<double>(like.numel())) : 0.0;
    Tensor<S, Cpu> out(Shape{rows, columns});
    for (Index i = 0; i < out.numel(); ++i) out.data()[i] = static_cast<S>(rng->normal() * rms);
    return out;
  }
};

}  // namespace netgrow
