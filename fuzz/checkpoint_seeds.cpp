// fuzz/checkpoint_seeds.cpp: the checkpoint fuzzer's seed corpus, the two networks of
// checkpoint_models.hpp grown (grow::grow_width) and trained, saved a few ways (see checkpoint_fuzzer.cpp).
#include <cstdint>
#include <cstdio>
#include <filesystem>

#include "checkpoint_models.hpp"
#include "netgrow/grow/random.hpp"
#include "netgrow/grow/stage_lr.hpp"
#include "netgrow/grow/width.hpp"
#include "netgrow/io/checkpoint.hpp"
#include "netgrow/network/loss.hpp"
#include "netgrow/optim/adam.hpp"
#include "netgrow/optim/sgd.hpp"

namespace netgrow_fuzz {
namespace {

template <class Net, class Optimizer>
void train(Net& net, Optimizer& optimizer, const Tensor<float>& x, int steps) {
  Tensor<float> grad;
  Tensor<std::int32_t> y(Shape{x.dim(0)});
  for (Index i = 0; i < y.numel(); ++i) y[i] = static_cast<std::int32_t>(i % 2);
  for (int i = 0; i < steps; ++i) {
    const auto logits = net.forward(x);
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, y, grad);
    net.backward(grad);
    optimizer.step(net);
  }
}

Tensor<float> normal(Shape shape, Rng& rng) {
  Tensor<float> t(shape);
  for (Index i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.normal());
  return t;
}

}  // namespace

void write_checkpoint_seeds(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  auto write = [&](const char* name, const io::Safetensors& st) {
    io::write_safetensors(dir / name, st);
    std::printf("%s: %zu bytes\n", (dir / name).c_str(),
                static_cast<std::size_t>(std::filesystem::file_size(dir / name)));
  };
  Rng rng(42);
  {  // MLP, Adam, hidden width 4 -> 6, with every TrainingState item but a sampler
    auto net = make_mlp(rng);
    const Tensor<float> x = normal(Shape{4, 3}, rng);
    Adam adam(0.01);
    train(net, adam, x, 2);
    const auto report = grow::grow_width<0, 2>(net, 2, grow::Random{.epsilon = 0.1}, rng);
    train(net, adam, x, 1);
    Rng grow_rng(7);
    std::int64_t step = 3;
    io::GrowthHistory history;
    history.record(2, report, "hidden");
    io::TrainingState state;
    state.optimizer(adam).rng("grow", grow_rng).counter("step", step).history(history);
    const io::Safetensors st = io::make_checkpoint(net, state);
    write("mlp_adam.safetensors", st);

    // Regression seeds, refused: layer 0 grown to 6 outputs while layer 2 still takes 4 (its tensors,
    // records and settings from an ungrown copy); stage tags sized by an empty tensor's 2^40 dimension.
    auto ungrown = make_mlp(rng);
    Adam adam2(0.01);
    train(ungrown, adam2, x, 1);
    const io::Safetensors u = io::make_checkpoint(ungrown);
    io::Safetensors broken = st;
    for (const auto& [name, t] : u.tensors)
      if (name.starts_with("2.")) broken.tensors[name] = t;
    auto records = nlohmann::json::parse(broken.metadata.at("netgrow.parameters"));
    const auto u_records = nlohmann::json::parse(u.metadata.at("netgrow.parameters"));
    for (const char* name : {"2.weight", "2.bias"}) records[name] = u_records[name];
    broken.metadata["netgrow.parameters"] = records.dump();
    auto architecture = nlohmann::json::parse(broken.metadata.at("netgrow.architecture"));
    architecture[2] = nlohmann::json::parse(u.metadata.at("netgrow.architecture"))[2];
    broken.metadata["netgrow.architecture"] = architecture.dump();
    broken.metadata["netgrow.checksum"] = io::checksum_hex(io::tensors_checksum(broken));
    write("refused_layers_do_not_fit.safetensors", broken);

    io::Safetensors tags = st;
    tags.tensors["zzz"] = io::SafeTensor{io::Dtype::F32, {0, std::int64_t{1} << 40}, {}};
    records = nlohmann::json::parse(tags.metadata.at("netgrow.parameters"));
    records["0.weight"]["stage_tags"] = nlohmann::json::parse("[[[0, 1099511627776]], []]");
    tags.metadata["netgrow.parameters"] = records.dump();
    tags.metadata["netgrow.checksum"] = io::checksum_hex(io::tensors_checksum(tags));
    write("refused_empty_tensor_stage_tags.safetensors", tags);
  }
  {  // MLP, SGD with momentum, stage tags, learning-rate factors and a sampler, no checksum entry
    auto net = make_mlp(rng);
    const Tensor<float> x = normal(Shape{4, 3}, rng);
    Sgd sgd(0.1, {.momentum = 0.9});
    grow::tag_stage(net, 0);
    train(net, sgd, x, 1);
    grow::grow_width<0, 2>(net, 1, grow::Random{.epsilon = 0.1}, rng);
    grow::tag_stage(net, 1);
    net.layer<2>().weight().lr_scale = Tensor<float>(net.layer<2>().weight().value.shape());
    net.layer<2>().weight().lr_scale.fill(0.5f);
    net.layer<2>().weight().lr_multiplier = 0.25;
    train(net, sgd, x, 1);
    BatchSampler sampler(10, 4, Rng(8));
    (void)sampler.next();
    io::TrainingState state;
    state.optimizer(sgd).sampler("train", sampler);
    io::Safetensors st = io::make_checkpoint(net, state);
    st.metadata.erase("netgrow.checksum");
    write("mlp_sgd_tags_sampler_no_checksum.safetensors", st);
  }
  {  // MLP at seed width that never ran: no input shape, no optimizer state (an old file: no checksum)
    auto net = make_mlp(rng);
    io::Safetensors st = io::make_checkpoint(net);
    st.metadata.erase("netgrow.checksum");
    write("mlp_untrained_old.safetensors", st);
  }
  {  // CNN, SGD with momentum, conv channels 2 -> 3 (BatchNorm grows with them)
    auto net = make_cnn(rng);
    const Tensor<float> x = normal(Shape{2, 1, 3, 3}, rng);
    Sgd sgd(0.05, {.momentum = 0.9});
    train(net, sgd, x, 2);
    grow::grow_width<0, 4>(net, 1, grow::Random{.epsilon = 0.1}, rng);
    train(net, sgd, x, 1);
    io::TrainingState state;
    state.optimizer(sgd);
    write("cnn_sgd.safetensors", io::make_checkpoint(net, state));
  }
}


}  // namespace netgrow_fuzz
