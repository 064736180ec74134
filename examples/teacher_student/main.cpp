// examples/teacher_student: the GradMax paper's teacher-student experiment (section 4.1, appendix D).
//
// A random teacher MLP (Relu1, no bias, weights U[-1, 1]) labels N = 1000 Gaussian inputs; students
// learn it with full-batch gradient descent (lr 0.1) on the mean squared error. Growing students start
// at half the teacher's hidden width and grow to it; the methods:
//   Baseline-Small / Baseline-Big   fixed width: the seed width / the teacher's width
//   Random        incoming 0, outgoing a random isotropic direction x mean norm (grow::Random's default)
//   Random-Ref    the same with the reference code's directions: U[0,1) entries, normalised
//                 (grow::Random::reference(); all new directions in the positive orthant)
//   GradMax       incoming 0, outgoing top singular vectors of E[dL/dz h^T] x mean norm
//   GradMax-Sign  GradMax with each outgoing vector's sign chosen for the larger loss decrease after the
//                 first update of the new incoming weights (grow::GradMaxSign::loss_decrease)
//   GradMax-Pairs GradMax with plus/minus pairs of each direction (grow::GradMaxSign::pairs)
//   GradMaxOpt    GradMax's objective by 100 Adam steps (lr 1e-3) from a random start
//   FireflyOpt    Random with incoming epsilon 0.01, then 100 Adam steps on the loss
//   GradMax-Auto  GradMax neurons, but when and how many decides grow::GradMaxTrigger: every
//                 interval / 2 steps it measures the hidden layer (top singular values of M against
//                 the existing neurons' mean gradient norm, --auto-threshold) and adds at most
//                 neurons-per-growth neurons, never past Baseline-Big's parameter count
//   Identity-Depth  Baseline-Small's student, deepened after the update of the first growth step by
//                   Net2DeeperNet (grow::insert_identity_layer<1>): an identity Dense (w -> w) and a copy
//                   of Relu1 after the hidden activation, 20:5:5:10 / 100:25:25:10; no width growth
//   GradMax+Depth   GradMax, then after its last width growth the same identity layer at the teacher's
//                   width: 20:10:10:10 / 100:50:50:10
//   VT, VT+LRA    variance transfer (grow::VarianceTransfer): new neurons in cancelling random pairs
//                 (incoming V, V; outgoing Z, -Z) at the existing weights' scale, an odd count's last
//                 neuron with zero outgoing weights (the small setting's single neurons are all such);
//                 no BatchNorm follows the output layer, so no rescale. +LRA: per-stage learning rates
//                 (grow::StageLearningRates, recomputed at each growth and every 50 steps)
//   LEMON         the seed student until the last growth step, then expanded to the teacher's width at
//                 once without changing its function (grow::Lemon: copies with unequal outgoing weights
//                 summing to the original); gradient descent goes on at the same (constant) rate, LEMON's
//                 "same maximum learning rate" (there is no decay to compress)
// Depth protocol: a depth method equals its partner (Baseline-Small, GradMax) bit for bit up to the
// insertion (the same draws; the insertion draws nothing) and differs from it only by the extra layer
// after it, so the difference between the two is the effect of depth. Identity-Depth deepens as early as
// the schedule allows, GradMax+Depth once its width growth is done (growing width after the insertion
// would mean growing both hidden layers: either one alone stays narrower than the teacher). The loss
// right after the insertion must equal the loss right before (checked to relative 1e-6; it is exact), the
// optimizer and the run's records continue across it, and training FLOPs and parameter counts include the
// new layer from the step after it. GradMax+Depth runs by default, Identity-Depth when --methods names it.
// The new layer's learning rate (--new-layer-lr, default auto): the new layer's gradient reaches it
// through the output layer W_out, so its curvature is up to sigma_1(W_out)^2 times the output layer's;
// auto scales its learning rate by min(1, 1 / sigma_1(W_out)^2) at the insertion (for good: its
// Parameter::lr_multiplier). At 1 (plain Net2DeeperNet at lr 0.1) the large setting, where
// sigma_1(W_out) is 9 to 13, blows up within three steps of the insertion in every seed: the loss either
// becomes non-finite (the example stops with a NumericError) or settles where every hidden unit is dead.
// Settings: --setting small (teacher 20:10:10, student 20:5:10, +1 neuron after steps 200, 400, ...,
// 1000; 1500 steps) or large (teacher 100:50:10, student 100:25:10, +5 neurons after steps 500, ...,
// 2500; 3500 steps). Growth happens after the update of its step, from the gradient of the whole
// training set (the reference notebook's protocol). Prints the final loss per method (mean and 80%
// interval over seeds), the gradient norm of the new incoming weights right after each growth (the
// paper's Fig. 2a), the loss across each depth growth, and the cost of a growth against a training step
// (Fig. 3c), with a progress line per run (--progress). Writes, with the prefix --out (default
// ./teacher_student):
//   <out>_curves.csv        loss, width of the first hidden layer, parameter count and number of hidden
//                           layers per step, method and seed
//   <out>_growths.csv       each growth: step, width, new incoming gradient norm, milliseconds, kind
//                           (width; depth: the new layer's width and the norm of its whole weight gradient)
//   <out>_summary.json      the settings and every result (per seed and aggregated)
//   <out>_curves.png/.gp    training loss (log scale) and parameter count over steps per method (the
//                           paper's Fig. 4 layout; with gnuplot)
//   <out>_final_loss.png/.gp  mean loss over the last 500 steps per method, with its 80% interval
#include <algorithm>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdio>
#include <exception>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "../common/plot.hpp"
#include "../common/summary.hpp"
#include "netgrow/io/growth_history.hpp"
#include "netgrow/netgrow.hpp"
#include "netgrow/train/csv.hpp"
#include "netgrow/train/progress.hpp"
#include "netgrow/train/run_summary.hpp"

