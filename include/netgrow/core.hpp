/// \file
/// netgrow/core.hpp: the core module in one include: tensors and views, shapes, device tags, the RNG,
/// weight initialisers, errors, Eigen interop, kind fields, the clock (CPU; core/cuda_check.hpp comes
/// with <netgrow/cuda.hpp>).
/// Self-contained; it includes only its own module and the modules below it (scripts/check_includes.py).
#pragma once

#include "netgrow/core/clock.hpp"
#include "netgrow/core/config.hpp"
#include "netgrow/core/conv_geometry.hpp"
#include "netgrow/core/device.hpp"
#include "netgrow/core/eigen.hpp"
#include "netgrow/core/error.hpp"
#include "netgrow/core/fields.hpp"
#include "netgrow/core/init.hpp"
#include "netgrow/core/rng.hpp"
#include "netgrow/core/shape.hpp"
#include "netgrow/core/tensor.hpp"
