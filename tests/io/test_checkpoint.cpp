// Tests io/checkpoint.hpp: grown networks (an MLP, a small CNN with BatchNorm, a Wide-ResNet whose
// stack got a block, an MLP with a LayerNorm grown by average expansion) saved and loaded into networks
// built at seed width come back bit for bit and compute the same outputs; the checkpoint's names and metadata; and every class of bad input
// (malformed file, another scalar type, shapes, architecture, missing state) raises the right
// exception and leaves the network exactly as it was.
#include <doctest/doctest.h>

#include "netgrow/io/checkpoint.hpp"

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "io/io_support.hpp"
#include "netgrow/grow.hpp"
#include "netgrow/layers/layer_norm.hpp"
#include "netgrow/models/mlp.hpp"
#include "netgrow/models/small_cnn.hpp"
#include "netgrow/models/wide_resnet.hpp"
#include "netgrow/network/loss.hpp"

using namespace netgrow;

namespace {

// A layer kind of the user's with no io::KindConfig: loading it relies on parameter shapes alone.
// y = x * w per feature.
template <class S, class D>
class ScaleLayer;

struct Scale {
  static constexpr std::string_view name = "Scale";
  Index features = 0;
  template <class S, class D>
  using layer_type = ScaleLayer<S, D>;
};

template <class S, class D>
class ScaleLayer {
 public:
  using scalar_type = S;
  using device_type = D;
  using kind_type = Scale;

  ScaleLayer(const Scale& k, Rng&) : w_(Shape{k.features}) { w_.value.fill(S(1)); }
  Shape output_shape(const Shape& in) const {
    require<ShapeError>(in.rank() == 2 && in[1] == w_.value.numel(), describe(), " got input ", in);
    return in;
  }
  void forward(ConstView<S, D> x, TensorView<S, D> y, Mode) {
    for (Index i = 0; i < x.numel(); ++i) y[i] = x[i] * w_.value[i % w_.value.numel()];
  }
  void backward(ConstView<S, D> x, ConstView<S, D>, ConstView<S, D> dy, TensorView<S, D> dx, bool accumulate) {
    if (!accumulate) w_.grad.fill_zero();
    for (Index i = 0; i < x.numel(); ++i) {
      w_.grad[i % w_.value.numel()] += dy[i] * x[i];
      if (!dx.empty()) dx[i] = dy[i] * w_.value[i % w_.value.numel()];
    }
  }
  template <class F>
  void visit_parameters(F&& f) {
    f(std::string_view("weight"), w_);
  }
  double forward_flops(const Shape& in) const { return static_cast<double>(in.numel()); }
  Scale kind() const { return {w_.value.numel()}; }
  std::string describe() const { return "Scale(" + std::to_string(w_.value.numel()) + ")"; }
  Parameter<S, D>& weight() { return w_; }

 private:
  Parameter<S, D> w_;
};

static_assert(Layer<ScaleLayer<float, Cpu>> && LayerKind<Scale> && !io::RecordedKind<Scale>);

const models::MlpConfig mlp_seed{.in = 6, .hidden1 = 16, .hidden2 = 12, .out = 3, .width_multiplier = 0.25};
const models::SmallCnnConfig cnn_seed{
    .in_channels = 1, .image = 8, .c1 = 8, .c2 = 8, .fc = 8, .classes = 3, .width_multiplier = 0.25};

// A few training steps, then the model's two growths (Random, then GradMax on the batch), with
// training in between: afterwards weights, optimizer state and BatchNorm statistics are all non-trivial.
template <class Model>
void grow_and_train(Model& model, Model& target, const Tensor<float>& x, const Tensor<std::int32_t>& y, Rng& rng) {
  auto& net = model.net();
  Adam adam(0.01);
  Tensor<float> grad;
  auto refresh = [&] {
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, y, grad);
    net.backward(grad);
  };
  auto train = [&](int steps) {
    for (int i = 0; i < steps; ++i) {
      refresh();
      adam.step(net);
    }
  };
  const models::GrowthPlan plan = models::plan_growth(model, target, 2);
  train(3);
  models::grow_all_sites(model, plan, 0, grow::Random{}, rng);
  train(2);
  models::grow_all_sites(model, plan, 1, grow::GradMax{}, rng, refresh);
  train(2);
}