using namespace netgrow;
using Student = Sequential<float, Cpu, Dense, Relu1, Dense>;

namespace {

struct Setting {
  TeacherStudentConfig teacher;
  Index seed_width;
  Index neurons_per_growth;
  std::int64_t interval;  // grow after the update of steps interval, 2 interval, ...
  std::int64_t growths;
  int steps;
};

Setting setting_named(const std::string& name) {
  if (name == "small") return {{.in = 20, .hidden = 10, .out = 10, .samples = 1000}, 5, 1, 200, 5, 1500};
  if (name == "large") return {{.in = 100, .hidden = 50, .out = 10, .samples = 1000}, 25, 5, 500, 5, 3500};
  throw ArgumentError("--setting must be small or large, got '" + name + "'");
}

// Depth growth (Net2DeeperNet) turns the student into this type: an identity Dense (w -> w) and a
// copy of Relu1 after the hidden activation.
using DeeperStudent = grow::deeper_network_t<Student, 1>;  // Dense, Relu1, Dense, Relu1, Dense

struct GrowthRecord {
  bool depth = false;  // an identity hidden layer (Net2DeeperNet) instead of new neurons
  std::int64_t step = 0;
  Index width = 0;                    // width growth: the hidden width after it; depth: the new layer's
  double new_incoming_grad_norm = 0;  // ||dL/dW_in[new rows]|| right after growth; depth: ||dL/dW_new||
  double seconds = 0;                 // the growth, including the gradient computation it needs
  double stage_factor = 0;            // +LRA: the new stage's learning-rate factor lr_t / lr_0 right after it
};

struct Run {
  std::vector<double> loss;          // loss before each update, then the final loss
  nlohmann::json decisions;          // GradMax-Auto: the controller's log
  std::vector<Index> width;          // width of the first hidden layer at each entry of `loss`
  std::vector<Index> hidden_layers;  // number of hidden layers at each entry of `loss`
  std::vector<Index> parameters;     // parameter count at each entry of `loss`
  std::vector<GrowthRecord> growths;
  double train_seconds = 0;  // training steps only
  // Depth growth: the loss right before and right after the insertion (equal: the function is kept),
  // sigma_1 of the output layer there and the new layer's learning-rate multiplier.
  double loss_before_depth = 0, loss_after_depth = 0, depth_sigma_out = 0, depth_lr_multiplier = 1;
};

// A growth method: grows the student's hidden layer by k neurons.
using Grower = std::function<void(Student&, Index k, Rng&, const std::function<void()>& refresh)>;

template <class Init>
Grower grower(Init init) {
  return [init](Student& net, Index k, Rng& rng, const std::function<void()>& refresh) {
    grow::GrowthData<float> data;
    if constexpr (Init::needs_data) {
      refresh();
      data = grow::data_from_last_backward<0, 2>(net);
      data.with_recompute(refresh);
    }
    grow::grow_width<0, 2>(net, k, init, rng, data);
  };
}

struct Method {
  std::string name;
  bool grows;         // width growth (on the fixed schedule, or automatic); starts at the seed width
  Index fixed_width;  // for students that do not grow width
  Grower grow;
  bool automatic = false;  // growth decided by grow::GradMaxTrigger instead of the fixed schedule
  // Depth growth: after the update (and the width growth) of growth step deepen_at (1: step interval,
  // 2: step 2 interval, ...; 0: never), an identity hidden layer goes in after the first (Net2DeeperNet).
  // No width growth may follow it (Training checks).
  std::int64_t deepen_at = 0;
  bool stage_lr = false;     // per-stage learning rates (grow::StageLearningRates)
  std::int64_t all_at = 0;   // one growth to the teacher's width after growth step all_at (LEMON); 0: schedule
};

// The width growths of a run (without its depth growth).
std::vector<GrowthRecord> width_growths(const Run& r) {
  std::vector<GrowthRecord> out;
  std::copy_if(r.growths.begin(), r.growths.end(), std::back_inserter(out),
               [](const GrowthRecord& g) { return !g.depth; });
  return out;
}

// The hidden widths of an MLP: the outputs of every Dense but the last.
template <class Net>
std::vector<Index> hidden_widths(const Net& net) {
  std::vector<Index> widths;
  net.for_each_layer([&](auto i, const auto& layer) {
    if constexpr (decltype(i)::value + 1 < Net::size &&
                  std::same_as<typename Net::template kind_type<decltype(i)::value>, Dense>)
      widths.push_back(layer.out_features());
  });
  return widths;
}

// "5", or "10/10" for two hidden layers.
std::string join_widths(const std::vector<Index>& widths) {
  std::string s;
  for (const Index w : widths) {
    if (!s.empty()) s += '/';
    s += std::to_string(w);
  }
  return s;
}

std::string fmt(double v, const char* f = "%.4f") {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// One training run: what outlives a change of the network's type at a depth growth (the Rng, the
// optimizer with its step counter, the record, the growth schedule and the progress line).
class Training {
 public:
  // new_layer_lr: the depth growth's learning-rate multiplier for the new layer; 0: automatic.
  Training(const TeacherStudentTask<float>& task, const Setting& s, const Method& m, double lr, std::uint64_t seed,
           const ProgressOptions& progress_options, double auto_threshold, double new_layer_lr)
      : task_(task),
        s_(s),
        m_(m),
        rng_(seed),
        sgd_(lr),
        // GradMax-Auto: checks every interval / 2 steps, at most neurons_per_growth at a time, within the
        // parameters of the teacher-width student.
        big_parameters_(static_cast<double>(s.teacher.hidden * (s.teacher.in + s.teacher.out))),
        trigger_({.check_every = std::max<std::int64_t>(1, s.interval / 2),
                  .start = std::max<std::int64_t>(1, s.interval / 2),
                  .max_neurons_per_growth = s.neurons_per_growth},
                 auto_threshold),
        progress_(s.steps, progress_options),
        new_layer_lr_(new_layer_lr) {
    require(m.deepen_at == 0 || (!m.automatic && m.deepen_at <= s.growths && (!m.grows || m.deepen_at == s.growths)),
            m.name, ": a depth growth must be at one of the ", s.growths, " growth steps, after every width growth");
  }

  Rng& rng() { return rng_; }  // the student's initial weights, then the growth methods' draws

  // Trains `net` from `first_step` (whose loss is not recorded yet) to the last step, or until the
  // method's depth growth is due: returns that step (its update and width growth done) or nullopt.
  template <class Net>
  std::optional<int> train(Net& net, int first_step) {
    const std::function<void()> refresh_fn = [&] { refresh(net); };
    if (m_.stage_lr && first_step == 0) stages_.start(net);
    for (int step = first_step;; ++step) {
      const auto t0 = std::chrono::steady_clock::now();
      const double loss = refresh(net);
      if (!std::isfinite(loss)) {
        const auto where = net.find_non_finite();
        throw NumericError(m_.name + ": loss became " + std::to_string(loss) + " at step " + std::to_string(step) +
                           (where ? " (" + *where + ")" : ""));
      }
      const std::vector<Index> widths = hidden_widths(net);
      run_.loss.push_back(loss);
      run_.width.push_back(widths.front());
      run_.hidden_layers.push_back(static_cast<Index>(widths.size()));
      run_.parameters.push_back(net.parameter_count());
      if (step == s_.steps) return std::nullopt;
      if (m_.stage_lr && step > 0 && step % 50 == 0) stages_.update(net);
      sgd_.step(net);
      run_.train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      progress_.update(step + 1, {.loss = loss, .parameters = run_.parameters.back(), .width = join_widths(widths)});
      // Width growth runs on the one-hidden-layer student only (the constructor checks the schedule).
      if constexpr (std::same_as<Net, Student>) grow_width(net, step, refresh_fn);
      if (m_.deepen_at > 0 && step == m_.deepen_at * s_.interval) return step;
    }
  }

  // Net2DeeperNet after the update of `step`: returns `net` with an identity hidden layer after the first
  // (parameters and optimizer state moved over) and its learning-rate multiplier set (see the file
  // comment), after checking that the loss did not change.
  DeeperStudent deepen(Student&& net, int step) {
    const double before = refresh(net);
    const auto g0 = std::chrono::steady_clock::now();
    DeeperStudent deeper = grow::insert_identity_layer<1>(std::move(net));
    const double sigma_out =
        ops::svd_topk<float>(deeper.layer<4>().weight().value.cview(), 1, {.method = ops::SvdMethod::exact}).sigma[0];
    const double multiplier = new_layer_lr_ > 0 ? new_layer_lr_ : std::min(1.0, 1.0 / (sigma_out * sigma_out));
    deeper.layer<2>().weight().lr_multiplier = multiplier;
    GrowthRecord r;
    r.depth = true;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - g0).count();
    r.step = step;
    r.width = deeper.layer<2>().out_features();
    const double after = refresh(deeper);  // also the new layer's gradient right after growth
    // An identity matrix product and Relu1 of non-negative values are exact in float; the tolerance
    // leaves room for a GEMM that sums in another order.
    if (!(std::abs(after - before) <= 1e-6 * std::abs(before)))
      throw NumericError(m_.name + ": the depth growth after step " + std::to_string(step) + " changed the loss from " +
                         fmt(before, "%.9g") + " to " + fmt(after, "%.9g"));
    run_.loss_before_depth = before;
    run_.loss_after_depth = after;
    run_.depth_sigma_out = sigma_out;
    run_.depth_lr_multiplier = multiplier;
    const auto& g = deeper.layer<2>().weight().grad;
    r.new_incoming_grad_norm = rows_norm(g, 0, g.dim(0));
    run_.growths.push_back(r);
    return deeper;
  }

  // The record, after the last step.
  Run finish() {
    progress_.finish();
    if (m_.automatic) run_.decisions = io::to_json(trigger_.log());
    return std::move(run_);
  }

 private:
  // Forward and backward of the whole training set; returns the loss.
  template <class Net>
  double refresh(Net& net) {
    const auto pred = net.forward(task_.x);
    grad_.resize(pred.shape());
    const double loss = MseLoss{}(pred, task_.y, grad_);
    net.backward(grad_);
    return loss;
  }

  // The width growth due after the update of `step`, if any.
  void grow_width(Student& net, int step, const std::function<void()>& refresh_fn) {
    Index k = 0;
    const auto g0 = std::chrono::steady_clock::now();
    if (m_.automatic && trigger_.due(step)) {
      auto site = models::pair_site<0, 2>(net, "hidden");
      const std::vector<grow::SiteMeasure> measures{site.measure(s_.neurons_per_growth, refresh_fn)};
      k = trigger_
              .decide(step, measures,
                      {.parameters = static_cast<double>(net.parameter_count()), .max_parameters = big_parameters_})[0]
              .k;
    } else if (m_.all_at > 0) {
      if (step == m_.all_at * s_.interval) k = s_.teacher.hidden - net.layer<0>().out_features();
    } else if (!m_.automatic && m_.grows && step > 0 && step % s_.interval == 0 && width_growths_ < s_.growths) {
      k = s_.neurons_per_growth;
    }
    if (k == 0) return;
    const Index old_width = net.layer<0>().out_features();
    m_.grow(net, k, rng_, refresh_fn);
    GrowthRecord r;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - g0).count();
    r.step = step;
    r.width = net.layer<0>().out_features();
    if (m_.stage_lr) {
      stages_.begin_stage(net);
      if (!stages_.last().factors.empty()) r.stage_factor = stages_.last().factors.back();
    }
    refresh(net);  // the gradient right after growth (paper Fig. 2a)
    r.new_incoming_grad_norm = rows_norm(net.layer<0>().weight().grad, old_width, r.width);
    run_.growths.push_back(r);
    ++width_growths_;
  }

