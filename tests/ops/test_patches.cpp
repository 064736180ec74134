// Tests ops/patches.hpp on the CPU: the patch layout (grid row-major, each patch channel-major), the
// round trip back to the images, and the shape checks.
#include <doctest/doctest.h>

#include "netgrow/ops/patches.hpp"

using namespace netgrow;

TEST_CASE("patches_from_images lays patches out grid row-major, each (c, a, b); images_from_patches inverts it") {
  const Index n = 2, c = 3, h = 4, w = 6, p = 2;  // a 2 x 3 grid of 2 x 2 patches
  Tensor<double> images(Shape{n, c, h, w}), patches(Shape{n * 6, c * p * p}), back(Shape{n, c, h, w});
  for (Index i = 0; i < images.numel(); ++i) images[i] = static_cast<double>(i);
  ops::patches_from_images<double>(images.cview(), p, patches.view());
  // sample 1, grid cell (1, 2) = patch row 6 + 5; channel 2, offset (1, 0) within the patch
  CHECK(patches.at(6 + 5, (2 * p + 1) * p + 0) == images.at(1, 2, 1 * p + 1, 2 * p + 0));
  CHECK(patches.at(0, 0) == images.at(0, 0, 0, 0));
  ops::images_from_patches<double>(patches.cview(), p, back.view());
  for (Index i = 0; i < images.numel(); ++i) CHECK(back[i] == images[i]);
}

TEST_CASE("patch ops refuse images that do not divide into patches and mis-shaped patch matrices") {
  Tensor<float> images(Shape{1, 1, 5, 4}), patches(Shape{4, 4});
  CHECK_THROWS_AS(ops::patches_from_images<float>(images.cview(), 2, patches.view()), ShapeError);
  Tensor<float> square(Shape{1, 1, 4, 4}), wrong(Shape{4, 3});
  CHECK_THROWS_AS(ops::patches_from_images<float>(square.cview(), 2, wrong.view()), ShapeError);
  CHECK_THROWS_AS(ops::images_from_patches<float>(wrong.cview(), 2, square.view()), ShapeError);
  CHECK_NOTHROW(ops::patches_from_images<float>(square.cview(), 2, patches.view()));
}