template <class Net>
Tensor<float> output(Net& net, const Tensor<float>& x, Mode mode) {
  Tensor<float> out;
  out.copy_from(net.forward(x, mode));
  return out;
}

template <class Net>
void check_same_function(Net& a, Net& b, const Tensor<float>& x) {
  CHECK(test::bytes_of(output(a, x, Mode::eval)) == test::bytes_of(output(b, x, Mode::eval)));
  CHECK(test::bytes_of(output(a, x, Mode::train)) == test::bytes_of(output(b, x, Mode::train)));
}

// `st` with its checksum recomputed: a file whose tensors were edited on purpose (one removed, replaced
// or added) and which the checksum therefore does not refuse, so that the check under test is reached.
io::Safetensors resealed(io::Safetensors st) {
  st.metadata["netgrow.checksum"] = io::checksum_hex(io::tensors_checksum(st));
  return st;
}

// `load` throws Exception with `needle` in its message, and `net` is exactly as before.
template <class Exception, class Net, class Load>
void check_rejected(Net& net, Load&& load, const std::string& needle) {
  test::expect_refused<Exception>(net, std::forward<Load>(load), {needle});
}

struct GrownMlp {
  Rng rng{11};
  models::Mlp<float, Cpu> model{mlp_seed, rng};
  Tensor<float> x;
  Tensor<std::int32_t> y = test::cyclic_labels(10, 3);
  GrownMlp() {
    x = test::normal_tensor<float>(Shape{10, 6}, rng);
    Rng target_rng(0);
    models::MlpConfig full = mlp_seed;
    full.width_multiplier = 1;
    models::Mlp<float, Cpu> target(full, target_rng);
    grow_and_train(model, target, x, y, rng);
  }
};

}  // namespace

TEST_CASE("a grown MLP loads into a seed-width MLP: same parameters, optimizer state and outputs") {
  GrownMlp grown;
  auto& net = grown.model.net();
  CHECK(net.layer<0>().out_features() == 16);
  CHECK(net.layer<2>().out_features() == 12);
  test::TempDir dir;
  io::save_checkpoint(dir / "mlp.safetensors", net);
  CHECK(dir.entries() == std::vector<std::string>{"mlp.safetensors"});

  Rng other(99);
  models::Mlp<float, Cpu> fresh(mlp_seed, other);
  CHECK(fresh.net().layer<0>().out_features() == 4);
  const io::CheckpointInfo info = io::load_checkpoint(dir / "mlp.safetensors", fresh.net());
  CHECK(info.format_version == 1);
  CHECK(info.scalar == "F32");
  CHECK(info.network == net.describe());
  CHECK(fresh.net().describe() == net.describe());
  CHECK(test::snapshot(fresh.net()) == test::snapshot(net));
  CHECK(fresh.net().layer<0>().weight().state_owner == "adam");
  CHECK(fresh.net().layer<0>().weight().state.size() == 2);
  check_same_function(net, fresh.net(), grown.x);
  // It trains on: gradients have the grown shapes.
  fresh.net().forward(grown.x);
  CHECK(fresh.net().layer<2>().weight().grad.shape() == Shape{12, 16});
}

TEST_CASE("a grown small CNN with BatchNorm loads into a seed-width one: BatchNorm statistics included") {
  Rng rng(12);
  models::SmallCnn<float, Cpu, true> model(cnn_seed, rng);
  models::SmallCnnConfig full = cnn_seed;
  full.width_multiplier = 1;
  Rng target_rng(0);
  models::SmallCnn<float, Cpu, true> target(full, target_rng);
  const Tensor<float> x = test::normal_tensor<float>(Shape{6, 1, 8, 8}, rng);
  grow_and_train(model, target, x, test::cyclic_labels(6, 3), rng);
  auto& net = model.net();
  CHECK(net.layer<1>().channels() == 8);  // the first BatchNorm grew with its convolution

  const io::Safetensors st = io::make_checkpoint(net);
  CHECK(st.contains("1.running_mean"));
  CHECK(st.contains("1.running_var"));
  Rng other(5);
  models::SmallCnn<float, Cpu, true> fresh(cnn_seed, other);
  io::restore_checkpoint(io::parse_safetensors(io::serialize_safetensors(st)), fresh.net());
  CHECK(test::snapshot(fresh.net()) == test::snapshot(net));
  CHECK(fresh.net().describe() == net.describe());
  check_same_function(net, fresh.net(), x);
}

