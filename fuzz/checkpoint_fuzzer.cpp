// fuzz/checkpoint_fuzzer.cpp: libFuzzer target for checkpoint loading (netgrow/io/checkpoint.hpp), so
// that what the metadata says (architecture, settings, parameter records, input shape, checksum,
// TrainingState items) is fuzzed, not only the safetensors framing.
//
// Each input is parsed as a safetensors file in memory and restored into two fresh seed-width networks
// that have run one forward() (an MLP Dense-Relu1-Dense, and a CNN Conv2d-BatchNorm-Relu1-Flatten-Dense),
// with a TrainingState made of the items the file appears to hold (optimizer of the recorded kind, a
// generator, a counter, a sampler, a growth history), so that their staging is fuzzed as well.
// Contract checked:
//   - a load either succeeds or throws a netgrow::Error (any other exception is a finding);
//   - after an exception the network (every parameter's value, optimizer state, flags and stage tags,
//     and describe()) and the TrainingState's objects are bit-identical to before;
//   - after a successful load, forward() on an input of the recorded shape (batch at most 2) does not
//     throw, in train and eval mode; and the loaded network saves (make_checkpoint) and loads into
//     another fresh network bit for bit.
// A violation prints what happened and aborts, so libFuzzer reports the input.
//
// The seed corpus (fuzz/corpus/checkpoint/) holds checkpoints of the two networks grown with
// grow::grow_width (so their widths differ from the seed's) and trained a few steps, saved with and
// without a checksum, TrainingState items, stage tags and learning-rate factors, plus two files that
// must be refused (layers that do not fit; stage tags sized by an empty tensor), all written by this
// target's own code (checkpoint_seeds.cpp):  NETGROW_CHECKPOINT_SEEDS=fuzz/corpus/checkpoint BUILD/fuzz/checkpoint_fuzzer
#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "checkpoint_models.hpp"
#include "netgrow/io/checkpoint.hpp"
#include "netgrow/optim/adam.hpp"
#include "netgrow/optim/sgd.hpp"

namespace {

using namespace netgrow;
using netgrow_fuzz::cnn_input, netgrow_fuzz::make_cnn, netgrow_fuzz::make_mlp, netgrow_fuzz::mlp_input;

// NETGROW_CHECKPOINT_FUZZER_VERBOSE=1: print what each load did (to reproduce and inspect an input).
const bool verbose = std::getenv("NETGROW_CHECKPOINT_FUZZER_VERBOSE") != nullptr;

[[noreturn]] void finding(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "checkpoint_fuzzer: %s%s%s\n", what, detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}

// Everything a load may change about one parameter, bit for bit.
struct ParameterCopy {
  std::string name;
  Shape shape;
  std::vector<std::byte> value, lr_scale;
  std::vector<std::vector<std::byte>> state;
  std::vector<Shape> state_shapes;
  std::string owner;
  std::uint64_t lr_multiplier = 0;
  bool trainable = true, weight_decay = true;
  std::array<std::vector<std::int32_t>, 2> stage_tags;
  bool operator==(const ParameterCopy&) const = default;
};

std::vector<std::byte> bytes_of(const Tensor<float>& t) {
  std::vector<std::byte> b(static_cast<std::size_t>(t.numel()) * sizeof(float));
  if (!b.empty()) std::memcpy(b.data(), t.data(), b.size());
  return b;
}

template <class Net>
std::vector<ParameterCopy> snapshot(Net& net) {
  std::vector<ParameterCopy> out;
  net.visit_parameters([&](const std::string& name, Parameter<float, Cpu>& p) {
    ParameterCopy c;
    c.name = name;
    c.shape = p.value.shape();
    c.value = bytes_of(p.value);
    c.lr_scale = bytes_of(p.lr_scale);
    for (const auto& s : p.state) {
      c.state.push_back(bytes_of(s));
      c.state_shapes.push_back(s.shape());
    }
    c.owner = p.state_owner;
    c.lr_multiplier = std::bit_cast<std::uint64_t>(p.lr_multiplier);
    c.trainable = p.trainable;
    c.weight_decay = p.weight_decay;
    c.stage_tags = p.stage_tags;
    out.push_back(std::move(c));
  });
  return out;
}

// The TrainingState items a file appears to hold, as objects of the caller's (TrainingState points to
// them), with a fingerprint of their state to compare before and after a failed load.
struct Items {
  std::unique_ptr<Sgd> sgd;
  std::unique_ptr<Adam> adam;
  std::optional<Rng> rng;
  std::optional<std::int64_t> counter;
  std::optional<BatchSampler> sampler;
  std::optional<io::GrowthHistory> history;
  io::TrainingState state;

