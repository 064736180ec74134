// Tests the whole-checkpoint checks of io/checkpoint.hpp: a file whose layers do not fit one another
// (layer 0 grown, layer 2 not), whose recorded settings contradict its tensors, whose optimizer state
// owners, scalar type or input shape are not values netgrow writes, or whose tensor bytes do not match
// its checksum is refused with the right exception and leaves the network and the TrainingState
// exactly as they were; files without a checksum or an input shape (written before these entries
// existed) still load, and everything netgrow writes loads back bit for bit.
#include <doctest/doctest.h>

#include "netgrow/io/checkpoint.hpp"

#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "io/io_support.hpp"
#include "netgrow/grow.hpp"
#include "netgrow/models/wide_resnet.hpp"
#include "netgrow/network/loss.hpp"

using namespace netgrow;

namespace checkpoint_validation {

auto seed_mlp(Rng& rng) {
  return make_sequential<float, Cpu>(rng, Dense{.in = 6, .out = 4}, Relu1{}, Dense{.in = 4, .out = 5}, Relu1{},
                                     Dense{.in = 5, .out = 3});
}
using Mlp = decltype(seed_mlp(std::declval<Rng&>()));

template <class Net, class Optimizer>
void train(Net& net, Optimizer& opt, const Tensor<float>& x, int steps) {
  const Tensor<std::int32_t> y = test::cyclic_labels(x.dim(0), 3);
  Tensor<float> grad;
  for (int i = 0; i < steps; ++i) {
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, y, grad);
    net.backward(grad);
    opt.step(net);
  }
}

// A seed-width MLP trained with Adam, its first hidden layer grown 4 -> 6, trained on.
struct Grown {
  Rng rng{21};
  Mlp net = seed_mlp(rng);
  Tensor<float> x = test::normal_tensor<float>(Shape{10, 6}, rng);
  Adam adam{0.01};
  Grown() {
    train(net, adam, x, 2);
    grow::grow_width<0, 2>(net, 2, grow::Random{.epsilon = 0.1}, rng);
    train(net, adam, x, 1);
  }
};

using test::expect_refused;

io::Safetensors with_checksum_recomputed(io::Safetensors st) {
  st.metadata["netgrow.checksum"] = io::checksum_hex(io::tensors_checksum(st));
  return st;
}

nlohmann::json json_of(const io::Safetensors& st, const std::string& key) {
  return nlohmann::json::parse(st.metadata.at(key));
}

// A checkpoint whose layer 0 has grown to 6 outputs while layer 2 still takes 4 inputs: layer 2's
// tensors, parameter records and architecture entry are those of the ungrown network. Every layer is
// valid on its own and its settings agree with its tensors; only the chain is broken. The checksum is
// recomputed, so nothing but the chain check can refuse it.
io::Safetensors non_chaining_checkpoint(Grown& grown) {
  Rng rng(22);
  Mlp ungrown = seed_mlp(rng);
  Adam adam(0.01);
  train(ungrown, adam, grown.x, 1);
  const io::Safetensors a = io::make_checkpoint(grown.net);
  const io::Safetensors b = io::make_checkpoint(ungrown);
  io::Safetensors st = a;
  for (const auto& [name, t] : b.tensors)
    if (name.starts_with("2.")) st.tensors[name] = t;
  auto records = json_of(st, "netgrow.parameters");
  const auto b_records = json_of(b, "netgrow.parameters");
  for (const char* name : {"2.weight", "2.bias"}) records[name] = b_records[name];
  st.metadata["netgrow.parameters"] = records.dump();
  auto architecture = json_of(st, "netgrow.architecture");
  architecture[2] = json_of(b, "netgrow.architecture")[2];
  st.metadata["netgrow.architecture"] = architecture.dump();
  REQUIRE(st.at("0.weight").shape == std::vector<std::int64_t>{6, 6});
  REQUIRE(st.at("2.weight").shape == std::vector<std::int64_t>{5, 4});
  return with_checksum_recomputed(std::move(st));
}

}  // namespace checkpoint_validation

using namespace checkpoint_validation;

