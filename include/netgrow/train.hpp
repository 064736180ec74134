/// \file
/// netgrow/train.hpp: the train module in one include: training-loop helpers: a progress line, CSV
/// curves, locale-free number formatting, JSON run summaries (run_summary.hpp includes nlohmann/json),
/// the Fréchet distance of feature statistics.
/// Self-contained; it includes only its own module and the modules below it (scripts/check_includes.py).
#pragma once

#include "netgrow/train/csv.hpp"
#include "netgrow/train/format.hpp"
#include "netgrow/train/frechet.hpp"
#include "netgrow/train/progress.hpp"
#include "netgrow/train/run_summary.hpp"
