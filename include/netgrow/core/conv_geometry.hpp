/// \file
/// netgrow/core/conv_geometry.hpp: the geometry of a square-kernel convolution or pooling window over
/// one sample (C, H, W). Host and kernel code share it (kernels/ read its numbers).
#pragma once

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"

namespace netgrow {

/// The geometry of a square-kernel convolution (or pooling window) over one sample (C, H, W):
/// Ho = (H + 2 p - k) / s + 1, likewise Wo.
struct ConvGeometry {
  /// Input (C, H, W).
  ///@{
  Index channels = 0, height = 0, width = 0;
  ///@}
  /// Square kernel side k, stride s, zero padding p.
  ///@{
  Index kernel = 1, stride = 1, padding = 0;
  ///@}

  Index out_height() const { return (height + 2 * padding - kernel) / stride + 1; }  ///< Ho
  Index out_width() const { return (width + 2 * padding - kernel) / stride + 1; }    ///< Wo
  Index patch_size() const { return channels * kernel * kernel; }                    ///< C k k: one patch
  Index positions() const { return out_height() * out_width(); }                     ///< Ho Wo

  /// Throws for kernel or stride < 1 or padding < 0, and ShapeError when the kernel does not fit the
  /// padded input; `who` names the caller in the message.
  void check(const char* who) const {
    require(kernel >= 1 && stride >= 1 && padding >= 0, who, ": kernel ", kernel, ", stride ", stride, ", padding ",
            padding, " are invalid");
    require<ShapeError>(height + 2 * padding >= kernel && width + 2 * padding >= kernel, who, ": a ", kernel, "x",
                        kernel, " kernel with padding ", padding, " does not fit a ", height, "x", width, " input");
  }
};

namespace ops {
using netgrow::ConvGeometry;  ///< the op facade's convolutions take it as ops::ConvGeometry too
}  // namespace ops

}  // namespace netgrow