TEST_CASE("layers that do not fit one another are a ShapeError naming the file and the layers; nothing changes") {
  Grown grown;
  io::Safetensors st = non_chaining_checkpoint(grown);
  st.source = "broken.safetensors";
  CHECK(json_of(st, "netgrow.input_shape") == nlohmann::json::parse("[10, 6]"));

  // The file's recorded input shape: refused whether or not the network has run.
  Rng rng(23);
  Mlp fresh = seed_mlp(rng);
  Rng grow_rng(7);
  std::int64_t step = 5;
  io::TrainingState state;
  state.rng("grow", grow_rng).counter("step", step);
  io::Safetensors with_state = st;
  state.save(with_state);
  with_state = with_checksum_recomputed(std::move(with_state));
  expect_refused<ShapeError>(
      fresh, [&] { io::restore_checkpoint(with_state, fresh, state); },
      {"broken.safetensors", "layer 2 (Dense(4 -> 5)) does not take the output of layer 1 (Relu1), of shape (10, 6)"});
  CHECK(grow_rng == Rng(7));
  CHECK(step == 5);

  // Without the entry, the network's own last input shape stands in.
  io::Safetensors old = st;
  old.metadata.erase("netgrow.input_shape");
  fresh.forward(grown.x);
  expect_refused<ShapeError>(fresh, [&] { io::restore_checkpoint(old, fresh); },
                             {"layer 2 (Dense(4 -> 5)) does not take the output of layer 1 (Relu1)", "(10, 6)"});

  // A first layer that refuses the recorded input shape is named with it.
  io::Safetensors wrong_input = st;
  wrong_input.metadata["netgrow.input_shape"] = "[10, 7]";
  expect_refused<ShapeError>(
      fresh, [&] { io::restore_checkpoint(wrong_input, fresh); },
      {"layer 0 (Dense(6 -> 6)) does not take the network's input, of shape (10, 7) (recorded in the checkpoint)"});

  // Neither a recorded nor a live input shape: the check is skipped (documented), and forward() finds it.
  Rng rng2(24);
  Mlp never_ran = seed_mlp(rng2);
  io::restore_checkpoint(old, never_ran);
  CHECK(never_ran.layer<0>().out_features() == 6);
  CHECK_THROWS_AS(never_ran.forward(grown.x), ShapeError);
}

TEST_CASE("a live input shape left by a forward() that threw is not used for the chain check") {
  Grown grown;
  io::Safetensors st = io::make_checkpoint(grown.net);
  st.metadata.erase("netgrow.input_shape");
  Rng rng(25);
  Mlp fresh = seed_mlp(rng);
  const Tensor<float> wrong(Shape{2, 9});
  CHECK_THROWS_AS(fresh.forward(wrong), ShapeError);
  io::restore_checkpoint(st, fresh);  // (2, 9) fits neither network: ignored
  CHECK(test::snapshot(fresh) == test::snapshot(grown.net));
  // Nor is it saved.
  CHECK_FALSE(io::make_checkpoint(fresh).metadata.contains("netgrow.input_shape"));
}

TEST_CASE("recorded widths that disagree with the tensors are an IoError naming the layer; nothing changes") {
  Grown grown;
  const io::Safetensors st = io::make_checkpoint(grown.net);
  Rng rng(26);
  Mlp fresh = seed_mlp(rng);
  auto edited = [&](int layer, const char* field, std::int64_t value) {
    io::Safetensors bad = st;
    auto architecture = json_of(bad, "netgrow.architecture");
    architecture[layer]["config"][field] = value;
    bad.metadata["netgrow.architecture"] = architecture.dump();
    return bad;
  };
  const io::Safetensors out5 = edited(0, "out", 5);
  expect_refused<IoError>(fresh, [&] { io::restore_checkpoint(out5, fresh); },
                          {"layer 0 (Dense(6 -> 4))", "\"out\":5", "disagree with its parameter shapes", "\"out\":6"});
  const io::Safetensors in4 = edited(2, "in", 4);  // the ungrown width
  expect_refused<IoError>(fresh, [&] { io::restore_checkpoint(in4, fresh); },
                          {"layer 2 (Dense(4 -> 5))", "\"in\":4", "\"in\":6"});
  // A setting that is not a field of the kind is no width of it either.
  io::Safetensors extra = st;
  auto architecture = json_of(extra, "netgrow.architecture");
  architecture[4]["config"]["dropout"] = 0.5;
  extra.metadata["netgrow.architecture"] = architecture.dump();
  expect_refused<IoError>(fresh, [&] { io::restore_checkpoint(extra, fresh); }, {"layer 4", "\"dropout\":0.5"});
}

