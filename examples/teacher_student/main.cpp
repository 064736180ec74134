// examples/teacher_student: the GradMax paper's teacher-student task (section 4.1, appendix D).
//
// A random teacher MLP (Relu1, no bias, weights U[-1, 1]) labels N = 1000 Gaussian inputs; students
// learn it with full-batch gradient descent (lr 0.1) on the mean squared error. This program trains
// the paper's two fixed-size baselines over several seeds and prints the loss curve summary:
//   Baseline-Small  the student at its seed width (the hidden width half the teacher's)
//   Baseline-Big    the student at the teacher's width
// Settings: --setting small (teacher 20:10:10, 1500 steps) or large (teacher 100:50:10, 3500 steps).
// Curves go to a CSV file (--csv). Growing students join this comparison in the width-growth work.
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "../common/summary.hpp"
#include "netgrow/netgrow.hpp"

using namespace netgrow;

namespace {

struct Setting {
  TeacherStudentConfig teacher;
  Index student_hidden;
  int steps;
};

Setting setting_named(const std::string& name) {
  if (name == "small") return {{.in = 20, .hidden = 10, .out = 10, .samples = 1000}, 5, 1500};
  if (name == "large") return {{.in = 100, .hidden = 50, .out = 10, .samples = 1000}, 25, 3500};
  throw ArgumentError("--setting must be small or large, got '" + name + "'");
}

struct Run {
  std::vector<double> loss;  // loss before each step, then the final loss
  double seconds = 0;
};

// Trains a student of the given hidden width on the task with full-batch gradient descent.
Run train_student(const TeacherStudentTask<float>& task, Index hidden, int steps, double lr, std::uint64_t seed) {
  Rng rng(seed);
  const Index in = task.x.dim(1), out = task.y.dim(1);
  auto student = make_sequential<float, Cpu>(rng, Dense{.in = in, .out = hidden, .bias = false}, Relu1{},
                                             Dense{.in = hidden, .out = out, .bias = false});
  Sgd sgd(lr);
  Tensor<float> grad;
  Run run;
  const auto start = std::chrono::steady_clock::now();
  for (int step = 0; step <= steps; ++step) {
    const auto pred = student.forward(task.x);
    grad.resize(pred.shape());
    const double loss = MseLoss{}(pred, task.y, grad);
    if (!std::isfinite(loss)) {
      const auto where = student.find_non_finite();
      throw NumericError("loss became " + std::to_string(loss) + " at step " + std::to_string(step) +
                         (where ? " (" + *where + ")" : ""));
    }
    run.loss.push_back(loss);
    if (step == steps) break;
    student.backward(grad);
    sgd.step(student);
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

}  // namespace

int main(int argc, char** argv) try {
  examples::Flags flags(argc, argv,
                        {{"setting", "small"},
                         {"seeds", "5"},
                         {"lr", "0.1"},
                         {"steps", "0"},
                         {"data-seed", "0"},
                         {"csv", "teacher_student_curves.csv"}});
  if (flags.help()) {
    std::printf("teacher_student: fixed-width baselines on the GradMax teacher-student task\n%s",
                flags.usage().c_str());
    return 0;
  }
  Setting setting = setting_named(flags.str("setting"));
  if (flags.integer("steps") > 0) setting.steps = static_cast<int>(flags.integer("steps"));
  const int seeds = static_cast<int>(flags.integer("seeds"));
  const double lr = flags.number("lr");
  require(seeds >= 1, "--seeds must be at least 1");

  const auto& t = setting.teacher;
  Rng data_rng(static_cast<std::uint64_t>(flags.integer("data-seed")));
  const auto task = make_teacher_student<float>(t, data_rng);
  std::printf("netgrow teacher-student: teacher %td:%td:%td, N = %td, full-batch gradient descent, lr %g, "
              "MSE, %d steps, %d seeds\n\n",
              t.in, t.hidden, t.out, t.samples, lr, setting.steps, seeds);

  struct Method {
    std::string name;
    Index hidden;
    std::vector<Run> runs;
  };
  std::vector<Method> methods = {{"Baseline-Small", setting.student_hidden, {}}, {"Baseline-Big", t.hidden, {}}};
  for (auto& m : methods)
    for (int s = 0; s < seeds; ++s) m.runs.push_back(train_student(task, m.hidden, setting.steps, lr, 1000 + s));

  // Loss at a few steps: mean [80% confidence interval] over seeds.
  std::printf("%-8s", "step");
  for (const auto& m : methods) {
    const std::string title = m.name + " (" + std::to_string(t.in) + ":" + std::to_string(m.hidden) + ":" +
                              std::to_string(t.out) + ")";
    std::printf("  %-32s", title.c_str());
  }
  std::printf("\n");
  std::vector<int> marks = {0, setting.steps / 15, setting.steps / 3, 2 * setting.steps / 3, setting.steps};
  for (int step : marks) {
    std::printf("%-8d", step);
    for (const auto& m : methods) {
      std::vector<double> v;
      for (const auto& r : m.runs) v.push_back(r.loss[static_cast<std::size_t>(step)]);
      std::printf("  %-32s", examples::format_interval(examples::interval_80(v)).c_str());
    }
    std::printf("\n");
  }

  std::vector<double> small_final, big_final;
  for (const auto& r : methods[0].runs) small_final.push_back(r.loss.back());
  for (const auto& r : methods[1].runs) big_final.push_back(r.loss.back());
  const auto small = examples::interval_80(small_final), big = examples::interval_80(big_final);
  std::printf("\nfinal training loss, mean [80%% CI] over %d seeds:\n", seeds);
  for (const auto& m : methods) {
    std::vector<double> v;
    double seconds = 0;
    for (const auto& r : m.runs) v.push_back(r.loss.back()), seconds += r.seconds;
    std::printf("  %-15s %s   (%.3f ms per step)\n", m.name.c_str(),
                examples::format_interval(examples::interval_80(v)).c_str(),
                1e3 * seconds / (static_cast<double>(setting.steps) * seeds));
  }
  std::printf("result: Baseline-Big ends %s Baseline-Small (%.4f vs %.4f, ratio %.2f)\n",
              big.mean < small.mean ? "below" : "ABOVE", big.mean, small.mean, small.mean / big.mean);

  std::vector<std::string> rows;
  for (const auto& m : methods)
    for (std::size_t s = 0; s < m.runs.size(); ++s)
      for (std::size_t step = 0; step < m.runs[s].loss.size(); ++step)
        rows.push_back(m.name + "," + std::to_string(s) + "," + std::to_string(step) + "," +
                       std::to_string(m.runs[s].loss[step]));
  const std::string csv = flags.str("csv");
  examples::write_csv(csv, "method,seed,step,loss", rows);
  std::printf("curves written to %s\n", csv.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "teacher_student: %s\n", e.what());
  return 1;
}
