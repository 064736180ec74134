// The im2col / col2im kernel family (kernels/im2col.cuh) against the CPU per-image functions of
// backend/cpu/conv.hpp: the batched cols (C k k, N Ho Wo) are the per-image (C k k, Ho Wo) blocks side by
// side. Geometries: kernel 1, 3, 5; stride 1, 2 (and 3); padding 0, 1 (and 2); H != W; odd sizes;
// channel counts right after a growth step; batch 2 and 3.
//
// Checks: im2col equals the CPU exactly (a copy, every element written: the device buffer starts as
// NaN); col2im adds into non-zero images and equals the CPU within 2 eps (k k + 1) sum|terms| per pixel
// (it does the same additions in the same order, so it is normally exact); adjointness <col2im(Y), X> = <Y, im2col(X)>
// in double, relative 1e-5 (float) / 1e-12 (double).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "im2col_shim.hpp"
#include "netgrow/backend/cpu/conv.hpp"
#include "netgrow/core/error.hpp"

using netgrow::Index;
using netgrow::ops::ConvGeometry;
using namespace netgrow::test;

namespace {

template <class T>
std::vector<T> uniform_values(Index count, std::uint64_t seed) {
  std::vector<T> v(static_cast<std::size_t>(count));
  std::uint64_t s = seed;
  for (T& e : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    e = static_cast<T>(static_cast<double>(s >> 11) * 0x1.0p-52 - 1.0);  // [-1, 1)
  }
  return v;
}

struct ConvCase {
  Index batch;
  ConvGeometry g;
};

std::string describe(const ConvCase& c) {
  std::ostringstream out;
  out << "batch " << c.batch << ", C " << c.g.channels << ", H " << c.g.height << ", W " << c.g.width << ", kernel "
      << c.g.kernel << ", stride " << c.g.stride << ", padding " << c.g.padding;
  return out.str();
}

const std::vector<ConvCase> conv_cases{
    {2, {.channels = 3, .height = 7, .width = 5, .kernel = 3, .stride = 1, .padding = 1}},
    {3, {.channels = 2, .height = 9, .width = 6, .kernel = 3, .stride = 2, .padding = 0}},
    {2, {.channels = 4, .height = 8, .width = 11, .kernel = 5, .stride = 2, .padding = 1}},
    {2, {.channels = 5, .height = 6, .width = 7, .kernel = 1, .stride = 1, .padding = 0}},
    {3, {.channels = 3, .height = 5, .width = 8, .kernel = 1, .stride = 2, .padding = 0}},
    {2, {.channels = 1, .height = 12, .width = 10, .kernel = 5, .stride = 1, .padding = 0}},
    {2, {.channels = 2, .height = 13, .width = 9, .kernel = 5, .stride = 1, .padding = 1}},
    {3, {.channels = 17, .height = 14, .width = 13, .kernel = 3, .stride = 2, .padding = 1}},  // 16 + 1 grown
    {2, {.channels = 33, .height = 15, .width = 16, .kernel = 3, .stride = 1, .padding = 1}},  // 32 + 1 grown
    {2, {.channels = 3, .height = 2, .width = 3, .kernel = 3, .stride = 1, .padding = 1}},     // kernel > image
    {2, {.channels = 2, .height = 11, .width = 10, .kernel = 3, .stride = 3, .padding = 2}},
    {3, {.channels = 6, .height = 28, .width = 28, .kernel = 3, .stride = 1, .padding = 0}},
};

// The CPU reference of the batched im2col: per image, into its column block.
template <class T>
std::vector<T> cpu_im2col(const std::vector<T>& images, const ConvCase& c) {
  const Index rows = c.g.patch_size(), positions = c.g.positions(), columns = c.batch * positions;
  const Index image_size = c.g.channels * c.g.height * c.g.width;
  std::vector<T> cols(static_cast<std::size_t>(rows * columns));
  std::vector<T> one(static_cast<std::size_t>(rows * positions));
  for (Index n = 0; n < c.batch; ++n) {
    netgrow::ops::im2col(images.data() + n * image_size, c.g, one.data());
    for (Index r = 0; r < rows; ++r)
      for (Index q = 0; q < positions; ++q)
        cols[static_cast<std::size_t>(r * columns + n * positions + q)] =
            one[static_cast<std::size_t>(r * positions + q)];
  }
  return cols;
}

// images += the CPU col2im of the batched cols, per image.
template <class T>
void cpu_col2im(const std::vector<T>& cols, const ConvCase& c, std::vector<T>& images) {
  const Index rows = c.g.patch_size(), positions = c.g.positions(), columns = c.batch * positions;
  const Index image_size = c.g.channels * c.g.height * c.g.width;
  std::vector<T> one(static_cast<std::size_t>(rows * positions));
  for (Index n = 0; n < c.batch; ++n) {
    for (Index r = 0; r < rows; ++r)
      for (Index q = 0; q < positions; ++q)
        one[static_cast<std::size_t>(r * positions + q)] =
            cols[static_cast<std::size_t>(r * columns + n * positions + q)];
    netgrow::ops::col2im(one.data(), c.g, images.data() + n * image_size);
  }
}

Index image_elements(const ConvCase& c) {
  return c.batch * c.g.channels * c.g.height * c.g.width;
}

Index cols_elements(const ConvCase& c) {
  return c.g.patch_size() * c.batch * c.g.positions();
}

template <class T>
void check_im2col() {
  std::uint64_t seed = 7;
  for (const ConvCase& c : conv_cases) {
    const std::vector<T> images = uniform_values<T>(image_elements(c), seed++);
    std::vector<T> cols;
    im2col_on_device(images, c.batch, c.g, cols);
    const std::vector<T> expected = cpu_im2col(images, c);
    REQUIRE(cols.size() == expected.size());
    Index mismatches = 0, first = -1;
    for (std::size_t e = 0; e < cols.size(); ++e)
      if (!(cols[e] == expected[e]) && mismatches++ == 0) first = static_cast<Index>(e);
    CHECK_MESSAGE(mismatches == 0, describe(c), ": ", mismatches, " of ", cols.size(),
                  " elements differ, first at flat index ", first);
  }
}

template <class T>
void check_col2im() {
  std::uint64_t seed = 70;
  for (const ConvCase& c : conv_cases) {
    const std::vector<T> cols = uniform_values<T>(cols_elements(c), seed++);
    std::vector<T> images = uniform_values<T>(image_elements(c), seed++);  // col2im adds to these
    std::vector<T> expected = images;
    // Per pixel, the sum of the magnitudes of everything added (for the rounding bound).
    std::vector<T> magnitude(images.size()), abs_cols(cols.size());
    for (std::size_t e = 0; e < images.size(); ++e) magnitude[e] = std::abs(images[e]);
    for (std::size_t e = 0; e < cols.size(); ++e) abs_cols[e] = std::abs(cols[e]);
    col2im_on_device(cols, c.batch, c.g, images);
    cpu_col2im(cols, c, expected);
    cpu_col2im(abs_cols, c, magnitude);
    REQUIRE(images.size() == expected.size());
    // Each result is a sum of at most k k + 1 terms: any order is within 2 eps (k k + 1) sum |terms|.
    const double factor = 2.0 * std::numeric_limits<T>::epsilon() * static_cast<double>(c.g.kernel * c.g.kernel + 1);
    Index mismatches = 0, first = -1;
    for (std::size_t e = 0; e < images.size(); ++e) {
      const double tolerance = factor * static_cast<double>(magnitude[e]);
      if (!(std::abs(static_cast<double>(images[e]) - static_cast<double>(expected[e])) <= tolerance) &&
          mismatches++ == 0)
        first = static_cast<Index>(e);
    }
    CHECK_MESSAGE(mismatches == 0, describe(c), ": ", mismatches, " of ", images.size(),
                  " pixels differ from the CPU col2im, first at flat index ", first);
  }
}

template <class T>
void check_adjoint() {
  std::uint64_t seed = 700;
  for (const ConvCase& c : conv_cases) {
    const std::vector<T> x = uniform_values<T>(image_elements(c), seed++);
    const std::vector<T> y = uniform_values<T>(cols_elements(c), seed++);
    std::vector<T> im2col_x;
    im2col_on_device(x, c.batch, c.g, im2col_x);
    std::vector<T> col2im_y(x.size(), T(0));
    col2im_on_device(y, c.batch, c.g, col2im_y);
    double left = 0, right = 0, scale = 0;
    for (std::size_t e = 0; e < x.size(); ++e) {
      left += static_cast<double>(col2im_y[e]) * static_cast<double>(x[e]);
      scale += std::abs(static_cast<double>(col2im_y[e]) * static_cast<double>(x[e]));
    }
    for (std::size_t e = 0; e < y.size(); ++e) right += static_cast<double>(y[e]) * static_cast<double>(im2col_x[e]);
    const double relative = std::is_same_v<T, float> ? 1e-5 : 1e-12;
    CHECK_MESSAGE(std::abs(left - right) <= relative * (scale + 1.0), describe(c), ": <col2im(Y), X> = ", left,
                  " but <Y, im2col(X)> = ", right);
  }
}

}  // namespace

TEST_CASE("im2col: the batched columns equal the CPU im2col per image, every element written") {
  check_im2col<float>();
  check_im2col<double>();
}

TEST_CASE("col2im: adds the same values as the CPU col2im per image") {
  check_col2im<float>();
  check_col2im<double>();
}

TEST_CASE("col2im is the adjoint of im2col: <col2im(Y), X> = <Y, im2col(X)>") {
  check_adjoint<float>();
  check_adjoint<double>();
}

TEST_CASE("im2col and col2im reject a kernel that does not fit the padded input") {
  const ConvGeometry g{.channels = 1, .height = 2, .width = 2, .kernel = 5, .stride = 1, .padding = 0};
  const std::vector<float> images(8, 1.0f);
  std::vector<float> cols;
  CHECK_THROWS_AS(im2col_on_device(images, 2, g, cols), netgrow::ShapeError);
  std::vector<float> out(8, 0.0f);
  CHECK_THROWS_AS(col2im_on_device(std::vector<float>(8, 1.0f), 2, g, out), netgrow::ShapeError);
}
