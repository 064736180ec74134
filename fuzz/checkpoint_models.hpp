// fuzz/checkpoint_models.hpp: the two seed-width networks the checkpoint fuzzer restores into (an MLP
// Dense-Relu1-Dense and a CNN Conv2d-BatchNorm-Relu1-Flatten-Dense), their inputs, and the writer of its
// seed corpus (checkpoint_seeds.cpp, a translation unit of its own: it compiles beside the fuzzer's).
#pragma once

#include <filesystem>

#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/batch_norm.hpp"
#include "netgrow/layers/conv2d.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/layers/flatten.hpp"
#include "netgrow/network/sequential.hpp"

namespace netgrow_fuzz {

using namespace netgrow;

inline auto make_mlp(Rng& rng) {
  return make_sequential<float, Cpu>(rng, Dense{.in = 3, .out = 4}, Relu1{}, Dense{.in = 4, .out = 2});
}
inline auto make_cnn(Rng& rng) {
  return make_sequential<float, Cpu>(rng, Conv2d{.in = 1, .out = 2, .kernel = 3, .stride = 1, .padding = 1},
                                     BatchNorm{.channels = 2}, Relu1{}, Flatten{}, Dense{.in = 18, .out = 2});
}
inline const Shape mlp_input{2, 3};
inline const Shape cnn_input{2, 1, 3, 3};

// Writes the seed corpus (see checkpoint_fuzzer.cpp's file comment) into dir.
void write_checkpoint_seeds(const std::filesystem::path& dir);

}  // namespace netgrow_fuzz
