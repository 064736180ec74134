/// \file
/// netgrow/layers/batch_norm_sync.hpp: the hook through which BatchNorm synchronises its batch statistics
/// over the processes of a data-parallel group (synchronised BatchNorm).
///
/// While a sum is installed on this thread (dist::SyncBatchNorm, a scope around forward() and
/// backward()), every BatchNorm in training mode normalises with the statistics of the global batch,
/// the union of every process's batch: its per-channel sums (count, sum x, sum x^2; in backward, sum dy
/// and sum dy xhat) are added up over the processes through the hook. layers/ knows no communicator; the
/// hook is a function that replaces doubles by their sum over the processes.
#pragma once

#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "netgrow/core/tensor.hpp"

namespace netgrow {

/// Replaces the values by their sum over the processes of a data-parallel group.
using ProcessSum = std::function<void(std::span<double>)>;

namespace detail {

inline const ProcessSum*& installed_batch_norm_sum() {
  thread_local const ProcessSum* sum = nullptr;
  return sum;
}

// The elements of x (C values) as doubles on the host.
template <class T, class D>
std::vector<double> host_doubles(ConstView<T, D> x) {
  std::vector<double> out(static_cast<std::size_t>(x.numel()));
  if constexpr (std::same_as<D, Cpu>) {
    for (Index i = 0; i < x.numel(); ++i) out[static_cast<std::size_t>(i)] = static_cast<double>(x.data()[i]);
  } else {
    Tensor<T, Cpu> host(x.shape());
    copy(x, host.view());  // backend/cuda/transfer.hpp, by argument lookup
    for (Index i = 0; i < x.numel(); ++i) out[static_cast<std::size_t>(i)] = static_cast<double>(host[i]);
  }
  return out;
}

// x = values (rounded to T), x on any device.
template <class T, class D>
void set_from_host(const std::vector<double>& values, TensorView<T, D> x) {
  if constexpr (std::same_as<D, Cpu>) {
    for (Index i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<T>(values[static_cast<std::size_t>(i)]);
  } else {
    Tensor<T, Cpu> host(x.shape());
    for (Index i = 0; i < x.numel(); ++i) host[i] = static_cast<T>(values[static_cast<std::size_t>(i)]);
    copy(host.cview(), x);
  }
}

}  // namespace detail

/// The sum BatchNorm synchronises through on this thread, or null (local statistics).
inline const ProcessSum* batch_norm_process_sum() { return detail::installed_batch_norm_sum(); }

/// Installs `sum` for the life of the object (scopes nest; the previous one comes back at the end). The
/// function must outlive the scope.
class BatchNormSumScope {
 public:
  explicit BatchNormSumScope(const ProcessSum& sum) : previous_(std::exchange(detail::installed_batch_norm_sum(), &sum)) {}
  BatchNormSumScope(const BatchNormSumScope&) = delete;
  BatchNormSumScope& operator=(const BatchNormSumScope&) = delete;
  ~BatchNormSumScope() { detail::installed_batch_norm_sum() = previous_; }

 private:
  const ProcessSum* previous_;
};

}  // namespace netgrow
