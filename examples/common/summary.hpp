// examples/common/summary.hpp: small helpers the examples share: command-line flags and statistics over
// seeds (mean and a Student-t confidence interval, as the GradMax paper reports). CSV and JSON output
// live in the library (netgrow/train/csv.hpp, netgrow/train/run_summary.hpp), plots in plot.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace examples {

// --name value / --name=value flags; anything else is an error that lists the known flags.
class Flags {
 public:
  Flags(int argc, char** argv, std::map<std::string, std::string> defaults) : values_(std::move(defaults)) {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        help_ = true;
        continue;
      }
      if (arg.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument '" + arg + "'\n" + usage());
      arg = arg.substr(2);
      std::string value;
      if (const auto eq = arg.find('='); eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      } else {
        if (i + 1 >= argc) throw std::invalid_argument("flag --" + arg + " needs a value\n" + usage());
        value = argv[++i];
      }
      if (!values_.count(arg)) throw std::invalid_argument("unknown flag --" + arg + "\n" + usage());
      values_[arg] = value;
    }
  }
  bool help() const { return help_; }
  std::string str(const std::string& name) const { return values_.at(name); }
  long integer(const std::string& name) const { return std::stol(values_.at(name)); }
  double number(const std::string& name) const { return std::stod(values_.at(name)); }
  std::string usage() const {
    std::string s = "flags (default):\n";
    for (const auto& [k, v] : values_) s += "  --" + k + " (" + v + ")\n";
    return s;
  }

 private:
  std::map<std::string, std::string> values_;
  bool help_ = false;
};

// Two-sided Student-t quantile for an 80% interval (0.9 one-sided) with df degrees of freedom.
inline double t_quantile_80(int df) {
  static const double table[] = {0,     3.078, 1.886, 1.638, 1.533, 1.476, 1.440, 1.415, 1.397, 1.383, 1.372,
                                 1.363, 1.356, 1.350, 1.345, 1.341, 1.337, 1.333, 1.330, 1.328, 1.325};
  if (df < 1) return 0;
  return df <= 20 ? table[df] : 1.2816;
}

struct Interval {
  double mean = 0, low = 0, high = 0;
};

// Mean and 80% confidence interval of the mean over seeds.
inline Interval interval_80(const std::vector<double>& v) {
  Interval r;
  if (v.empty()) return r;
  for (double x : v) r.mean += x;
  r.mean /= static_cast<double>(v.size());
  double var = 0;
  for (double x : v) var += (x - r.mean) * (x - r.mean);
  const double n = static_cast<double>(v.size());
  const double half = v.size() > 1 ? t_quantile_80(static_cast<int>(v.size()) - 1) * std::sqrt(var / (n - 1) / n) : 0;
  r.low = r.mean - half;
  r.high = r.mean + half;
  return r;
}

inline std::string format_interval(const Interval& i) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.4f [%.4f, %.4f]", i.mean, i.low, i.high);
  return buf;
}

}  // namespace examples