  // Frobenius norm of rows [first, last) of a matrix.
  static double rows_norm(const Tensor<float>& g, Index first, Index last) {
    double sq = 0;
    for (Index row = first; row < last; ++row)
      for (Index col = 0; col < g.dim(1); ++col) sq += double(g.at(row, col)) * g.at(row, col);
    return std::sqrt(sq);
  }

  const TeacherStudentTask<float>& task_;
  const Setting& s_;
  const Method& m_;
  Rng rng_;
  Sgd sgd_;
  Tensor<float> grad_;
  Run run_;
  std::int64_t width_growths_ = 0;
  double big_parameters_;
  grow::GradMaxTrigger trigger_;
  grow::StageLearningRates stages_;
  ProgressLine progress_;
  double new_layer_lr_;
};

Run train(const TeacherStudentTask<float>& task, const Setting& s, const Method& m, double lr, std::uint64_t seed,
          const ProgressOptions& progress_options, double auto_threshold, double new_layer_lr) {
  Training training(task, s, m, lr, seed, progress_options, auto_threshold, new_layer_lr);
  const Index width = m.grows ? s.seed_width : m.fixed_width;
  Student net(training.rng(), Dense{.in = s.teacher.in, .out = width, .bias = false}, Relu1{},
              Dense{.in = width, .out = s.teacher.out, .bias = false});
  if (const auto step = training.train(net, 0)) {
    DeeperStudent deeper = training.deepen(std::move(net), *step);
    training.train(deeper, *step + 1);
  }
  return training.finish();
}