TEST_CASE("a Stack block's recorded widths are compared with its tensors, block by block") {
  const models::WideResNetConfig config{.depth = 10, .width_multiplier = 0.5, .block_width = 0.25, .classes = 3};
  Rng rng(27);
  models::WideResNet<float, Cpu> model(config, rng);
  auto& stack = model.net().layer<1>();
  stack.insert(1, WideBlockLayer<false, float, Cpu>(WideBlock{.in = 8, .inner = 2, .out = 8}, rng));
  model.for_each_site([&](auto& site) { site.grow(2, grow::Random{}, rng); });
  const io::Safetensors st = io::make_checkpoint(model.net());
  REQUIRE(json_of(st, "netgrow.architecture")[1]["config"]["blocks"][1]["inner"] == 4);
  for (const bool same_depth : {false, true}) {
    CAPTURE(same_depth);
    models::WideResNet<float, Cpu> fresh(config, rng);
    if (same_depth)
      fresh.net().layer<1>().insert(1,
                                    WideBlockLayer<false, float, Cpu>(WideBlock{.in = 8, .inner = 2, .out = 8}, rng));
    io::Safetensors bad = st;
    auto architecture = json_of(bad, "netgrow.architecture");
    architecture[1]["config"]["blocks"][1]["inner"] = 3;
    bad.metadata["netgrow.architecture"] = architecture.dump();
    expect_refused<IoError>(fresh.net(), [&] { io::restore_checkpoint(bad, fresh.net()); },
                            {"layer 1 (Stack[", "block 1", "\"inner\":3", "\"inner\":4"});
    io::restore_checkpoint(st, fresh.net());  // the unedited file loads
    CHECK(test::snapshot(fresh.net()) == test::snapshot(model.net()));
  }
}

TEST_CASE("optimizer state owners and counts netgrow's optimizers never write are an IoError naming the parameter") {
  Grown grown;
  const io::Safetensors st = io::make_checkpoint(grown.net);
  CHECK(json_of(st, "netgrow.parameters")["0.weight"]["state_owner"] == "adam");
  Rng rng(28);
  Mlp fresh = seed_mlp(rng);
  auto with_record = [&](const std::string& owner, int states) {
    io::Safetensors bad = st;
    auto records = json_of(bad, "netgrow.parameters");
    records["2.bias"]["state_owner"] = owner;
    records["2.bias"]["states"] = states;
    bad.metadata["netgrow.parameters"] = records.dump();
    return bad;
  };
  expect_refused<IoError>(fresh, [&] { io::restore_checkpoint(with_record("rms prop!", 2), fresh); },
                          {"record of parameter '2.bias'", "'rms prop!' is not an optimizer's name"});
  expect_refused<IoError>(fresh, [&] { io::restore_checkpoint(with_record(std::string(65, 'a'), 2), fresh); },
                          {"'2.bias'", "is not an optimizer's name"});
  expect_refused<IoError>(fresh, [&] { io::restore_checkpoint(with_record("rmsprop", 0), fresh); },
                          {"'2.bias'", "owner 'rmsprop' with no state tensors"});
  expect_refused<IoError>(fresh, [&] { io::restore_checkpoint(with_record("adam", 1), fresh); },
                          {"'2.bias'", "owner 'adam'", "with 1 state tensors; it keeps 2"});
  expect_refused<IoError>(fresh, [&] { io::restore_checkpoint(with_record("sgd", 2), fresh); },
                          {"'2.bias'", "it keeps 0 or 1"});
  expect_refused<IoError>(fresh, [&] { io::restore_checkpoint(with_record("", 2), fresh); }, {"'2.bias'", "owner ''"});

  // Saving refuses what loading would refuse.
  grown.net.layer<4>().bias().state_owner = "custom optimizer";
  CHECK_THROWS_WITH_AS(io::make_checkpoint(grown.net), doctest::Contains("parameter '4.bias'"), ArgumentError);
}

TEST_CASE("an optimizer of the user's, with an owner name of its own, saves and loads its state") {
  Grown grown;
  for (const char* owner : {"rmsprop", "my_optimizer.v2"}) {
    CAPTURE(owner);
    auto& bias = grown.net.layer<4>().bias();
    bias.state_owner = owner;
    bias.state.clear();
    bias.state.emplace_back(bias.value.shape());
    bias.state[0].fill(0.25f);
    const io::Safetensors st = io::make_checkpoint(grown.net);
    Rng rng(31);
    Mlp fresh = seed_mlp(rng);
    io::restore_checkpoint(st, fresh);
    CHECK(fresh.layer<4>().bias().state_owner == owner);
    REQUIRE(fresh.layer<4>().bias().state.size() == 1);
    CHECK(fresh.layer<4>().bias().state[0][0] == 0.25f);
  }
}