TEST_CASE("a Wide-ResNet whose stack got a block and whose blocks grew restores its depth and widths") {
  const models::WideResNetConfig config{.depth = 10, .width_multiplier = 0.5, .block_width = 0.25, .classes = 3};
  Rng rng(13);
  models::WideResNet<float, Cpu> model(config, rng);
  auto& net = model.net();
  auto& stack = net.layer<1>();
  REQUIRE(stack.size() == 1);
  stack.insert(1, WideBlockLayer<false, float, Cpu>(WideBlock{.in = 8, .inner = 2, .out = 8}, rng));
  model.for_each_site([&](auto& site) { site.grow(2, grow::Random{}, rng); });
  const Tensor<float> x = test::normal_tensor<float>(Shape{2, 3, 8, 8}, rng);
  const Tensor<std::int32_t> y = test::cyclic_labels(2, 3);
  Sgd sgd(0.01, {.momentum = 0.9});
  Tensor<float> grad;
  for (int i = 0; i < 2; ++i) {
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, y, grad);
    net.backward(grad);
    sgd.step(net);
  }

  const io::Safetensors st = io::make_checkpoint(net);
  const auto architecture = nlohmann::json::parse(st.metadata.at("netgrow.architecture"));
  CHECK(architecture[1]["kind"] == "Stack");
  CHECK(architecture[1]["block_kind"] == "WideBlock");
  CHECK(architecture[1]["depth"] == 2);
  CHECK(st.contains("1.1.branch.0.weight"));

  Rng other(6);
  models::WideResNet<float, Cpu> fresh(config, other);
  io::restore_checkpoint(st, fresh.net());
  CHECK(fresh.net().layer<1>().size() == 2);
  CHECK(fresh.net().layer<1>().block(1).inner_channels() == 4);
  CHECK(fresh.net().layer<1>().block(0).stride() == 1);
  CHECK(fresh.net().layer<2>().block(0).stride() == 2);
  CHECK(fresh.net().describe() == net.describe());
  CHECK(test::snapshot(fresh.net()) == test::snapshot(net));
  check_same_function(net, fresh.net(), x);
  std::size_t sites = 0;
  fresh.for_each_site([&](auto&) { ++sites; });
  CHECK(sites == 4);

  // Block settings come from the file when the depth differs: absurd ones are refused before use.
  io::Safetensors absurd = st;
  auto arch = nlohmann::json::parse(absurd.metadata["netgrow.architecture"]);
  arch[1]["config"]["blocks"][1]["inner"] = std::uint64_t{1} << 40;
  absurd.metadata["netgrow.architecture"] = arch.dump();
  models::WideResNet<float, Cpu> seed(config, other);
  check_rejected<IoError>(
      seed.net(), [&] { io::restore_checkpoint(absurd, seed.net()); },
      "block setting 'inner' = 1099511627776 exceeds every dimension");
  arch[1]["config"]["blocks"].erase(1);
  absurd.metadata["netgrow.architecture"] = arch.dump();
  check_rejected<IoError>(
      seed.net(), [&] { io::restore_checkpoint(absurd, seed.net()); }, "do not list 2 blocks");
}

namespace {

auto layer_norm_mlp(Rng& rng) {
  return make_sequential<float, Cpu>(rng, Dense{.in = 3, .out = 4}, LayerNorm{.features = 4}, Relu1{},
                                     Dense{.in = 4, .out = 2});
}

template <class Net>
void adam_steps(Net& net, Adam& adam, const Tensor<float>& x, const Tensor<std::int32_t>& y, int steps) {
  Tensor<float> grad;
  for (int i = 0; i < steps; ++i) {
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, y, grad);
    net.backward(grad);
    adam.step(net);
  }
}

}  // namespace

