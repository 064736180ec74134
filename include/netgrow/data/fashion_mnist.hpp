/// \file
/// netgrow/data/fashion_mnist.hpp: the Fashion-MNIST data set (Xiao, Rasul & Vollgraf 2017) from its
/// four IDX files, as tensors ready for a network.
///
/// Images become (N, 1, 28, 28) floats, normalised to zero mean and unit variance with the training
/// set's statistics (mean 0.2860, std 0.3530 over all training pixels scaled to [0, 1]) or left in
/// [0, 1]; labels become (N) int32 in 0..9. The directory defaults to $NETGROW_FASHION_MNIST, then
/// /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist package). Images and labels are
/// checked against each other (counts, 28 x 28, labels below 10).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "netgrow/core/tensor.hpp"
#include "netgrow/data/idx.hpp"

namespace netgrow {

/// One split of the data set: images and their labels, row i of each the same sample.
struct LabeledImages {
  Tensor<float, Cpu> images;         ///< (N, 1, 28, 28)
  Tensor<std::int32_t, Cpu> labels;  ///< (N)
  /// N, the number of samples.
  Index size() const { return labels.numel(); }
};

/// The training and test splits, as load_fashion_mnist() returns them.
struct FashionMnist {
  LabeledImages train;  ///< 60000
  LabeledImages test;   ///< 10000
  /// The classes' names, indexed by label.
  static constexpr const char* class_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
};

/// Where load_fashion_mnist() reads from and what it keeps.
struct FashionMnistOptions {
  std::string directory = "";  ///< empty: $NETGROW_FASHION_MNIST, else /usr/share/datasets/fashion-mnist
  bool standardize = true;     ///< false: pixels in [0, 1]
  Index max_train = 0;         ///< > 0: keep only the first max_train training images
  Index max_test = 0;          ///< > 0: keep only the first max_test test images
};

/// $NETGROW_FASHION_MNIST when set and not empty, else /usr/share/datasets/fashion-mnist.
inline std::string default_fashion_mnist_directory() {
  if (const char* env = std::getenv("NETGROW_FASHION_MNIST"); env && *env) return env;
  return "/usr/share/datasets/fashion-mnist";
}

namespace detail {

inline std::string find_idx(const std::string& dir, const std::string& stem) {
  for (const char* suffix : {".gz", ""}) {
    const std::string p = dir + "/" + stem + suffix;
    struct stat info {};
    if (::stat(p.c_str(), &info) == 0) return p;
  }
  throw IoError("Fashion-MNIST: " + stem + "[.gz] not found in " + dir +
                " (install Debian's dataset-fashion-mnist, or set NETGROW_FASHION_MNIST to the directory)");
}

inline LabeledImages load_split(const std::string& dir, const std::string& prefix, bool standardize, Index limit) {
  const std::string image_path = find_idx(dir, prefix + "-images-idx3-ubyte");
  const std::string label_path = find_idx(dir, prefix + "-labels-idx1-ubyte");
  const IdxArray images = read_idx(image_path);
  const IdxArray labels = read_idx(label_path);
  if (images.dims.size() != 3 || images.dims[1] != 28 || images.dims[2] != 28)
    throw IoError("Fashion-MNIST: " + image_path + " does not hold 28 x 28 images");
  if (labels.dims.size() != 1) throw IoError("Fashion-MNIST: " + label_path + " does not hold a label vector");
  if (images.dims[0] != labels.dims[0])
    throw IoError("Fashion-MNIST: " + std::to_string(images.dims[0]) + " images in " + image_path + " but " +
                  std::to_string(labels.dims[0]) + " labels in " + label_path);
  const Index n = limit > 0 ? std::min(limit, images.dims[0]) : images.dims[0];
  LabeledImages s;
  s.images = Tensor<float, Cpu>::uninitialized(Shape{n, 1, 28, 28});
  s.labels = Tensor<std::int32_t, Cpu>::uninitialized(Shape{n});
  constexpr float mean = 0.2860f, stddev = 0.3530f;
  for (Index i = 0; i < n * 784; ++i) {
    const float v = static_cast<float>(images.values[static_cast<std::size_t>(i)]) / 255.0f;
    s.images[i] = standardize ? (v - mean) / stddev : v;
  }
  for (Index i = 0; i < n; ++i) {
    const auto l = labels.values[static_cast<std::size_t>(i)];
    if (l > 9) throw IoError("Fashion-MNIST: label " + std::to_string(l) + " of sample " + std::to_string(i) + " in " +
                             label_path + " is not a class (0..9)");
    s.labels[i] = l;
  }
  return s;
}

}  // namespace detail

/// Loads both splits (see the file comment); IoError when a file is missing or malformed, or images and
/// labels do not match.
inline FashionMnist load_fashion_mnist(const FashionMnistOptions& o = {}) {
  const std::string dir = o.directory.empty() ? default_fashion_mnist_directory() : o.directory;
  FashionMnist d;
  d.train = detail::load_split(dir, "train", o.standardize, o.max_train);
  d.test = detail::load_split(dir, "t10k", o.standardize, o.max_test);
  return d;
}

}  // namespace netgrow
