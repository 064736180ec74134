/// \file
/// netgrow/io.hpp: the io module in one include: checkpoints in the safetensors format with bit-for-bit
/// resume, layer settings as JSON, growth histories (includes nlohmann/json), grayscale PNG images.
/// Self-contained; it includes only its own module and the modules below it (scripts/check_includes.py).
#pragma once

#include "netgrow/io/atomic_file.hpp"
#include "netgrow/io/checkpoint.hpp"
#include "netgrow/io/dtype.hpp"
#include "netgrow/io/growth_history.hpp"
#include "netgrow/io/kind_config.hpp"
#include "netgrow/io/metadata.hpp"
#include "netgrow/io/png.hpp"
#include "netgrow/io/safetensors.hpp"
#include "netgrow/io/training_state.hpp"