TEST_CASE("a LayerNorm grown by average expansion loads into a seed-width network: eps comes from the file") {
  Rng rng(15);
  auto net = layer_norm_mlp(rng);
  const Tensor<float> x = test::normal_tensor<float>(Shape{5, 3}, rng);
  const Tensor<std::int32_t> y = test::cyclic_labels(5, 2);
  Adam adam(0.01);
  adam_steps(net, adam, x, y, 2);
  // LEMON's average expansion of the hidden width, 4 -> 7: three producer neurons equal to the mean of
  // the four (mean incoming rows and bias), three average features in the LayerNorm (which output 0, so
  // the consumer's new outgoing weights may be anything).
  auto& producer = net.layer<0>();
  Tensor<float> incoming({3, 3}), bias({3}), outgoing({3, 2});
  for (Index k = 0; k < 3; ++k) {
    for (Index i = 0; i < 3; ++i) {
      float mean = 0;
      for (Index j = 0; j < 4; ++j) mean += producer.weight().value.at(j, i) / 4;
      incoming.at(k, i) = mean;
    }
    bias[k] = (producer.bias().value[0] + producer.bias().value[1] + producer.bias().value[2] +
               producer.bias().value[3]) / 4;
  }
  fill_normal(outgoing.view(), 0.0, 0.5, rng);
  producer.grow_outputs(incoming, bias);
  net.layer<1>().grow_channels_from(std::vector<Index>{average_source, average_source, average_source});
  net.layer<3>().grow_inputs(outgoing);
  CHECK(net.layer<1>().eps() == doctest::Approx(4.0 / 7.0 * 1e-5));
  adam_steps(net, adam, x, y, 1);

  const io::Safetensors st = io::make_checkpoint(net);
  const auto architecture = nlohmann::json::parse(st.metadata.at("netgrow.architecture"));
  CHECK(architecture[1]["kind"] == "LayerNorm");
  CHECK(architecture[1]["config"]["features"] == 7);
  CHECK(architecture[1]["config"]["eps"].get<double>() == net.layer<1>().eps());
  Rng other(16);
  auto fresh = layer_norm_mlp(other);
  io::restore_checkpoint(io::parse_safetensors(io::serialize_safetensors(st)), fresh);
  CHECK(fresh.layer<1>().features() == 7);
  CHECK(fresh.layer<1>().eps() == net.layer<1>().eps());
  CHECK(fresh.describe() == net.describe());
  CHECK(test::snapshot(fresh) == test::snapshot(net));
  check_same_function(net, fresh, x);
  Adam fresh_adam(0.01);
  adam_steps(fresh, fresh_adam, x, y, 1);  // trains on at the grown widths
  CHECK(fresh.layer<1>().gamma().grad.shape() == Shape{7});

  // eps is a setting the file must hold for a LayerNorm: without it the load fails, the network unchanged.
  io::Safetensors bad = st;
  auto arch = nlohmann::json::parse(bad.metadata["netgrow.architecture"]);
  arch[1]["config"].erase("eps");
  bad.metadata["netgrow.architecture"] = arch.dump();
  auto seed = layer_norm_mlp(other);
  check_rejected<IoError>(seed, [&] { io::restore_checkpoint(bad, seed); }, "LayerNorm: field 'eps' is missing");
}

