// tests/io/io_support.hpp: helpers for the io tests: a scratch directory, bitwise snapshots of a
// network's parameters (values, optimizer state, learning-rate factors, flags), and small data sets.
#pragma once

#include <doctest/doctest.h>

#include <unistd.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "netgrow/core/rng.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/layers/parameter.hpp"

namespace netgrow::test {

// A fresh directory under the system's temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("netgrow_io_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1)));
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  // Names of the entries in the directory, sorted.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::filesystem::path path_;
};

template <class T, class D>
std::vector<std::byte> bytes_of(const Tensor<T, D>& t) {
  std::vector<std::byte> b(static_cast<std::size_t>(t.numel()) * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), t.data(), b.size());
  return b;
}

// Everything a checkpoint restores about one parameter, bit for bit.
struct ParameterSnapshot {
  std::string name;
  Shape shape;
  std::vector<std::byte> value;
  std::vector<std::vector<std::byte>> state;
  std::vector<Shape> state_shapes;
  std::vector<std::byte> lr_scale;
  std::string state_owner;
  double lr_multiplier = 1;
  bool trainable = true, weight_decay = true;
  std::array<std::vector<std::int32_t>, 2> stage_tags;

  friend bool operator==(const ParameterSnapshot&, const ParameterSnapshot&) = default;
};

template <class Net>
std::vector<ParameterSnapshot> snapshot(Net& net) {
  std::vector<ParameterSnapshot> out;
  net.visit_parameters([&](const std::string& name, auto& p) {
    ParameterSnapshot s;
    s.name = name;
    s.shape = p.value.shape();
    s.value = bytes_of(p.value);
    for (const auto& t : p.state) {
      s.state.push_back(bytes_of(t));
      s.state_shapes.push_back(t.shape());
    }
    s.lr_scale = bytes_of(p.lr_scale);
    s.state_owner = p.state_owner;
    s.lr_multiplier = p.lr_multiplier;
    s.trainable = p.trainable;
    s.weight_decay = p.weight_decay;
    s.stage_tags = p.stage_tags;
    out.push_back(std::move(s));
  });
  return out;
}

// Tensor of standard normal values.
template <class T>
Tensor<T> normal_tensor(Shape shape, Rng& rng) {
  Tensor<T> t(shape);
  for (Index i = 0; i < t.numel(); ++i) t[i] = static_cast<T>(rng.normal());
  return t;
}

// Labels i mod classes.
inline Tensor<std::int32_t> cyclic_labels(Index n, Index classes) {
  Tensor<std::int32_t> y(Shape{n});
  for (Index i = 0; i < n; ++i) y[i] = static_cast<std::int32_t>(i % classes);
  return y;
}

// `load` throws Exception with every needle in its message, and `net` is exactly as before (parameters
// bit for bit, and its description).
template <class Exception, class Net, class Load>
void expect_refused(Net& net, Load&& load, const std::vector<std::string>& needles) {
  const auto before = snapshot(net);
  const std::string description = net.describe();
  try {
    load();
    FAIL("accepted");
  } catch (const Exception& e) {
    const std::string what = e.what();
    CAPTURE(what);
    for (const std::string& needle : needles) CHECK_MESSAGE(what.find(needle) != std::string::npos, needle);
  }
  CHECK(snapshot(net) == before);
  CHECK(net.describe() == description);
}

}  // namespace netgrow::test
