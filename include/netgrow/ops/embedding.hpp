/// \file
/// netgrow/ops/embedding.hpp: table lookups by id on any device, and the contract every device's shares.
///
/// ~~~{.unparsed}
///   ids            P ids of any shape, stored in the scalar type (whole numbers in [0, V))
///   table, dtable  (V, d)
///   y, dy          (P, d): row i belongs to ids' i-th element in row-major order
/// ~~~
/// embedding_forward copies table rows; embedding_backward adds the rows of dy into dtable at their ids
/// (assigned or accumulated), in position order on every device (deterministic). Ids are checked before
/// either runs: ArgumentError naming the first bad id and its position. Back ends:
/// backend/cpu/embedding.hpp, backend/cuda/embedding.hpp.
#pragma once

#include "netgrow/backend/cpu/embedding.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::ops {

namespace detail {

template <class T, class D>
void check_embedding(ConstView<T, D> ids, const Shape& table, const Shape& rows, const char* who) {
  require<ShapeError>(table.rank() == 2 && table[0] >= 1 && table[1] >= 1, who, ": the table must be (V, d), got ",
                      table);
  require<ShapeError>(rows == Shape{ids.numel(), table[1]}, who, ": rows ", rows, " for ", ids.numel(), " ids of ",
                      table[1], " features");
  const backend::InvalidId bad = backend::EmbeddingOps<D>::template first_invalid<T>(ids, table[0]);
  require(bad.position < 0, who, ": token id ", bad.id, " at position ", bad.position, " is not a whole number in [0, ",
          table[0], ")");
}

}  // namespace detail

/// y (P, d) = table[ids] (see the file comment); ShapeError or ArgumentError before anything is written.
template <class T, class D>
void embedding_forward(In<T, D> ids, In<T, D> table, TensorView<T, D> y) {
  detail::check_embedding<T, D>(ids, table.shape(), y.shape(), "embedding_forward");
  if (ids.numel() > 0) backend::EmbeddingOps<D>::template forward<T>(ids, table, y);
}

/// dtable[ids[i]] (+)= dy[i] (see the file comment).
template <class T, class D>
void embedding_backward(In<T, D> ids, In<T, D> dy, TensorView<T, D> dtable, bool accumulate) {
  detail::check_embedding<T, D>(ids, dtable.shape(), dy.shape(), "embedding_backward");
  backend::EmbeddingOps<D>::template backward<T>(ids, dy, dtable, accumulate);
}

}  // namespace netgrow::ops