TEST_CASE("a checkpoint loads into a network of any width, also a wider one; kinds without KindConfig by shape") {
  Rng rng(14);
  auto wide =
      make_sequential<float, Cpu>(rng, Dense{.in = 3, .out = 7}, Scale{.features = 7}, Dense{.in = 7, .out = 2});
  wide.layer<1>().weight().value.fill(0.5f);
  wide.layer<1>().weight().lr_multiplier = 0.25;
  wide.layer<1>().weight().lr_scale = Tensor<float>(Shape{7});
  wide.layer<1>().weight().trainable = false;
  auto narrow =
      make_sequential<float, Cpu>(rng, Dense{.in = 3, .out = 4}, Scale{.features = 4}, Dense{.in = 4, .out = 2});
  auto wider =
      make_sequential<float, Cpu>(rng, Dense{.in = 3, .out = 9}, Scale{.features = 9}, Dense{.in = 9, .out = 2});
  const io::Safetensors st = io::make_checkpoint(wide);
  io::restore_checkpoint(st, narrow);
  io::restore_checkpoint(st, wider);
  CHECK(test::snapshot(narrow) == test::snapshot(wide));
  CHECK(test::snapshot(wider) == test::snapshot(wide));
  CHECK(narrow.layer<1>().weight().lr_multiplier == 0.25);
  CHECK_FALSE(narrow.layer<1>().weight().trainable);
  const Tensor<float> x = test::normal_tensor<float>(Shape{4, 3}, rng);
  check_same_function(wide, narrow, x);
}

TEST_CASE("names and metadata: PyTorch-style parameter names, optimizer state, architecture, user metadata") {
  GrownMlp grown;
  io::TrainingState state;
  state.metadata("experiment", "mlp-resume");
  const io::Safetensors st = io::make_checkpoint(grown.model.net(), state);
  for (const char* name : {"0.weight", "0.bias", "0.weight.state.0", "0.weight.state.1", "2.weight", "4.bias.state.1"})
    CHECK_MESSAGE(st.contains(name), name);
  CHECK(st.at("0.weight").shape == std::vector<std::int64_t>{16, 6});
  CHECK(st.at("0.weight").dtype == io::Dtype::F32);
  CHECK(st.metadata.at("netgrow.format_version") == "1");
  CHECK(st.metadata.at("netgrow.scalar") == "F32");
  CHECK(st.metadata.at("experiment") == "mlp-resume");
  const auto architecture = nlohmann::json::parse(st.metadata.at("netgrow.architecture"));
  REQUIRE(architecture.size() == 5);
  CHECK(architecture[0]["kind"] == "Dense");
  CHECK(architecture[0]["config"]["out"] == 16);
  CHECK(architecture[1]["kind"] == "Relu1");
  CHECK(architecture[2]["describe"] == "Dense(16 -> 12)");
  const auto records = nlohmann::json::parse(st.metadata.at("netgrow.parameters"));
  CHECK(records["0.weight"]["state_owner"] == "adam");
  CHECK(records["0.weight"]["states"] == 2);
  CHECK(records["0.bias"]["weight_decay"] == false);
  const io::CheckpointInfo info = io::checkpoint_info(st);
  CHECK(info.metadata == std::map<std::string, std::string>{{"experiment", "mlp-resume"}});
  CHECK(info.optimizer.empty());
}

