// Device side of the im2col / col2im tests.
#include <netgrow/kernels/im2col.cuh>

#include <algorithm>

#include "device_buffer.hpp"
#include "im2col_shim.hpp"

namespace netgrow::test {

namespace {

template <class T>
void run_im2col(const std::vector<T>& images, Index batch, const ops::ConvGeometry& g, std::vector<T>& cols) {
  TestStream stream;
  DeviceBuffer<T> dev_images(images, stream.get());
  const Index size = std::max<Index>(0, g.patch_size() * batch * g.positions());  // 0 for invalid geometry
  const std::vector<T> shape_only(static_cast<std::size_t>(size));
  DeviceBuffer<T> dev_cols(shape_only, stream.get());
  dev_cols.fill_bytes(0xFF, stream.get());  // NaN: unwritten elements are caught
  kernels::im2col(dev_images.data(), batch, g, dev_cols.data(), stream.get());
  dev_cols.copy_to(cols, stream.get());
}

template <class T>
void run_col2im(const std::vector<T>& cols, Index batch, const ops::ConvGeometry& g, std::vector<T>& images) {
  TestStream stream;
  DeviceBuffer<T> dev_cols(cols, stream.get()), dev_images(images, stream.get());
  kernels::col2im(dev_cols.data(), batch, g, dev_images.data(), stream.get());
  dev_images.copy_to(images, stream.get());
}

}  // namespace

void im2col_on_device(const std::vector<float>& images, Index batch, const ops::ConvGeometry& g,
                      std::vector<float>& cols) {
  run_im2col(images, batch, g, cols);
}
void im2col_on_device(const std::vector<double>& images, Index batch, const ops::ConvGeometry& g,
                      std::vector<double>& cols) {
  run_im2col(images, batch, g, cols);
}
void col2im_on_device(const std::vector<float>& cols, Index batch, const ops::ConvGeometry& g,
                      std::vector<float>& images) {
  run_col2im(cols, batch, g, images);
}
void col2im_on_device(const std::vector<double>& cols, Index batch, const ops::ConvGeometry& g,
                      std::vector<double>& images) {
  run_col2im(cols, batch, g, images);
}

}  // namespace netgrow::test