TEST_CASE(
    "every state owner and count netgrow's optimizers write loads: none, Sgd without and with momentum, Adam, AdamW") {
  Rng rng(29);
  const Tensor<float> x = test::normal_tensor<float>(Shape{4, 6}, rng);
  auto round_trip = [&](auto&& optimizer, const char* owner, std::size_t states) {
    CAPTURE(owner);
    Mlp net = seed_mlp(rng);
    train(net, optimizer, x, 2);
    CHECK(net.layer<0>().weight().state_owner == owner);
    CHECK(net.layer<0>().weight().state.size() == states);
    Mlp fresh = seed_mlp(rng);
    io::restore_checkpoint(io::parse_safetensors(io::serialize_safetensors(io::make_checkpoint(net))), fresh);
    CHECK(test::snapshot(fresh) == test::snapshot(net));
  };
  round_trip(Sgd(0.1), "sgd", 0);
  round_trip(Sgd(0.1, {.momentum = 0.9}), "sgd", 1);
  round_trip(Adam(0.01), "adam", 2);
  round_trip(AdamW(0.01), "adam", 2);
  Mlp untrained = seed_mlp(rng);
  Mlp fresh = seed_mlp(rng);
  io::restore_checkpoint(io::make_checkpoint(untrained), fresh);
  CHECK(fresh.layer<0>().weight().state_owner.empty());
  CHECK(test::snapshot(fresh) == test::snapshot(untrained));
}

TEST_CASE("an unknown scalar name or a malformed input shape is an IoError; nothing changes") {
  Grown grown;
  const io::Safetensors st = io::make_checkpoint(grown.net);
  Rng rng(30);
  Mlp fresh = seed_mlp(rng);
  auto with = [&](const char* key, const std::string& value) {
    io::Safetensors bad = st;
    bad.metadata[key] = value;
    return bad;
  };
  expect_refused<IoError>(fresh, [&] { io::restore_checkpoint(with("netgrow.scalar", "F16"), fresh); },
                          {"'netgrow.scalar' is 'F16', neither F32 nor F64"});
  for (const char* shape : {"[]", "[0, 6]", "[10, -6]", "[1, 2, 3, 4, 5]", "[10.5, 6]", "{\"n\": 10}", "\"10x6\"",
                            "[1048576, 1048576, 2]"}) {
    CAPTURE(shape);
    expect_refused<IoError>(fresh, [&] { io::restore_checkpoint(with("netgrow.input_shape", shape), fresh); },
                            {"'netgrow.input_shape'"});
  }
  CHECK_THROWS_AS(io::checkpoint_info(with("netgrow.input_shape", "[0]")), IoError);
}

TEST_CASE("the checksum: recorded on save, a flipped tensor byte is refused, a malformed entry too") {
  Grown grown;
  const io::Safetensors st = io::make_checkpoint(grown.net);
  const std::string recorded = st.metadata.at("netgrow.checksum");
  CHECK(recorded.size() == 16);
  CHECK(io::parse_checksum_hex(recorded) == io::tensors_checksum(st));

  // One bit flipped in the file's bytes: the last byte of the data section, the top byte of the last
  // float of the last tensor in name order (4.weight.state.1, Adam's second moment).
  std::vector<std::byte> bytes = io::serialize_safetensors(st);
  bytes.back() ^= std::byte{0x04};
  io::Safetensors damaged = io::parse_safetensors(bytes, "damaged.safetensors");
  Rng rng(31);
  Mlp fresh = seed_mlp(rng);
  Rng grow_rng(3);
  io::TrainingState state;
  state.rng("grow", grow_rng);
  io::Safetensors damaged_with_state = damaged;
  damaged_with_state.metadata["netgrow.rngs"] = R"({"grow": [1, 2, 3, 4]})";
  expect_refused<IoError>(
      fresh, [&] { io::restore_checkpoint(damaged_with_state, fresh, state); },
      {"damaged.safetensors: checksum mismatch (the file records " + recorded, "the tensor data is damaged"});
  CHECK(grow_rng == Rng(3));

  // Without the entry the same damage goes unnoticed: the load succeeds with a changed value.
  io::Safetensors unchecked = damaged;
  unchecked.metadata.erase("netgrow.checksum");
  io::restore_checkpoint(unchecked, fresh);
  CHECK(test::snapshot(fresh) != test::snapshot(grown.net));

  Mlp other = seed_mlp(rng);
  for (const char* text : {"", "123", "0123456789abcdeg", "0123456789abcdef0", " 123456789abcdef"}) {
    CAPTURE(text);
    io::Safetensors bad = st;
    bad.metadata["netgrow.checksum"] = text;
    expect_refused<IoError>(other, [&] { io::restore_checkpoint(bad, other); },
                            {"'netgrow.checksum' is not 16 hexadecimal digits"});
  }
  // Upper-case digits are read too.
  io::Safetensors upper = st;
  for (char& c : upper.metadata["netgrow.checksum"]) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  io::restore_checkpoint(upper, other);
  CHECK(test::snapshot(other) == test::snapshot(grown.net));
}

