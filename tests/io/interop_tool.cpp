// tests/io/interop_tool.cpp: the C++ side of the safetensors interoperability test
// (check_safetensors.py, which drives it):
//   io_interop_tool write <checkpoint> <expected.json>   saves a checkpoint of a small trained network
//                                                         and lists its tensors' names, dtypes, shapes
//                                                         and values as JSON
//   io_interop_tool dump <file.safetensors>               prints a file's tensors and metadata as JSON
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>

#include "netgrow/io/checkpoint.hpp"
#include "netgrow/layers/activation.hpp"
#include "netgrow/layers/dense.hpp"
#include "netgrow/network/loss.hpp"

using namespace netgrow;
using nlohmann::json;

namespace {

template <class T>
json numbers(const io::SafeTensor& t) {
  json out = json::array();
  for (const T v : t.values<T>()) out.push_back(v);
  return out;
}

json values_of(const io::SafeTensor& t) {
  switch (t.dtype) {
    case io::Dtype::BOOL:
      return numbers<bool>(t);
    case io::Dtype::U8:
      return numbers<std::uint8_t>(t);
    case io::Dtype::I8:
      return numbers<std::int8_t>(t);
    case io::Dtype::I16:
      return numbers<std::int16_t>(t);
    case io::Dtype::U16:
      return numbers<std::uint16_t>(t);
    case io::Dtype::I32:
      return numbers<std::int32_t>(t);
    case io::Dtype::U32:
      return numbers<std::uint32_t>(t);
    case io::Dtype::I64:
      return numbers<std::int64_t>(t);
    case io::Dtype::U64:
      return numbers<std::uint64_t>(t);
    case io::Dtype::F32:
      return numbers<float>(t);
    case io::Dtype::F64:
      return numbers<double>(t);
    default: {  // no C++ type: the raw bytes in hexadecimal
      std::ostringstream hex;
      for (const std::byte b : t.data) hex << std::hex << std::setw(2) << std::setfill('0') << static_cast<int>(b);
      return hex.str();
    }
  }
}

json describe(const io::Safetensors& st) {
  json tensors = json::object();
  for (const auto& [name, t] : st.tensors)
    tensors[name] = {{"dtype", std::string(io::dtype_name(t.dtype))}, {"shape", t.shape}, {"values", values_of(t)}};
  return {{"tensors", tensors}, {"metadata", st.metadata}};
}

// A Dense(3 -> 4) Relu1 Dense(4 -> 2) network after two SGD steps with momentum (so it has optimizer
// state), with a per-element learning-rate scale on its last bias.
int write(const std::string& checkpoint, const std::string& expected) {
  Rng rng(3);
  auto net = make_sequential<float, Cpu>(rng, Dense{.in = 3, .out = 4}, Relu1{}, Dense{.in = 4, .out = 2});
  Tensor<float> x({5, 3}), grad;
  for (Index i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(rng.normal());
  Tensor<std::int32_t> y({5});
  for (Index i = 0; i < 5; ++i) y[i] = static_cast<std::int32_t>(i % 2);
  Sgd sgd(0.1, {.momentum = 0.9});
  for (int step = 0; step < 2; ++step) {
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, y, grad);
    net.backward(grad);
    sgd.step(net);
  }
  net.layer<2>().bias().lr_scale = Tensor<float>::from(Shape{2}, {0.5f, 2.0f});
  io::TrainingState state;
  state.optimizer(sgd).rng("init", rng).metadata("origin", "netgrow interop test");
  io::save_checkpoint(checkpoint, net, state);
  std::ofstream(expected) << describe(io::make_checkpoint(net, state)).dump(1) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "write" && argc == 4) return write(argv[2], argv[3]);
    if (mode == "dump" && argc == 3) {
      std::cout << describe(io::read_safetensors(argv[2])).dump(1) << "\n";
      return 0;
    }
    std::cerr << "usage: io_interop_tool write <checkpoint> <expected.json> | dump <file.safetensors>\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "io_interop_tool: " << e.what() << "\n";
    return 1;
  }
}
