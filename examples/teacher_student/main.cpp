// examples/teacher_student: the GradMax paper's teacher-student experiment (section 4.1, appendix D).
//
// A random teacher MLP (Relu1, no bias, weights U[-1, 1]) labels N = 1000 Gaussian inputs; students
// learn it with full-batch gradient descent (lr 0.1) on the mean squared error. Growing students start
// at half the teacher's hidden width and grow to it; the methods:
//   Baseline-Small / Baseline-Big   fixed width: the seed width / the teacher's width
//   Random        incoming 0, outgoing random (the reference's U[0,1) directions) x mean norm
//   GradMax       incoming 0, outgoing top singular vectors of E[dL/dz h^T] x mean norm
//   GradMaxOpt    GradMax's objective by 100 Adam steps (lr 1e-3) from a random start
//   FireflyOpt    Random with incoming epsilon 0.01, then 100 Adam steps on the loss
// Settings: --setting small (teacher 20:10:10, student 20:5:10, +1 neuron after steps 200, 400, ...,
// 1000; 1500 steps) or large (teacher 100:50:10, student 100:25:10, +5 neurons after steps 500, ...,
// 2500; 3500 steps). Growth happens after the update of its step, from the gradient of the whole
// training set (the reference notebook's protocol). Prints the final loss per method (mean and 80%
// interval over seeds), the gradient norm of the new incoming weights right after each growth (the
// paper's Fig. 2a), and the cost of a growth against a training step (Fig. 3c); writes the curves and
// the growth log as CSV files.
#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../common/summary.hpp"
#include "netgrow/netgrow.hpp"

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

struct GrowthRecord {
  std::int64_t step = 0;
  Index width = 0;
  double new_incoming_grad_norm = 0;  // ||dL/dW_in[new rows]|| right after growth
  double seconds = 0;                 // the growth, including the gradient computation it needs
};

struct Run {
  std::vector<double> loss;  // loss before each update, then the final loss
  std::vector<Index> width;  // hidden width at each entry of `loss`
  std::vector<GrowthRecord> growths;
  double train_seconds = 0;  // training steps only
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
  bool grows;
  Index fixed_width;  // for baselines
  Grower grow;
};

Run train(const TeacherStudentTask<float>& task, const Setting& s, const Method& m, double lr, std::uint64_t seed) {
  Rng rng(seed);
  const Index width = m.grows ? s.seed_width : m.fixed_width;
  Student net(rng, Dense{.in = s.teacher.in, .out = width, .bias = false}, Relu1{},
              Dense{.in = width, .out = s.teacher.out, .bias = false});
  Sgd sgd(lr);
  Tensor<float> grad;
  auto refresh = [&] {
    const auto pred = net.forward(task.x);
    grad.resize(pred.shape());
    const double loss = MseLoss{}(pred, task.y, grad);
    net.backward(grad);
    return loss;
  };
  const std::function<void()> refresh_fn = [&] { refresh(); };
  Run run;
  std::int64_t growths = 0;
  for (int step = 0;; ++step) {
    const auto t0 = std::chrono::steady_clock::now();
    const double loss = refresh();
    if (!std::isfinite(loss)) {
      const auto where = net.find_non_finite();
      throw NumericError(m.name + ": loss became " + std::to_string(loss) + " at step " + std::to_string(step) +
                         (where ? " (" + *where + ")" : ""));
    }
    run.loss.push_back(loss);
    run.width.push_back(net.layer<0>().out_features());
    if (step == s.steps) break;
    sgd.step(net);
    run.train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    if (m.grows && step > 0 && step % s.interval == 0 && growths < s.growths) {
      const Index old_width = net.layer<0>().out_features();
      const auto g0 = std::chrono::steady_clock::now();
      m.grow(net, s.neurons_per_growth, rng, refresh_fn);
      GrowthRecord r;
      r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - g0).count();
      r.step = step;
      r.width = net.layer<0>().out_features();
      refresh();  // the gradient right after growth (paper Fig. 2a)
      double sq = 0;
      const auto& g = net.layer<0>().weight().grad;
      for (Index row = old_width; row < r.width; ++row)
        for (Index col = 0; col < g.dim(1); ++col) sq += double(g.at(row, col)) * g.at(row, col);
      r.new_incoming_grad_norm = std::sqrt(sq);
      run.growths.push_back(r);
      ++growths;
    }
  }
  return run;
}

