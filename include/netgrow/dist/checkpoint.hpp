/// \file
/// netgrow/dist/checkpoint.hpp: checkpoints of a data-parallel run: written once, read everywhere, and
/// a failure on one rank an error on all.
///
/// ~~~
/// io::TrainingState state;
/// state.optimizer(sgd).rng("grow", grow_rng).sampler("train", sampler.global()).counter("step", step);
/// dist::save_checkpoint(comm, "run.safetensors", net, state);   // rank 0 writes (atomically)
/// ...
/// dist::load_checkpoint(comm, "run.safetensors", net, state);   // any number of ranks resumes
/// ~~~
///
/// save_checkpoint: every rank holds the same network (dist/consistency.hpp), so rank `root` alone
/// writes it, atomically (io::save_checkpoint: a failure leaves any previous file intact), and then tells
/// the others whether it succeeded: when it failed, every rank throws IoError with root's message, so no
/// rank trains on believing a checkpoint exists. load_checkpoint: every rank reads the file (a file
/// system every rank sees), all or nothing as io::load_checkpoint is; if it fails on any rank, it throws
/// on every rank (the ranks that read it fine are restored all the same: call it again or end the run),
/// and after success it checks that every rank holds the same network.
///
/// The checkpoint holds no world size: the DistributedSampler's state is that of the global stream, so a
/// run saved on N ranks resumes on M with the same global batches (same global batch size).
#pragma once

#include <cstdint>
#include <exception>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "netgrow/dist/communicator.hpp"
#include "netgrow/dist/consistency.hpp"
#include "netgrow/io/checkpoint.hpp"

namespace netgrow::dist {

namespace detail {

// Broadcasts root's error message ("" on success); every rank returns it.
template <Communicator Comm>
std::string broadcast_message(Comm& comm, std::string message, int root) {
  auto length = broadcast_value(comm, static_cast<std::uint64_t>(message.size()), root);
  message.resize(static_cast<std::size_t>(length));
  if (length > 0) comm.broadcast(std::as_writable_bytes(std::span<char>(message.data(), message.size())), root);
  return message;
}

}  // namespace detail

/// Rank `root` writes the checkpoint of `net` and `state` to `path` atomically; every rank returns once it
/// is written, or throws IoError (on every rank) naming root's failure. A collective.
template <Communicator Comm, class Net>
void save_checkpoint(Comm& comm, const std::filesystem::path& path, Net& net, const io::TrainingState& state = {},
                     int root = 0) {
  std::string error;
  if (comm.rank() == root) {
    try {
      io::save_checkpoint(path, net, state);
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "unknown error";
    }
  }
  error = detail::broadcast_message(comm, error, root);
  if (!error.empty())
    throw IoError("dist::save_checkpoint: rank " + std::to_string(root) + " could not write " + path.string() + ": " +
                  error);
}

/// Every rank reads the checkpoint at `path` into `net` and `state`; throws on every rank when any rank
/// failed (IoError naming the first failing rank and its message), and DistError when the ranks then hold
/// different networks. A collective.
template <Communicator Comm, class Net>
io::CheckpointInfo load_checkpoint(Comm& comm, const std::filesystem::path& path, Net& net,
                                   const io::TrainingState& state = {}) {
  io::CheckpointInfo info{};
  std::string error;
  try {
    info = io::load_checkpoint(path, net, state);
  } catch (const std::exception& e) {
    error = e.what();
    if (error.empty()) error = "unknown error";
  }
  const std::vector<std::uint64_t> failed = comm.all_gather(error.empty() ? 0 : 1);
  for (std::size_t r = 0; r < failed.size(); ++r) {
    if (failed[r] == 0) continue;
    const std::string message = detail::broadcast_message(comm, error, static_cast<int>(r));
    throw IoError("dist::load_checkpoint: rank " + std::to_string(r) + " could not read " + path.string() + ": " +
                  message);
  }
  require_identical(comm, net, "dist::load_checkpoint(" + path.string() + ")");
  return info;
}

}  // namespace netgrow::dist
