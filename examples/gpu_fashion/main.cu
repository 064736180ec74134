// examples/gpu_fashion: a growth run on the GPU. The small CNN (models::SmallCnn: conv 3x3 -> Relu1 ->
// conv 3x3 -> Relu1 -> max-pool 2 -> Flatten -> Dense -> Relu1 -> Dense) starts at --seed-width of its
// widths on Fashion-MNIST and grows every site by GradMax, on the device, to the full widths in
// --growths growths spread over the first --grow-until of the first epoch. Each training step (forward,
// cross-entropy, backward, SGD with momentum 0.9 at a constant --lr) is one replay of a CUDA graph
// (cuda::StepGraph; --graph off runs it as ordinary launches): recorded on the first step and again after
// every growth and every test evaluation, which replace buffers the recording used. The whole training
// set sits on the device, reshuffled on the host once per epoch; each batch is a device-to-device copy
// into the graph's input tensors.
//
// Prints a progress line every --print-every steps (mean loss of the last step, widths), the test
// accuracy after each epoch, and a summary: accuracy, widths, milliseconds per training step, how many
// steps replayed a recording. Without a GPU it says so and exits successfully (it builds everywhere
// netgrow::cuda does).
#include <netgrow/cuda.hpp>
#include <netgrow/models/small_cnn.hpp>

#include <chrono>
#include <cstdio>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "../common/summary.hpp"

using namespace netgrow;