// Every method of the example, for setting s.
std::vector<Method> all_methods(const Setting& s) {
  const auto norm = grow::NormRule::mean_norm(1.0);
  const auto reference_random = grow::RandomDirection::nonnegative_uniform;
  return {
      {"Baseline-Small", false, s.seed_width, {}},
      {"Baseline-Big", false, s.teacher.hidden, {}},
      {"Random", true, 0, grower(grow::Random{.norm = norm})},
      {"Random-Ref", true, 0, grower(grow::Random::reference(norm))},
      {"GradMax", true, 0, grower(grow::GradMax{.norm = norm})},
      {"GradMax-Sign", true, 0, grower(grow::GradMax{.norm = norm, .sign = grow::GradMaxSign::loss_decrease})},
      {"GradMax-Pairs", true, 0, grower(grow::GradMax{.norm = norm, .sign = grow::GradMaxSign::pairs})},
      {"GradMaxOpt", true, 0, grower(grow::GradMaxOpt{.norm = norm, .start = reference_random})},
      {"FireflyOpt", true, 0, grower(grow::FireflyOpt{.norm = norm, .epsilon = 0.01, .direction = reference_random})},
      {"Split", true, 0, grower(grow::Split{})},
      {"InverseGradMaxOpt", true, 0, grower(grow::InverseGradMaxOpt{.norm = norm})},
      {"GradMax-Auto", true, 0, grower(grow::GradMax{.norm = norm}), true},
      {"Identity-Depth", false, s.seed_width, {}, false, 1},
      {"GradMax+Depth", true, 0, grower(grow::GradMax{.norm = norm}), false, s.growths},
      {"VT", true, 0, grower(grow::VarianceTransfer{})},
      {"VT+LRA", true, 0, grower(grow::VarianceTransfer{}), false, 0, true},
      {"LEMON", true, 0, grower(grow::Lemon{}), false, 0, false, s.growths},
  };
}