std::string fmt(double v, const char* f = "%.4f") {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Flags flags(argc, argv,
                        {{"setting", "small"},
                         {"seeds", "5"},
                         {"lr", "0.1"},
                         {"data-seed", "0"},
                         {"methods", "Baseline-Small,Baseline-Big,Random,GradMax,GradMaxOpt,FireflyOpt"},
                         {"csv", "teacher_student"}});
  if (flags.help()) {
    std::printf("teacher_student: growing students on the GradMax teacher-student task\n%s", flags.usage().c_str());
    return 0;
  }
  const Setting s = setting_named(flags.str("setting"));
  const int seeds = static_cast<int>(flags.integer("seeds"));
  const double lr = flags.number("lr");
  require(seeds >= 1, "--seeds must be at least 1");

  const auto norm = grow::NormRule::mean_norm(1.0);
  const auto reference_random = grow::RandomDirection::nonnegative_uniform;
  std::vector<Method> all = {
      {"Baseline-Small", false, s.seed_width, {}},
      {"Baseline-Big", false, s.teacher.hidden, {}},
      {"Random", true, 0, grower(grow::Random{.norm = norm, .direction = reference_random})},
      {"GradMax", true, 0, grower(grow::GradMax{.norm = norm})},
      {"GradMaxOpt", true, 0, grower(grow::GradMaxOpt{.norm = norm, .start = reference_random})},
      {"FireflyOpt", true, 0, grower(grow::FireflyOpt{.norm = norm, .epsilon = 0.01, .direction = reference_random})},
      {"Split", true, 0, grower(grow::Split{})},
      {"InverseGradMaxOpt", true, 0, grower(grow::InverseGradMaxOpt{.norm = norm})},
  };
  std::vector<Method> methods;
  std::stringstream list(flags.str("methods"));
  for (std::string name; std::getline(list, name, ',');) {
    auto it = std::find_if(all.begin(), all.end(), [&](const Method& m) { return m.name == name; });
    require(it != all.end(), "--methods: unknown method '", name,
            "' (known: Baseline-Small, Baseline-Big, Random, GradMax, GradMaxOpt, FireflyOpt, Split, "
            "InverseGradMaxOpt)");
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
  for (const auto& m : methods)
    for (int seed = 0; seed < seeds; ++seed) runs[m.name].push_back(train(task, s, m, lr, 1000 + seed));

  // Final loss, mean [80% CI] over seeds.
  std::printf("%-18s %-30s %s\n", "method", "final training loss", "mean loss over the last 500 steps");
  std::vector<std::pair<double, std::string>> order;
  for (const auto& m : methods) {
    std::vector<double> final_loss, tail;
    for (const auto& r : runs[m.name]) {
      final_loss.push_back(r.loss.back());
      double sum = 0;
      for (std::size_t i = r.loss.size() - 500; i < r.loss.size(); ++i) sum += r.loss[i];
      tail.push_back(sum / 500);
    }
    const auto fi = examples::interval_80(final_loss);
    order.emplace_back(examples::interval_80(tail).mean, m.name);
    std::printf("%-18s %-30s %s\n", m.name.c_str(), examples::format_interval(fi).c_str(),
                examples::format_interval(examples::interval_80(tail)).c_str());
  }
  std::sort(order.begin(), order.end());
  std::printf("\nordering by the mean loss over the last 500 steps (lowest first; the last step alone is noisy where\n"
              "gradient descent with lr 0.1 oscillates):");
  for (const auto& [loss, name] : order) std::printf(" %s (%.4f)", name.c_str(), loss);
  std::printf("\n");

  // Paper Fig. 2a: gradient norm of the new incoming weights right after each growth.
  std::printf("\ngradient norm of the new incoming weights right after growth (mean over seeds):\n%-18s", "method");
  for (std::int64_t g = 1; g <= s.growths; ++g) std::printf(" %10s", ("growth " + std::to_string(g)).c_str());
  std::printf("\n");
  for (const auto& m : methods) {
    if (!m.grows) continue;
    std::printf("%-18s", m.name.c_str());
    for (std::int64_t g = 0; g < s.growths; ++g) {
      double sum = 0;
      for (const auto& r : runs[m.name]) sum += r.growths[static_cast<std::size_t>(g)].new_incoming_grad_norm;
      std::printf(" %10s", fmt(sum / seeds, "%.4g").c_str());
    }
    std::printf("\n");
  }

  // Paper Fig. 3c: the cost of a growth against a training step.
  std::printf("\ncost of one growth (including its gradient computation) against one training step:\n");
  for (const auto& m : methods) {
    if (!m.grows) continue;
    double grow_s = 0, train_s = 0;
    std::size_t n_growths = 0;
    for (const auto& r : runs[m.name]) {
      for (const auto& g : r.growths) grow_s += g.seconds;
      n_growths += r.growths.size();
      train_s += r.train_seconds;
    }
    const double step_ms = 1e3 * train_s / (static_cast<double>(s.steps) * seeds);
    const double grow_ms = 1e3 * grow_s / static_cast<double>(n_growths);
    std::printf("  %-18s growth %8.3f ms   training step %6.3f ms   ratio %6.1f\n", m.name.c_str(), grow_ms, step_ms,
                grow_ms / step_ms);
  }

  const std::string prefix = flags.str("csv");
  std::vector<std::string> curve_rows, growth_rows;
  for (const auto& m : methods)
    for (std::size_t seed = 0; seed < runs[m.name].size(); ++seed) {
      const auto& r = runs[m.name][seed];
      for (std::size_t step = 0; step < r.loss.size(); ++step)
        curve_rows.push_back(m.name + "," + std::to_string(seed) + "," + std::to_string(step) + "," +
                             fmt(r.loss[step], "%.6g") + "," + std::to_string(r.width[step]));
      for (std::size_t g = 0; g < r.growths.size(); ++g)
        growth_rows.push_back(m.name + "," + std::to_string(seed) + "," + std::to_string(g + 1) + "," +
                              std::to_string(r.growths[g].step) + "," + std::to_string(r.growths[g].width) + "," +
                              fmt(r.growths[g].new_incoming_grad_norm, "%.6g") + "," +
                              fmt(r.growths[g].seconds * 1e3, "%.4f"));
    }
  examples::write_csv(prefix + "_curves.csv", "method,seed,step,loss,width", curve_rows);
  examples::write_csv(prefix + "_growths.csv", "method,seed,growth,step,width,new_incoming_grad_norm,ms",
                      growth_rows);
  std::printf("\ncurves written to %s_curves.csv, growths to %s_growths.csv\n", prefix.c_str(), prefix.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "teacher_student: %s\n", e.what());
  return 1;
}