namespace {

using Model = models::SmallCnn<float, Cuda>;

// The training set in the order of `order`, as device tensors (images (N, 1, 28, 28), labels (N)).
void upload_shuffled(const LabeledImages& train, std::span<const Index> order, Tensor<float, Cuda>& images,
                     Tensor<std::int32_t, Cuda>& labels) {
  Tensor<float, Cpu> x;
  Tensor<std::int32_t, Cpu> y;
  gather_rows(train.images, order, x);
  gather_rows(train.labels, order, y);
  images = to<Cuda>(x);
  labels = to<Cuda>(y);
}

std::string joined(const std::vector<Index>& widths) {
  std::string s;
  for (Index w : widths) s += (s.empty() ? "" : "/") + std::to_string(w);
  return s;
}

std::string widths(Model& model) {
  std::vector<Index> w;
  model.for_each_site([&](auto& site) { w.push_back(site.width()); });
  return joined(w);
}

// Test accuracy in batches of 1000 (evaluation mode).
double test_accuracy(Model& model, const Tensor<float, Cuda>& images, const Tensor<std::int32_t, Cuda>& labels) {
  Index correct = 0;
  for (Index first = 0; first < labels.numel(); first += 1000) {
    const Index count = std::min<Index>(1000, labels.numel() - first);
    const ConstView<float, Cuda> logits = model.net().forward(images.cview().rows(first, count), Mode::eval);
    correct += SoftmaxCrossEntropy{}.value(logits, labels.cview().rows(first, count)).correct;
  }
  return static_cast<double>(correct) / static_cast<double>(labels.numel());
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Flags flags(argc, argv,
                        {{"data", ""},
                         {"epochs", "2"},
                         {"batch", "128"},
                         {"lr", "0.05"},
                         {"seed", "1"},
                         {"seed-width", "0.25"},
                         {"growths", "2"},
                         {"grow-until", "0.5"},
                         {"graph", "on"},
                         {"limit", "0"},  // > 0: only the first N training images
                         {"print-every", "100"}});
  if (flags.help()) {
    std::printf("gpu_fashion: a small CNN grown by GradMax on the GPU, each step a CUDA graph replay\n%s",
                flags.usage().c_str());
    return 0;
  }
  if (netgrow::cuda::device_count() == 0) {
    std::printf("gpu_fashion: no CUDA GPU visible on this machine; this example needs one (it only builds here)\n");
    return 0;
  }
  const int epochs = static_cast<int>(flags.integer("epochs")), growths = static_cast<int>(flags.integer("growths"));
  const Index batch = flags.integer("batch");
  const bool use_graph = flags.str("graph") == "on";
  require(epochs >= 1 && batch >= 1 && growths >= 0, "gpu_fashion: --epochs and --batch must be >= 1, --growths >= 0");
  require(use_graph || flags.str("graph") == "off", "gpu_fashion: --graph is on or off, got ", flags.str("graph"));
  const FashionMnist data = load_fashion_mnist({.directory = flags.str("data"), .max_train = flags.integer("limit")});
  std::printf("gpu_fashion on %s: %lld training and %lld test images, batch %lld, %s\n",
              netgrow::cuda::device_description(0).c_str(), static_cast<long long>(data.train.size()),
              static_cast<long long>(data.test.size()), static_cast<long long>(batch),
              use_graph ? "each step a CUDA graph replay" : "ordinary launches");

  Rng rng(static_cast<std::uint64_t>(flags.integer("seed")));
  Model model(models::SmallCnnConfig{.width_multiplier = flags.number("seed-width")}, rng);
  Rng target_rng(0);
  Model target(models::SmallCnnConfig{.width_multiplier = 1.0}, target_rng);
  const models::GrowthPlan plan = models::plan_growth(model, target, growths > 0 ? growths : 1);
  auto& net = model.net();
  Sgd sgd(flags.number("lr"), {.momentum = 0.9});

  const Tensor<float, Cuda> test_x = to<Cuda>(data.test.images);
  const Tensor<std::int32_t, Cuda> test_y = to<Cuda>(data.test.labels);
  Tensor<float, Cuda> train_x, x(Shape{batch, 1, 28, 28}), grad;
  Tensor<std::int32_t, Cuda> train_y, y(Shape{batch});
  const Index steps_per_epoch = data.train.size() / batch;
  require(steps_per_epoch >= 1, "gpu_fashion: fewer training images than one batch");
  std::vector<std::int64_t> growth_steps;
  for (int g = 0; g < growths; ++g)
    growth_steps.push_back(static_cast<std::int64_t>(flags.number("grow-until") * static_cast<double>(steps_per_epoch) *
                                                     (g + 1) / growths));

  netgrow::cuda::StepGraph graph;
  netgrow::cuda::QueuedCrossEntropy loss;
  const auto train_step = [&] {
    const ConstView<float, Cuda> logits = net.forward(x.cview());
    grad.resize(logits.shape());
    loss.queue(logits, y.cview(), grad.view());
    net.backward(grad.cview());
    sgd.step(net);
  };
  // GradMax's grow batch: the current batch through the network, as ordinary launches.
  const auto refresh = [&] {
    const ConstView<float, Cuda> logits = net.forward(x.cview());
    grad.resize(logits.shape());
    SoftmaxCrossEntropy{}(logits, y.cview(), grad);
    net.backward(grad.cview());
  };

  std::int64_t step = 0;
  int grown = 0;
  double train_seconds = 0, accuracy = 0;
  // One "batch" of the whole training set: each next() is a fresh shuffle of it.
  BatchSampler epoch_order(data.train.size(), data.train.size(), Rng(rng.next_u64()));
  for (int epoch = 0; epoch < epochs; ++epoch) {
    upload_shuffled(data.train, epoch_order.next(), train_x, train_y);
    netgrow::cuda::context().synchronize();
    const auto start = std::chrono::steady_clock::now();
    for (Index s = 0; s < steps_per_epoch; ++s, ++step) {
      copy(train_x.cview().rows(s * batch, batch), x.view());
      copy(train_y.cview().rows(s * batch, batch), y.view());
      if (grown < growths && step == growth_steps[static_cast<std::size_t>(grown)]) {
        models::grow_all_sites(model, plan, grown, grow::GradMax{}, rng, refresh);
        ++grown;
        std::printf("  step %lld: grew to %s\n", static_cast<long long>(step), widths(model).c_str());
      }
      if (use_graph) graph.run(train_step);
      else train_step();
      if ((step + 1) % flags.integer("print-every") == 0)
        std::printf("  step %lld  loss %.4f  widths %s\n", static_cast<long long>(step + 1), loss.result().loss,
                    widths(model).c_str());
    }
    netgrow::cuda::context().synchronize();
    train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    accuracy = test_accuracy(model, test_x, test_y);
    std::printf("epoch %d: test accuracy %.4f, widths %s\n", epoch + 1, accuracy, widths(model).c_str());
  }
  std::printf(
      "gpu_fashion: test accuracy %.4f after %d epochs, widths %s (seed %s), %.3f ms per training step "
      "(growths and progress lines included), %zu of %lld steps replayed a recording (%zu recordings)\n",
      accuracy, epochs, widths(model).c_str(), joined(plan.seed).c_str(),
      1e3 * train_seconds / static_cast<double>(step), graph.replays(), static_cast<long long>(step),
      graph.recordings());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "gpu_fashion: %s\n", e.what());
  return 1;
}