// "Baseline-Small, Baseline-Big, ..."
std::string method_names(const std::vector<Method>& methods) {
  std::string names;
  for (const auto& m : methods) {
    if (!names.empty()) names += ", ";
    names += m.name;
  }
  return names;
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Flags flags(argc, argv,
                        {{"setting", "small"},
                         {"seeds", "5"},
                         {"lr", "0.1"},
                         {"data-seed", "0"},
                         {"methods",
                          "Baseline-Small,Baseline-Big,Random,Random-Ref,GradMax,GradMax-Sign,GradMaxOpt,FireflyOpt,GradMax-Auto,"
                          "GradMax+Depth,"
                          "VT,VT+LRA,LEMON"},
                         {"auto-threshold", "1.0"},
                         {"new-layer-lr", "auto"},
                         {"progress", "auto"},
                         {"plots", "on"},
                         {"out", "teacher_student"}});
  if (flags.help()) {
    std::printf("teacher_student: growing students on the GradMax teacher-student task\n%smethods: %s\n",
                flags.usage().c_str(), method_names(all_methods(setting_named("small"))).c_str());
    return 0;
  }
  RunSummary summary("teacher_student", argc, argv);
  const Setting s = setting_named(flags.str("setting"));
  const int seeds = static_cast<int>(flags.integer("seeds"));
  const double lr = flags.number("lr");
  require(seeds >= 1, "--seeds must be at least 1");
  const double new_layer_lr = flags.str("new-layer-lr") == "auto" ? 0.0 : flags.number("new-layer-lr");
  require(flags.str("new-layer-lr") == "auto" || new_layer_lr > 0, "--new-layer-lr must be auto or positive");

  const std::vector<Method> all = all_methods(s);
  std::vector<Method> methods;
  std::stringstream list(flags.str("methods"));
  for (std::string name; std::getline(list, name, ',');) {
    auto it = std::find_if(all.begin(), all.end(), [&](const Method& m) { return m.name == name; });
    require(it != all.end(), "--methods: unknown method '", name, "' (known: ", method_names(all), ")");
    methods.push_back(*it);
  }

  Rng data_rng(static_cast<std::uint64_t>(flags.integer("data-seed")));
  const auto task = make_teacher_student<float>(s.teacher, data_rng);
  const auto& t = s.teacher;
  std::printf("netgrow teacher-student (GradMax paper, section 4.1): teacher %td:%td:%td, N = %td, full-batch "
              "gradient descent lr %g, MSE, %d steps, %d seeds\n",
              t.in, t.hidden, t.out, t.samples, lr, s.steps, seeds);
  std::printf("growing students start at %td:%td:%td and gain %td neuron(s) after the update of steps %td, %td, ... "
              "(%td growths)\n\n",
              t.in, s.seed_width, t.out, s.neurons_per_growth, s.interval, 2 * s.interval, s.growths);

  std::map<std::string, std::vector<Run>> runs;
  const ProgressStyle style = parse_progress_style(flags.str("progress"));
  for (const auto& m : methods)
    for (int seed = 0; seed < seeds; ++seed)
      runs[m.name].push_back(train(task, s, m, lr, 1000 + seed,
                                   {.label = m.name + " seed " + std::to_string(seed), .style = style},
                                   flags.number("auto-threshold"), new_layer_lr));

  // Final loss, mean [80% CI] over seeds.
  std::printf("%-18s %-30s %s\n", "method", "final training loss", "mean loss over the last 500 steps");
  std::vector<std::pair<double, std::string>> order;
  RunSummary::Json results;
  examples::Points tail_points{.title = "teacher-student (" + flags.str("setting") +
                                        "): mean training loss over the "
                                        "last 500 steps (mean, 80% interval over " +
                                        std::to_string(seeds) + " seeds)",
                               .ylabel = "loss"};
  for (const auto& m : methods) {
    std::vector<double> final_loss, tail;
    for (const auto& r : runs[m.name]) {
      final_loss.push_back(r.loss.back());
      double sum = 0;
      for (std::size_t i = r.loss.size() - 500; i < r.loss.size(); ++i) sum += r.loss[i];
      tail.push_back(sum / 500);
    }
    const auto fi = examples::interval_80(final_loss), ti = examples::interval_80(tail);
    order.emplace_back(ti.mean, m.name);
    std::printf("%-18s %-30s %s\n", m.name.c_str(), examples::format_interval(fi).c_str(),
                examples::format_interval(ti).c_str());
    results[m.name] = {{"final_loss", final_loss},
                       {"final_loss_mean", fi.mean},
                       {"final_loss_ci80", {fi.low, fi.high}},
                       {"last_500_mean_loss", tail},
                       {"last_500_mean_loss_mean", ti.mean},
                       {"last_500_mean_loss_ci80", {ti.low, ti.high}},
                       {"final_width", runs[m.name][0].width.back()}};
    if (m.automatic) results[m.name]["controller_decisions_seed0"] = runs[m.name][0].decisions;
    tail_points.labels.push_back(m.name);
    tail_points.values.push_back(ti.mean);
    tail_points.low.push_back(ti.low);
    tail_points.high.push_back(ti.high);
  }
  std::sort(order.begin(), order.end());
  std::printf("\nordering by the mean loss over the last 500 steps (lowest first; the last step alone is noisy where\n"
              "gradient descent with lr 0.1 oscillates):");
  for (const auto& [loss, name] : order) std::printf(" %s (%.4f)", name.c_str(), loss);
  std::printf("\n");

  // Size and cost: final parameters, and training FLOPs (proportional to the parameters summed over
  // steps: forward and backward of a bias-free MLP cost 6 N FLOPs per parameter) against Baseline-Big.
  std::printf("\nsize and cost (mean over seeds; training FLOPs relative to a teacher-width student):\n");
  const double big_step = static_cast<double>(t.hidden * (t.in + t.out));
  for (const auto& m : methods) {
    double final_params = 0, final_width = 0, hidden_layers = 0, flops = 0, growth_count = 0;
    for (const auto& r : runs[m.name]) {
      final_params += static_cast<double>(r.parameters.back()) / seeds;
      final_width += static_cast<double>(r.width.back()) / seeds;
      hidden_layers += static_cast<double>(r.hidden_layers.back()) / seeds;
      double sum = 0;
      for (std::size_t i = 0; i + 1 < r.parameters.size(); ++i) sum += static_cast<double>(r.parameters[i]);
      flops += sum / (big_step * static_cast<double>(s.steps)) / seeds;
      growth_count += static_cast<double>(r.growths.size()) / seeds;
    }
    std::printf(
        "  %-18s final parameters %8.0f   width %5.1f   hidden layers %.0f   growths %4.1f   training FLOPs "
        "%.3f x Big\n",
        m.name.c_str(), final_params, final_width, hidden_layers, growth_count, flops);
    results[m.name]["final_parameters_mean"] = final_params;
    results[m.name]["final_hidden_layers_mean"] = hidden_layers;
    results[m.name]["train_flops_vs_big"] = flops;
    results[m.name]["growths_mean"] = growth_count;
  }

  // Paper Fig. 2a: gradient norm of the new incoming weights right after each width growth.
  std::printf("\ngradient norm of the new incoming weights right after growth (mean over seeds):\n%-18s", "method");
  for (std::int64_t g = 1; g <= s.growths; ++g) std::printf(" %10s", ("growth " + std::to_string(g)).c_str());
  std::printf("\n");
  for (const auto& m : methods) {
    if (!m.grows || m.automatic) continue;
    std::printf("%-18s", m.name.c_str());
    std::vector<double> norms;  // growths every seed made (LEMON grows once)
    for (std::int64_t g = 0; g < s.growths; ++g) {
      double sum = 0;
      bool every_seed = true;
      for (const auto& r : runs[m.name]) {
        const auto growths = width_growths(r);
        if (static_cast<std::size_t>(g) < growths.size()) sum += growths[static_cast<std::size_t>(g)].new_incoming_grad_norm;
        else every_seed = false;
      }
      if (!every_seed) {
        std::printf(" %10s", "-");
        continue;
      }
      norms.push_back(sum / seeds);
      std::printf(" %10s", fmt(sum / seeds, "%.4g").c_str());
    }
    results[m.name]["new_incoming_grad_norm_after_growth"] = norms;
    std::printf("\n");
  }

  // Per-stage learning rates: each new stage's factor lr_t / lr_0 = ||W_dt|| / ||W_0|| right after its growth.
  for (const auto& m : methods) {
    if (!m.stage_lr) continue;
    std::printf("\n%s: learning-rate factor ||W_dt|| / ||W_0|| of each new stage right after its growth (mean over "
                "seeds):\n%-18s", m.name.c_str(), "");
    for (std::int64_t g = 0; g < s.growths; ++g) {
      double sum = 0;
      int count = 0;
      for (const auto& r : runs[m.name]) {
        const auto growths = width_growths(r);
        if (static_cast<std::size_t>(g) < growths.size()) {
          sum += growths[static_cast<std::size_t>(g)].stage_factor;
          ++count;
        }
      }
      std::printf(" %10s", count ? fmt(sum / count, "%.4g").c_str() : "-");
    }
    std::printf("\n");
  }

  // Depth growth: the loss across the insertion (unchanged: Net2DeeperNet keeps the function) and the
  // gradient norm of the new layer's weights right after it.
  if (std::any_of(methods.begin(), methods.end(), [](const Method& m) { return m.deepen_at > 0; })) {
    std::printf(
        "\ndepth growth (an identity hidden layer after the first, Net2DeeperNet; means over seeds): the loss "
        "right before\nand right after the insertion (change: the largest relative one over seeds), the "
        "gradient norm of the\nnew layer's weights right after it, sigma_1 of the output layer and the new "
        "layer's learning-rate multiplier:\n");
    for (const auto& m : methods) {
      if (m.deepen_at == 0) continue;
      double before = 0, after = 0, change = 0, norm = 0, sigma_out = 0, multiplier = 0;
      std::vector<double> before_per_seed, after_per_seed;
      for (const auto& r : runs[m.name]) {
        before += r.loss_before_depth / seeds;
        after += r.loss_after_depth / seeds;
        sigma_out += r.depth_sigma_out / seeds;
        multiplier += r.depth_lr_multiplier / seeds;
        change = std::max(change, std::abs(r.loss_after_depth - r.loss_before_depth) / r.loss_before_depth);
        for (const auto& g : r.growths) norm += g.depth ? g.new_incoming_grad_norm / seeds : 0.0;
        before_per_seed.push_back(r.loss_before_depth);
        after_per_seed.push_back(r.loss_after_depth);
      }
      const auto& seed0 = runs[m.name][0].growths;
      const GrowthRecord& depth = *std::find_if(seed0.begin(), seed0.end(), [](const auto& g) { return g.depth; });
      std::printf("  %-18s after step %td, new layer %td -> %td: loss %.9g -> %.9g (change %.3g)\n", m.name.c_str(),
                  depth.step, depth.width, depth.width, before, after, change);
      std::printf("  %-18s ||dL/dW_new|| %.4g   sigma_1(W_out) %.4g   new-layer lr x %.4g\n", "", norm, sigma_out,
                  multiplier);
      results[m.name]["depth_growth"] = {{"step", depth.step},
                                         {"new_layer_width", depth.width},
                                         {"loss_before", before_per_seed},
                                         {"loss_after", after_per_seed},
                                         {"max_relative_loss_change", change},
                                         {"new_layer_grad_norm_mean", norm},
                                         {"output_layer_sigma1_mean", sigma_out},
                                         {"new_layer_lr_multiplier_mean", multiplier}};
    }
  }

  // Paper Fig. 3c: the cost of a growth against a training step.
  std::printf("\ncost of one growth (including its gradient computation) against one training step:\n");
  for (const auto& m : methods) {
    if (!m.grows && m.deepen_at == 0) continue;
    double grow_s = 0, depth_s = 0, train_s = 0;
    std::size_t n_growths = 0, n_depth = 0;
    for (const auto& r : runs[m.name]) {
      for (const auto& g : r.growths) (g.depth ? depth_s : grow_s) += g.seconds;
      n_depth += r.growths.size() - width_growths(r).size();
      n_growths += width_growths(r).size();
      train_s += r.train_seconds;
    }
    const double step_ms = 1e3 * train_s / (static_cast<double>(s.steps) * seeds);
    if (n_growths > 0) {
      const double grow_ms = 1e3 * grow_s / static_cast<double>(n_growths);
      std::printf("  %-18s growth %8.3f ms   training step %6.3f ms   ratio %6.1f\n", m.name.c_str(), grow_ms, step_ms,
                  grow_ms / step_ms);
      results[m.name]["growth_ms"] = grow_ms;
      results[m.name]["training_step_ms"] = step_ms;
    }
    if (n_depth > 0) {
      const double depth_ms = 1e3 * depth_s / static_cast<double>(n_depth);
      std::printf("  %-18s depth growth %8.3f ms   training step %6.3f ms   ratio %6.1f\n", m.name.c_str(), depth_ms,
                  step_ms, depth_ms / step_ms);
      results[m.name]["depth_growth_ms"] = depth_ms;
      results[m.name]["training_step_ms"] = step_ms;
    }
  }

  const std::string out = flags.str("out");
  const std::string curves_path = out + "_curves.csv", growths_path = out + "_growths.csv",
                    json_path = out + "_summary.json";
  CsvWriter curves(curves_path, {"method", "seed", "step", "loss", "width", "parameters", "hidden_layers"});
  CsvWriter growth_log(growths_path,
                       {"method", "seed", "growth", "step", "width", "new_incoming_grad_norm", "ms", "kind"});
  for (const auto& m : methods)
    for (std::size_t seed = 0; seed < runs[m.name].size(); ++seed) {
      const auto& r = runs[m.name][seed];
      for (std::size_t step = 0; step < r.loss.size(); ++step)
        curves.row(m.name, seed, step, r.loss[step], r.width[step], r.parameters[step], r.hidden_layers[step]);
      for (std::size_t g = 0; g < r.growths.size(); ++g)
        growth_log.row(m.name, seed, g + 1, r.growths[g].step, r.growths[g].width, r.growths[g].new_incoming_grad_norm,
                       r.growths[g].seconds * 1e3, r.growths[g].depth ? "depth" : "width");
    }
  curves.close();
  growth_log.close();
  std::printf("\ncurves written to %s, growths to %s\n", curves_path.c_str(), growths_path.c_str());

  summary["config"] = {{"setting", flags.str("setting")},
                       {"teacher", {t.in, t.hidden, t.out}},
                       {"samples", t.samples},
                       {"student_seed_width", s.seed_width},
                       {"neurons_per_growth", s.neurons_per_growth},
                       {"growth_interval", s.interval},
                       {"growths", s.growths},
                       {"steps", s.steps},
                       {"lr", lr},
                       {"seeds", seeds},
                       {"data_seed", flags.integer("data-seed")},
                       {"methods", flags.str("methods")}};
  summary["results"] = results;
  summary["files"] = {{"curves_csv", curves_path}, {"growths_csv", growths_path}};

  if (flags.str("plots") != "off") {
    // The paper's Fig. 4 layout: training loss and parameter count over steps, mean over seeds.
    examples::Panel loss_panel{.title = "training loss", .xlabel = "step", .ylabel = "loss (MSE)", .log_y = true};
    examples::Panel params_panel{
        .title = "parameters", .xlabel = "step", .ylabel = "parameters", .si_y = true, .key = "right center"};
    for (const auto& m : methods) {
      examples::Series loss_series{.name = m.name}, params_series{.name = m.name};
      for (std::size_t step = 0; step < runs[m.name][0].loss.size(); ++step) {
        double sum = 0;
        for (const auto& r : runs[m.name]) sum += r.loss[step];
        loss_series.x.push_back(static_cast<double>(step));
        loss_series.y.push_back(sum / static_cast<double>(runs[m.name].size()));
        params_series.x.push_back(static_cast<double>(step));
        params_series.y.push_back(static_cast<double>(runs[m.name][0].parameters[step]));
      }
      loss_panel.series.push_back(std::move(loss_series));
      params_panel.series.push_back(std::move(params_series));
    }
    const auto curves_plot = examples::plot_panels(
        out + "_curves",
        "teacher-student (" + flags.str("setting") + "), mean over " + std::to_string(seeds) + " seeds",
        {loss_panel, params_panel});
    const auto tail_plot = examples::plot_points(out + "_final_loss", tail_points);
    examples::report_plot(curves_plot);
    examples::report_plot(tail_plot);
    summary["files"]["curves_plot_script"] = curves_plot.script;
    summary["files"]["final_loss_plot_script"] = tail_plot.script;
    if (!curves_plot.png.empty()) summary["files"]["curves_png"] = curves_plot.png;
    if (!tail_plot.png.empty()) summary["files"]["final_loss_png"] = tail_plot.png;
  }
  summary.write(json_path);
  std::printf("summary written to %s\n", json_path.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "teacher_student: %s\n", e.what());
  return 1;
}