TEST_CASE("files without a checksum or an input shape (written before these entries) still load bit for bit") {
  Grown grown;
  test::TempDir dir;
  io::Safetensors st = io::make_checkpoint(grown.net);
  st.metadata.erase("netgrow.checksum");
  st.metadata.erase("netgrow.input_shape");
  io::write_safetensors(dir / "old.safetensors", st);
  for (const bool ran : {false, true}) {
    CAPTURE(ran);
    Rng rng(32);
    Mlp fresh = seed_mlp(rng);
    if (ran) fresh.forward(grown.x);
    const io::CheckpointInfo info = io::load_checkpoint(dir / "old.safetensors", fresh);
    CHECK_FALSE(info.input_shape.has_value());
    CHECK(test::snapshot(fresh) == test::snapshot(grown.net));
    CHECK(fresh.describe() == grown.net.describe());
  }
}

TEST_CASE("what netgrow writes loads bit for bit, with the input shape and checksum it recorded") {
  Grown grown;
  test::TempDir dir;
  io::save_checkpoint(dir / "grown.safetensors", grown.net);
  const io::Safetensors st = io::read_safetensors(dir / "grown.safetensors");
  CHECK(st.metadata.at("netgrow.input_shape") == "[10,6]");
  Rng rng(33);
  Mlp fresh = seed_mlp(rng);
  const io::CheckpointInfo info = io::load_checkpoint(dir / "grown.safetensors", fresh);
  REQUIRE(info.input_shape.has_value());
  CHECK(*info.input_shape == Shape{10, 6});
  CHECK(test::snapshot(fresh) == test::snapshot(grown.net));
  Tensor<float> a, b;
  a.copy_from(grown.net.forward(grown.x, Mode::eval));
  b.copy_from(fresh.forward(grown.x, Mode::eval));
  CHECK(test::bytes_of(a) == test::bytes_of(b));

  // A network that never ran records no input shape.
  Mlp untrained = seed_mlp(rng);
  CHECK_FALSE(io::make_checkpoint(untrained).metadata.contains("netgrow.input_shape"));
  CHECK_FALSE(io::checkpoint_info(io::make_checkpoint(untrained)).input_shape.has_value());
}

TEST_CASE("the dimensions of an empty tensor vouch for nothing: stage tags sized by them are refused, not built") {
  Grown grown;
  io::Safetensors st = io::make_checkpoint(grown.net);
  const std::int64_t huge = std::int64_t{1} << 40;
  st.tensors["zzz"] = io::SafeTensor{io::Dtype::F32, {0, huge}, {}};  // no bytes, a dimension of 2^40
  auto records = json_of(st, "netgrow.parameters");
  records["0.weight"]["stage_tags"] =
      nlohmann::json::array({nlohmann::json::array({{0, huge}}), nlohmann::json::array()});
  st.metadata["netgrow.parameters"] = records.dump();
  st = with_checksum_recomputed(std::move(st));
  Rng rng(34);
  Mlp fresh = seed_mlp(rng);
  // Before, the 2^40 tags were allocated (std::bad_alloc, or a sanitizer abort in the fuzzer).
  expect_refused<IoError>(fresh, [&] { io::restore_checkpoint(st, fresh); },
                          {"record of parameter '0.weight'", "is out of range"});
  // Nor may a parameter's tags outnumber its own tensor's largest dimension (6 x 6 here), whatever
  // other tensors the file holds.
  records["0.weight"]["stage_tags"] = nlohmann::json::parse("[[[0, 7]], []]");
  st.metadata["netgrow.parameters"] = records.dump();
  expect_refused<IoError>(fresh, [&] { io::restore_checkpoint(st, fresh); }, {"'0.weight'", "[0, 7] is out of range"});
}