TEST_CASE("malformed files raise IoError and leave the network unchanged") {
  GrownMlp grown;
  test::TempDir dir;
  const auto path = dir / "mlp.safetensors";
  io::save_checkpoint(path, grown.model.net());
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto write = [&](std::vector<char> bytes) {
    std::ofstream out(dir / "bad.safetensors", std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  };
  Rng rng(1);
  models::Mlp<float, Cpu> fresh(mlp_seed, rng);
  auto& net = fresh.net();
  auto load_bad = [&] { io::load_checkpoint(dir / "bad.safetensors", net); };

  write(std::vector<char>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2)));
  check_rejected<IoError>(net, load_bad, "bad.safetensors");
  write(std::vector<char>(good.begin(), good.begin() + 5));
  check_rejected<IoError>(net, load_bad, "shorter than the 8-byte header length");
  std::vector<char> bytes = good;
  bytes[5] = 0x7f;  // header length ~2^47
  write(bytes);
  check_rejected<IoError>(net, load_bad, "exceeds the limit");
  bytes = good;
  bytes[8] = '[';  // the JSON header's opening brace
  write(bytes);
  check_rejected<IoError>(net, load_bad, "does not start with '{'");
  bytes = good;
  const std::string text(good.begin(), good.end());
  bytes[text.find("\"dtype\":\"F32\"") + 9] = 'Q';
  write(bytes);
  check_rejected<IoError>(net, load_bad, "unknown dtype 'Q32'");
  check_rejected<IoError>(
      net, [&] { io::load_checkpoint(dir / "missing.safetensors", net); }, "missing.safetensors");

  // Well-formed safetensors, bad netgrow content.
  io::Safetensors st = io::read_safetensors(path);
  st.source = "ckpt";
  auto restore = [&](const io::Safetensors& s) { return [&net, s] { io::restore_checkpoint(s, net); }; };
  io::Safetensors bad = st;
  bad.metadata["netgrow.architecture"] = "[{\"kind\": \"Dense\"";
  check_rejected<IoError>(net, restore(bad), "'netgrow.architecture' is not valid JSON");
  bad = st;
  bad.metadata.erase("netgrow.format_version");
  check_rejected<IoError>(net, restore(bad), "not a netgrow checkpoint");
  bad = st;
  bad.metadata["netgrow.format_version"] = "2";
  check_rejected<IoError>(net, restore(bad), "format version '2'");
  bad = st;
  bad.metadata["netgrow.parameters"] = R"({"0.weight": {"states": 2}})";
  check_rejected<IoError>(net, restore(bad), "record of parameter '0.weight'");
  bad = st;
  bad.tensors.erase("2.weight");
  check_rejected<IoError>(net, restore(resealed(bad)), "no tensor named '2.weight'");
  bad = st;
  bad.tensors.erase("0.weight.state.1");
  check_rejected<IoError>(net, restore(resealed(bad)), "'0.weight.state.1'");
  bad = st;
  auto arch = nlohmann::json::parse(bad.metadata["netgrow.architecture"]);
  arch[0].erase("kind");
  bad.metadata["netgrow.architecture"] = arch.dump();
  check_rejected<IoError>(net, restore(bad), "field 'kind' is missing");
  check_rejected<IoError>(net, restore(io::Safetensors{}), "no metadata 'netgrow.format_version'");
}

TEST_CASE("another scalar type is an ArchitectureError; the network is unchanged") {
  Rng rng(2);
  models::Mlp<double, Cpu> dbl(mlp_seed, rng);
  const io::Safetensors st = io::make_checkpoint(dbl.net());
  CHECK(st.at("0.weight").dtype == io::Dtype::F64);
  models::Mlp<float, Cpu> flt(mlp_seed, rng);
  check_rejected<ArchitectureError>(
      flt.net(), [&] { io::restore_checkpoint(st, flt.net()); },
      "the checkpoint holds F64 parameters, but the network's scalar type is F32");
  // One tensor of the wrong type in an otherwise float file.
  io::Safetensors mixed = io::make_checkpoint(flt.net());
  mixed.tensors["2.bias"] = st.at("2.bias");
  check_rejected<ArchitectureError>(
      flt.net(), [&] { io::restore_checkpoint(resealed(mixed), flt.net()); }, "tensor '2.bias' holds F64");
}

