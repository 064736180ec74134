/// \file
/// netgrow/prune.hpp: networks whose connections move. Sparsity masks on weights (prune/mask.hpp),
/// pruning at initialisation with Magnitude, RandomScore, Snip, Grasp, SynFlow and NtkSap
/// (prune/prune_at_init.hpp), dynamic sparse training with SET and RigL (prune/dynamic_sparse.hpp),
/// the empirical NTK's training-free scores (prune/ntk.hpp), and balanced sparse GAN training: the
/// balance ratio and DDST's density control (prune/balance.hpp).
#pragma once

#include "netgrow/prune/balance.hpp"
#include "netgrow/prune/dynamic_sparse.hpp"
#include "netgrow/prune/flops.hpp"
#include "netgrow/prune/grasp.hpp"
#include "netgrow/prune/magnitude.hpp"
#include "netgrow/prune/mask.hpp"
#include "netgrow/prune/ntk.hpp"
#include "netgrow/prune/ntk_sap.hpp"
#include "netgrow/prune/prune_at_init.hpp"
#include "netgrow/prune/scores.hpp"
#include "netgrow/prune/snip.hpp"
#include "netgrow/prune/synflow.hpp"

/// \namespace netgrow::prune
/// Sparsity masks, pruning at initialisation (SNIP, GraSP, SynFlow, NTK-SAP, magnitude, random), dynamic
/// sparse training (SET, RigL) and NTK scores.
