// Host-callable shims around kernels/im2col.cuh for the im2col / col2im tests.
#pragma once

#include <vector>

#include "netgrow/backend/cpu/conv.hpp"
#include "netgrow/core/config.hpp"

namespace netgrow::test {

// cols (C k k, N Ho Wo) = kernels::im2col(images (N, C, H, W)) on the GPU; cols is resized, and its
// device copy starts as NaN so an element the kernel never writes shows up.
void im2col_on_device(const std::vector<float>& images, Index batch, const ops::ConvGeometry& g,
                      std::vector<float>& cols);
void im2col_on_device(const std::vector<double>& images, Index batch, const ops::ConvGeometry& g,
                      std::vector<double>& cols);

// images (N, C, H, W) += kernels::col2im(cols (C k k, N Ho Wo)) on the GPU (images is read and written).
void col2im_on_device(const std::vector<float>& cols, Index batch, const ops::ConvGeometry& g,
                      std::vector<float>& images);
void col2im_on_device(const std::vector<double>& cols, Index batch, const ops::ConvGeometry& g,
                      std::vector<double>& images);

}  // namespace netgrow::test