TEST_CASE("shapes that fit no layer are a ShapeError naming the layer and tensor; the network is unchanged") {
  GrownMlp grown;
  const io::Safetensors st = io::make_checkpoint(grown.model.net());
  Rng rng(3);
  models::Mlp<float, Cpu> fresh(mlp_seed, rng);
  auto& net = fresh.net();
  auto restore = [&](const io::Safetensors& s) { return [&net, s] { io::restore_checkpoint(s, net); }; };
  auto with_tensor = [&](const std::string& name, std::vector<std::int64_t> shape) {
    io::Safetensors s = st;
    const std::int64_t n = io::SafeTensor{io::Dtype::F32, shape, {}}.numel();
    s.tensors[name] = io::SafeTensor::from_values<float>(shape, std::vector<float>(static_cast<std::size_t>(n), 0.5f));
    return resealed(s);
  };
  check_rejected<ShapeError>(net, restore(with_tensor("0.bias", {17})),
                             "layer 0 (Dense(6 -> 4)): tensor '0.bias' has shape [17]");
  check_rejected<ShapeError>(net, restore(with_tensor("0.weight", {16, 7})), "first layer takes 7 inputs, this one 6");
  check_rejected<ShapeError>(net, restore(with_tensor("4.bias", {4})), "tensor '4.bias' has shape [4]");
  io::Safetensors more_classes = with_tensor("4.weight", {4, 12});
  more_classes.tensors["4.bias"] = io::SafeTensor::from_values<float>({4}, std::vector<float>(4, 0.f));
  check_rejected<ShapeError>(net, restore(resealed(more_classes)), "last layer gives 4 outputs, this one 3");
  check_rejected<ShapeError>(net, restore(with_tensor("0.weight", {16, 6, 1})), "has rank 2");
  check_rejected<ShapeError>(net, restore(with_tensor("0.weight", {0, 6})), "empty dimension");
  check_rejected<ShapeError>(net, restore(with_tensor("2.weight.state.0", {12, 15})), "tensor '2.weight.state.0'");

  // A convolution kernel of another size, in a file without settings (shapes are then the only check).
  Rng r1(4), r2(4);
  auto k3 = make_sequential<float, Cpu>(r1, Conv2d{.in = 1, .out = 2, .kernel = 3}, Relu1{});
  auto k5 = make_sequential<float, Cpu>(r2, Conv2d{.in = 1, .out = 2, .kernel = 5}, Relu1{});
  io::Safetensors conv = io::make_checkpoint(k5);
  auto arch = nlohmann::json::parse(conv.metadata["netgrow.architecture"]);
  arch[0].erase("config");
  conv.metadata["netgrow.architecture"] = arch.dump();
  check_rejected<ShapeError>(
      k3, [&] { io::restore_checkpoint(conv, k3); }, "has shape [2, 1, 5, 5]");
}

TEST_CASE("another architecture is an ArchitectureError naming the layer; the network is unchanged") {
  GrownMlp grown;
  const io::Safetensors st = io::make_checkpoint(grown.model.net());
  Rng rng(4);
  auto shorter = make_sequential<float, Cpu>(rng, Dense{.in = 6, .out = 4}, Relu1{}, Dense{.in = 4, .out = 3});
  check_rejected<ArchitectureError>(
      shorter, [&] { io::restore_checkpoint(st, shorter); }, "the checkpoint's network has 5 layers, this one 3");
  auto relu = make_sequential<float, Cpu>(rng, Dense{.in = 6, .out = 4}, Relu{}, Dense{.in = 4, .out = 3}, Relu1{},
                                          Dense{.in = 3, .out = 3});
  check_rejected<ArchitectureError>(
      relu, [&] { io::restore_checkpoint(st, relu); }, "layer 1 (Relu) is a Relu1");
  auto no_bias = make_sequential<float, Cpu>(rng, Dense{.in = 6, .out = 4, .bias = false}, Relu1{},
                                             Dense{.in = 4, .out = 3}, Relu1{}, Dense{.in = 3, .out = 3});
  check_rejected<ArchitectureError>(
      no_bias, [&] { io::restore_checkpoint(st, no_bias); }, "layer 0 (Dense(6 -> 4, no bias)): settings");
  // Without settings in the file, the parameter names tell.
  io::Safetensors bare = st;
  auto arch = nlohmann::json::parse(bare.metadata["netgrow.architecture"]);
  arch[0].erase("config");
  bare.metadata["netgrow.architecture"] = arch.dump();
  check_rejected<ArchitectureError>(
      no_bias, [&] { io::restore_checkpoint(bare, no_bias); }, "only in the checkpoint: 0.bias");

  Rng r1(5), r2(5);
  auto stride1 = make_sequential<float, Cpu>(r1, Conv2d{.in = 1, .out = 2, .stride = 1}, Relu1{});
  auto stride2 = make_sequential<float, Cpu>(r2, Conv2d{.in = 1, .out = 2, .stride = 2}, Relu1{});
  check_rejected<ArchitectureError>(
      stride2, [&] { io::restore_checkpoint(io::make_checkpoint(stride1), stride2); }, "\"stride\":1");

  models::Mlp<float, Cpu> fresh(mlp_seed, rng);
  io::Safetensors extra = st;
  extra.tensors["5.weight"] = st.at("0.bias");
  check_rejected<ArchitectureError>(
      fresh.net(), [&] { io::restore_checkpoint(resealed(extra), fresh.net()); },
      "tensor '5.weight' belongs to no parameter");
  // A Stack of other blocks.
  const models::WideResNetConfig wrn{.depth = 10, .width_multiplier = 0.5, .block_width = 0.25, .classes = 3};
  models::WideResNet<float, Cpu> plain(wrn, rng);
  models::WideResNet<float, Cpu, true> with_bn(wrn, rng);
  check_rejected<ArchitectureError>(
      with_bn.net(), [&] { io::restore_checkpoint(io::make_checkpoint(plain.net()), with_bn.net()); },
      "holds WideBlock blocks");
}