  explicit Items(const io::Safetensors& st) {
    const auto has = [&](const char* key) { return st.metadata.count(std::string("netgrow.") + key) != 0; };
    if (has("optimizer")) {
      const std::string& record = st.metadata.at("netgrow.optimizer");
      if (record.find("\"AdamW\"") != std::string::npos)
        adam = std::make_unique<AdamW>(0.01);
      else if (record.find("\"Adam\"") != std::string::npos)
        adam = std::make_unique<Adam>(0.01);
      else
        sgd = std::make_unique<Sgd>(0.1, SgdOptions{.momentum = 0.9});
      if (adam)
        state.optimizer(*adam);
      else
        state.optimizer(*sgd);
    }
    if (has("rngs")) state.rng("grow", rng.emplace(5));
    if (has("counters")) state.counter("step", counter.emplace(3));
    if (has("samplers")) state.sampler("train", sampler.emplace(10, 4, Rng(6)));
    if (has("growth_history")) state.history(history.emplace());
  }

  std::string fingerprint() const {
    std::string s;
    if (sgd) s += "sgd " + std::to_string(sgd->steps()) + ";";
    if (adam) s += "adam " + std::to_string(adam->steps()) + ";";
    if (rng) {
      s += "rng";
      for (const std::uint64_t w : rng->state()) s += " " + std::to_string(w);
      s += ";";
    }
    if (counter) s += "counter " + std::to_string(*counter) + ";";
    if (sampler) {
      const BatchSampler::State st = sampler->state();
      s += "sampler " + std::to_string(st.position) + " " + std::to_string(st.epoch) + " " +
           std::to_string(st.rng[0] ^ st.rng[1] ^ st.rng[2] ^ st.rng[3]);
      for (const Index i : st.order) s += " " + std::to_string(i);
      s += ";";
    }
    if (history) s += "history " + history->to_json().dump() + ";";
    return s;
  }
};

// Restores `st` into a fresh seed-width network of `make`'s type and checks the contract above.
template <class Make>
void check_load(const io::Safetensors& st, Make make, const Shape& live_input) {
  Rng rng(1);
  auto net = make(rng);
  const Tensor<float> x(live_input);
  net.forward(x);  // the network's own last input shape, which the load falls back on
  Items items(st);
  const auto before = snapshot(net);
  const std::string description = net.describe();
  const std::string items_before = items.fingerprint();
  io::CheckpointInfo info;
  try {
    info = io::restore_checkpoint(st, net, items.state);
  } catch (const Error& e) {
    if (verbose) std::fprintf(stderr, "refused: %s\n", e.what());
    if (snapshot(net) != before) finding("the network changed in a load that threw", e.what());
    if (net.describe() != description) finding("the network's layers changed in a load that threw", e.what());
    if (items.fingerprint() != items_before) finding("the TrainingState changed in a load that threw", e.what());
    return;
  }

  if (verbose) std::fprintf(stderr, "loaded:\n%s", net.describe().c_str());
  Shape input = info.input_shape.value_or(live_input);
  input[0] = std::min<Index>(input[0], 2);
  if (input.numel() > (Index{1} << 20)) finding("a successful load with an absurd input shape", input.str());
  const Tensor<float> in(input);
  try {
    net.forward(in, Mode::train);
    net.forward(in, Mode::eval);
  } catch (const Error& e) {
    finding("forward() threw after a successful load", std::string(e.what()) + "\nnetwork:\n" + net.describe());
  }

  // What loaded saves, and loads again bit for bit.
  io::Safetensors again;
  try {
    again = io::parse_safetensors(io::serialize_safetensors(io::make_checkpoint(net, items.state)));
  } catch (const Error& e) {
    finding("a loaded network does not save", e.what());
  }
  Rng rng2(2);
  auto copy = make(rng2);
  copy.forward(x);
  Items items2(again);
  try {
    io::restore_checkpoint(again, copy, items2.state);
  } catch (const Error& e) {
    finding("a loaded network's checkpoint does not load", e.what());
  }
  if (snapshot(copy) != snapshot(net) || copy.describe() != net.describe())
    finding("a loaded network's checkpoint loads differently");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("NETGROW_CHECKPOINT_SEEDS")) {
    netgrow_fuzz::write_checkpoint_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  io::Safetensors st;
  try {
    st = io::parse_safetensors(std::as_bytes(std::span<const std::uint8_t>(data, size)), "fuzzed.safetensors");
  } catch (const IoError&) {
    return 0;  // the safetensors fuzzer covers the framing
  }
  check_load(st, make_mlp, mlp_input);
  check_load(st, make_cnn, cnn_input);
  return 0;
}
