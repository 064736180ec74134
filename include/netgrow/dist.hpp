/// \file
/// netgrow/dist.hpp: data-parallel training and growth over any communicator (the dist/ module, less the
/// library bindings): the Communicator concept and SelfCommunicator, GradientAverager, DistributedSampler,
/// growth_options, SyncBatchNorm, network_hash / require_identical / broadcast_network, and rank-0
/// checkpoints.
/// Include <netgrow/dist/mpi.hpp> (link netgrow::mpi) or <netgrow/dist/nccl.hpp> (netgrow::nccl) for a
/// communicator over several processes.
#pragma once

#include "netgrow/dist/checkpoint.hpp"
#include "netgrow/dist/communicator.hpp"
#include "netgrow/dist/consistency.hpp"
#include "netgrow/dist/gradient_averager.hpp"
#include "netgrow/dist/growth.hpp"
#include "netgrow/dist/sampler.hpp"
#include "netgrow/dist/sync_batch_norm.hpp"