TEST_CASE("a TrainingState item the file lacks fails the whole load: the network is unchanged too") {
  GrownMlp grown;
  const io::Safetensors st = io::make_checkpoint(grown.model.net());
  Rng rng(5);
  models::Mlp<float, Cpu> fresh(mlp_seed, rng);
  Rng grow_rng(1);
  Sgd sgd(0.1);
  check_rejected<ArchitectureError>(
      fresh.net(), [&] { io::restore_checkpoint(st, fresh.net(), io::TrainingState().rng("grow", grow_rng)); },
      "no random generators");
  check_rejected<ArchitectureError>(
      fresh.net(), [&] { io::restore_checkpoint(st, fresh.net(), io::TrainingState().optimizer(sgd)); },
      "no optimizer state");
  CHECK(grow_rng == Rng(1));
  CHECK(sgd.steps() == 0);
}

TEST_CASE("stage tags travel as runs; malformed or mis-sized tags are rejected and leave the network unchanged") {
  GrownMlp grown;
  grow::tag_stage(grown.model.net(), 0);
  grown.model.net().layer<0>().weight().stage_tags[0].back() = 3;  // one row of stage 3
  test::TempDir dir;
  io::save_checkpoint(dir / "tagged.safetensors", grown.model.net());
  io::Safetensors st = io::read_safetensors(dir / "tagged.safetensors");
  const auto records = nlohmann::json::parse(st.metadata["netgrow.parameters"]);
  const Index rows = grown.model.net().layer<0>().weight().value.dim(0);
  CHECK(records["0.weight"]["stage_tags"][0] == nlohmann::json::parse("[[0, " + std::to_string(rows - 1) + "], [3, 1]]"));
  Rng rng(1);
  models::Mlp<float, Cpu> fresh(mlp_seed, rng);
  io::load_checkpoint(dir / "tagged.safetensors", fresh.net());
  CHECK(fresh.net().layer<0>().weight().stage_tags == grown.model.net().layer<0>().weight().stage_tags);
  CHECK(grow::current_stage(fresh.net()) == 3);

  models::Mlp<float, Cpu> other(mlp_seed, rng);
  auto& net = other.net();
  st.source = "ckpt";
  auto restore = [&](const io::Safetensors& s) { return [&net, s] { io::restore_checkpoint(s, net); }; };
  auto with_tags = [&](const std::string& tags) {
    io::Safetensors bad = st;
    auto r = nlohmann::json::parse(bad.metadata["netgrow.parameters"]);
    r["0.weight"]["stage_tags"] = nlohmann::json::parse(tags);
    bad.metadata["netgrow.parameters"] = r.dump();
    return bad;
  };
  check_rejected<IoError>(net, restore(with_tags("[[[0, 1]]]")), "two axes");
  check_rejected<IoError>(net, restore(with_tags("[[[0, -1]], []]")), "non-negative integers");
  check_rejected<IoError>(net, restore(with_tags("[[[0, 99999999999]], []]")), "out of range");
  check_rejected<ShapeError>(net, restore(with_tags("[[[0, 1]], []]")), "stage tags along axis 0");
}
