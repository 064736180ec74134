// Tests data/fashion_mnist.hpp on the real data set (Debian's dataset-fashion-mnist, which the test
// script installs), and data/augment.hpp.
#include <doctest/doctest.h>

#include <cmath>

#include "netgrow/data/augment.hpp"
#include "netgrow/data/fashion_mnist.hpp"

using namespace netgrow;

TEST_CASE("Fashion-MNIST loads: 60000 + 10000 standardised 28 x 28 images with labels 0..9") {
  const FashionMnist d = load_fashion_mnist();
  CHECK(d.train.images.shape() == Shape{60000, 1, 28, 28});
  CHECK(d.test.images.shape() == Shape{10000, 1, 28, 28});
  CHECK(d.train.size() == 60000);
  std::vector<int> counts(10, 0);
  for (Index i = 0; i < d.train.size(); ++i) ++counts[static_cast<std::size_t>(d.train.labels[i])];
  for (int c : counts) CHECK(c == 6000);  // the training set is balanced
  double sum = 0, sq = 0;
  for (float v : d.train.images.span()) sum += v, sq += double(v) * v;
  const double n = static_cast<double>(d.train.images.numel());
  CHECK(std::abs(sum / n) < 0.01);
  CHECK(std::sqrt(sq / n) == doctest::Approx(1.0).epsilon(0.01));
  CHECK(d.train.labels[0] == 9);  // the first training image is an ankle boot
}

TEST_CASE("Fashion-MNIST options: limits, raw pixels, missing directory") {
  const FashionMnist d = load_fashion_mnist({.standardize = false, .max_train = 100, .max_test = 10});
  CHECK(d.train.size() == 100);
  CHECK(d.test.size() == 10);
  for (float v : d.train.images.span()) CHECK((v >= 0.0f && v <= 1.0f));
  CHECK_THROWS_WITH_AS(load_fashion_mnist({.directory = "/nonexistent/fashion"}), doctest::Contains("not found"),
                       IoError);
}

TEST_CASE("augment crops and flips reproducibly and keeps pixels from the image") {
  Tensor<float> batch({4, 1, 5, 5});
  for (Index i = 0; i < batch.numel(); ++i) batch[i] = static_cast<float>(i % 25 + 1);
  Tensor<float> a = batch.clone(), b = batch.clone();
  Rng ra(3), rb(3);
  augment(a.view(), {.crop_padding = 2, .horizontal_flip = true}, ra);
  augment(b.view(), {.crop_padding = 2, .horizontal_flip = true}, rb);
  CHECK(a.to_vector() == b.to_vector());
  CHECK(a.to_vector() != batch.to_vector());
  for (float v : a.span()) CHECK((v == 0.0f || (v >= 1.0f && v <= 25.0f)));
  // A flip alone mirrors each row.
  Tensor<float> f = batch.clone();
  Rng rf(1);
  int flipped = 0;
  augment(f.view(), {.horizontal_flip = true}, rf);
  for (Index i = 0; i < 4; ++i) {
    const bool mirrored = f.at(i, 0, 2, 0) == batch.at(i, 0, 2, 4) && f.at(i, 0, 2, 4) == batch.at(i, 0, 2, 0);
    const bool same = f.at(i, 0, 2, 0) == batch.at(i, 0, 2, 0);
    CHECK((mirrored || same));
    flipped += mirrored;
  }
  CHECK(flipped > 0);
  CHECK_THROWS_AS(augment(Tensor<float>({2, 3}).view(), {.horizontal_flip = true}, rf), ShapeError);
}
