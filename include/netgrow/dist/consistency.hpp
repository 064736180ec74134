/// \file
/// netgrow/dist/consistency.hpp: keeping every rank's network identical, and checking that it is.
///
/// ~~~
/// dist::broadcast_network(comm, net);          // at start: rank 0's weights and optimizer state everywhere
/// ...grow...
/// dist::require_identical(comm, net, "growth at step 300");   // the debug check after each growth
/// ~~~
///
/// network_hash() hashes, in visit order, every parameter's name, shape, value, optimizer state
/// (owner and tensors), learning-rate factors and trainable flag: two ranks with equal hashes hold
/// bit-identical networks and optimizer states (up to 64-bit hash collisions). require_identical()
/// gathers the hashes and throws DistError naming the ranks that differ from rank 0 and, to find the
/// culprit, the first parameter whose hash differs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "netgrow/dist/communicator.hpp"
#include "netgrow/io/checksum.hpp"
#include "netgrow/layers/parameter.hpp"

namespace netgrow::dist {

namespace detail {

template <class T>
std::uint64_t hash_bytes_of(std::span<const T> values, std::uint64_t seed) {
  return io::hash64(std::as_bytes(values), seed);
}

template <class S, class D>
std::uint64_t hash_tensor(const Tensor<S, D>& t, std::uint64_t h) {
  const Index rank = t.rank();
  h = hash_bytes_of(std::span<const Index>(&rank, 1), h);
  for (int a = 0; a < t.rank(); ++a) {
    const Index d = t.dim(a);
    h = hash_bytes_of(std::span<const Index>(&d, 1), h);
  }
  if constexpr (std::same_as<D, Cpu>) {
    return hash_bytes_of(std::span<const S>(t.data(), static_cast<std::size_t>(t.numel())), h);
  } else {
    Tensor<S, Cpu> host(t.shape());
    copy(t.cview(), host.view());  // backend/cuda/transfer.hpp, by argument lookup
    return hash_bytes_of(std::span<const S>(host.data(), static_cast<std::size_t>(host.numel())), h);
  }
}

// The hash of one parameter: name, value, optimizer state, learning-rate factors and mask.
template <class S, class D>
std::uint64_t parameter_hash(const std::string& name, const Parameter<S, D>& p) {
  std::uint64_t h = io::hash64(std::as_bytes(std::span<const char>(name.data(), name.size())));
  h = hash_tensor(p.value, h);
  h = io::hash64(std::as_bytes(std::span<const char>(p.state_owner.data(), p.state_owner.size())), h);
  for (const auto& s : p.state) h = hash_tensor(s, h);
  h = hash_tensor(p.lr_scale, h);
  h = hash_tensor(p.mask, h);
  const double flags[3] = {p.lr_multiplier, p.trainable ? 1.0 : 0.0, p.weight_decay ? 1.0 : 0.0};
  return hash_bytes_of(std::span<const double>(flags, 3), h);
}

}  // namespace detail

/// A 64-bit hash of every parameter of `net` with its optimizer state (see the file comment).
template <class Net>
std::uint64_t network_hash(Net& net) {
  std::uint64_t h = 0;
  net.visit_parameters([&](const std::string& name, const auto& p) {
    h = io::hash64(std::as_bytes(std::span<const std::uint64_t>(&h, 1)), detail::parameter_hash(name, p));
  });
  return h;
}

/// Throws DistError when any rank's network (parameters and optimizer state) differs from rank 0's; the
/// message starts with `where` (e.g. "after the growth at step 300") and names the differing ranks and
/// the first differing parameter. A collective: every rank calls it.
template <Communicator Comm, class Net>
void require_identical(Comm& comm, Net& net, const std::string& where) {
  const std::vector<std::uint64_t> all = comm.all_gather(network_hash(net));
  std::string differ;
  for (std::size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0]) differ += (differ.empty() ? "" : ", ") + std::to_string(r);
  if (differ.empty()) return;
  // Find the first parameter that differs (every rank takes part: the same number of gathers each).
  std::string first;
  Index count = 0;
  net.visit_parameters([&](const std::string&, const auto&) { ++count; });
  const std::vector<std::uint64_t> counts = comm.all_gather(static_cast<std::uint64_t>(count));
  bool same_count = true;
  for (const std::uint64_t c : counts) same_count = same_count && c == counts[0];
  if (same_count) {
    net.visit_parameters([&](const std::string& name, const auto& p) {
      const std::vector<std::uint64_t> h = comm.all_gather(detail::parameter_hash(name, p));
      for (const std::uint64_t v : h)
        if (v != h[0] && first.empty()) first = name;
    });
  }
  throw DistError(where + ": the network on rank(s) " + differ + " differs from rank 0's" +
                  (same_count ? (first.empty() ? std::string() : " (first differing parameter: " + first + ")")
                              : std::string(" (the ranks hold different numbers of parameters)")) +
                  " [checked on rank " + std::to_string(comm.rank()) + "]");
}

/// Copies rank `root`'s parameter values, optimizer state, learning-rate factors and masks to every rank. The
/// networks must already have the same shapes (build them from the same settings); throws ShapeError on
/// every rank when they do not (checked by a hash of the shapes first, so no rank is left waiting).
template <Communicator Comm, class Net>
void broadcast_network(Comm& comm, Net& net, int root = 0) {
  std::uint64_t shapes = 0;
  net.visit_parameters([&](const std::string& name, const auto& p) {
    shapes = io::hash64(std::as_bytes(std::span<const char>(name.data(), name.size())), shapes);
    const std::uint64_t sizes[4] = {static_cast<std::uint64_t>(p.value.numel()), p.state.size(),
                                    static_cast<std::uint64_t>(p.lr_scale.numel()),
                                    static_cast<std::uint64_t>(p.mask.numel())};
    shapes = io::hash64(std::as_bytes(std::span<const std::uint64_t>(sizes, 4)), shapes);
  });
  const std::vector<std::uint64_t> all = comm.all_gather(shapes);
  for (std::size_t r = 0; r < all.size(); ++r)
    require<ShapeError>(all[r] == all[static_cast<std::size_t>(root)], "broadcast_network: rank ", r,
                        "'s network has other parameters, shapes or optimizer state than rank ", root, "'s");
  net.visit_parameters([&](const std::string&, auto& p) {
    broadcast(comm, p.value.view(), root);
    for (auto& s : p.state) broadcast(comm, s.view(), root);
    if (!p.lr_scale.empty()) broadcast(comm, p.lr_scale.view(), root);
    if (!p.mask.empty()) broadcast(comm, p.mask.view(), root);
  });
}

}  // namespace netgrow::dist
