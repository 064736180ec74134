/// \file
/// netgrow/dist/communicator.hpp: what data-parallel training asks of a communication library, the
/// errors it raises, a one-process communicator, and tensor-level collectives over any of them.
///
/// A communicator is a group of `size()` processes ("ranks") that call the same collectives in the
/// same order. The concept asks for four of them, all blocking, in place, over contiguous memory:
/// ~~~{.unparsed}
///   all_reduce_sum(std::span<S> x)       S float or double: x = sum over ranks of x
///   broadcast(std::span<std::byte> b, r) b = rank r's b
///   all_gather(std::uint64_t v)          a vector of every rank's v, in rank order
///   barrier()                            returns once every rank has entered it
/// ~~~
/// broadcast and all_gather take host memory (small control messages: sizes, hashes, errors);
/// all_reduce_sum takes host memory unless the communicator declares `static constexpr bool
/// device_memory = true` (NCCL: CUDA device memory), and such a communicator may also offer
/// `broadcast_device(std::span<std::byte>, root)`. The tensor functions below pass device tensors
/// directly where the communicator takes them and stage them through the host otherwise (MPI without
/// CUDA awareness), so every communicator serves every device.
///
/// Implementations: SelfCommunicator (one process, no library: a data-parallel program runs unchanged
/// without MPI), MpiCommunicator (dist/mpi.hpp, needs netgrow::mpi), NcclCommunicator (dist/nccl.hpp,
/// needs netgrow::nccl). A failed or timed-out collective throws DistError naming the call and the rank;
/// after one, the communicator is unusable (a collective cannot be cancelled) and the program should end
/// (MpiCommunicator::abort ends every rank).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "netgrow/core/error.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/ops/blas.hpp"

namespace netgrow::dist {

/// A collective failed: the message names the call, the rank and the library's reason.
class DistError : public Error {
 public:
  using Error::Error;  ///< constructed from the message, like every netgrow::Error
};

/// A collective did not complete within the communicator's timeout: another rank died, stalled or
/// called a different collective.
class TimeoutError : public DistError {
 public:
  using DistError::DistError;  ///< constructed from the message, like every netgrow::Error
};

/// C is a communicator (see the file comment).
template <class C>
concept Communicator = requires(C& c, std::span<float> f, std::span<double> d, std::span<std::byte> b,
                                std::uint64_t v) {
  { c.rank() } -> std::convertible_to<int>;
  { c.size() } -> std::convertible_to<int>;
  c.all_reduce_sum(f);
  c.all_reduce_sum(d);
  c.broadcast(b, 0);
  { c.all_gather(v) } -> std::same_as<std::vector<std::uint64_t>>;
  c.barrier();
};

/// Whether C's collectives take device (CUDA) memory.
template <class C>
inline constexpr bool takes_device_memory = [] {
  if constexpr (requires { C::device_memory; }) return static_cast<bool>(C::device_memory);
  else return false;
}();

/// A group of one: every collective leaves its data as it is. A data-parallel program given this
/// communicator is the single-process program.
class SelfCommunicator {
 public:
  int rank() const { return 0; }  ///< always 0
  int size() const { return 1; }  ///< always 1
  /// Sums over one rank: nothing changes.
  ///@{
  void all_reduce_sum(std::span<float>) {}
  void all_reduce_sum(std::span<double>) {}
  ///@}
  void broadcast(std::span<std::byte>, int root) {  ///< root must be 0
    require(root == 0, "SelfCommunicator::broadcast: root ", root, " outside the group of 1");
  }
  std::vector<std::uint64_t> all_gather(std::uint64_t v) { return {v}; }  ///< {v}
  void barrier() {}                                                       ///< returns at once
};
static_assert(Communicator<SelfCommunicator>);

namespace detail {

// Runs op on the elements of `x` (a view on D): in place when `direct` (host memory, or device memory the
// communicator takes), else through a host copy that is written back when `write_back`.
template <bool direct, class T, class D, class Op>
void on_communicable(TensorView<T, D> x, bool write_back, Op&& op) {
  if constexpr (direct) {
    op(std::span<T>(x.data(), static_cast<std::size_t>(x.numel())));
  } else {
    Tensor<T, Cpu> host(x.shape());
    copy(ConstView<T, D>(x), host.view());  // backend/cuda/transfer.hpp, by argument lookup
    op(std::span<T>(host.data(), static_cast<std::size_t>(host.numel())));
    if (write_back) copy(host.cview(), x);
  }
}

}  // namespace detail

/// x = the sum of x over the ranks (in place; any device).
template <Communicator Comm, class S, class D>
void all_reduce_sum(Comm& comm, TensorView<S, D> x) {
  constexpr bool direct = std::same_as<D, Cpu> || takes_device_memory<Comm>;
  detail::on_communicable<direct>(x, true, [&](std::span<S> s) { comm.all_reduce_sum(s); });
}

/// x = the mean of x over the ranks (in place; any device).
template <Communicator Comm, class S, class D>
void all_reduce_mean(Comm& comm, TensorView<S, D> x) {
  if (comm.size() == 1) return;
  all_reduce_sum(comm, x);
  ops::scale<S>(x, S(1) / static_cast<S>(comm.size()));
}

/// x = rank `root`'s x (in place; any device). Every rank's x must have the same number of elements.
template <Communicator Comm, class T, class D>
void broadcast(Comm& comm, TensorView<T, D> x, int root = 0) {
  constexpr bool device = !std::same_as<D, Cpu> && requires(Comm& c, std::span<std::byte> b) { c.broadcast_device(b, 0); };
  detail::on_communicable<std::same_as<D, Cpu> || device>(x, comm.rank() != root, [&](std::span<T> s) {
    if constexpr (device) comm.broadcast_device(std::as_writable_bytes(s), root);
    else comm.broadcast(std::as_writable_bytes(s), root);
  });
}

/// Broadcasts a trivially copyable value from rank `root`.
template <Communicator Comm, class T>
  requires std::is_trivially_copyable_v<T>
T broadcast_value(Comm& comm, T value, int root = 0) {
  comm.broadcast(std::as_writable_bytes(std::span<T>(&value, 1)), root);
  return value;
}

}  // namespace netgrow::dist
