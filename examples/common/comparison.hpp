// examples/common/comparison.hpp: what the one-shot growth comparisons (char_gpt, vit_fashion) share:
// choosing methods by name, the progress options, and the report: the table (final metric with its 80%
// interval over seeds, FLOPs and seconds against Baseline-Big, the jump the growth caused, the fraction
// of Big's FLOPs at which each run first reached Big's final metric), the JSON results, the CSV curves
// and the plots against FLOPs and seconds.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "netgrow/core/error.hpp"
#include "netgrow/train/csv.hpp"
#include "netgrow/train/format.hpp"
#include "netgrow/train/progress.hpp"
#include "netgrow/train/run_summary.hpp"
#include "plot.hpp"
#include "summary.hpp"

namespace examples {

/// One evaluation of a run.
struct CurvePoint {
  std::int64_t step = 0;
  double train_loss = 0, metric = 0, flops = 0, seconds = 0;
  netgrow::Index parameters = 0;
  std::string sizes{};
};

/// One method's run with one seed.
struct ComparisonRun {
  std::vector<CurvePoint> curve{};
  double final_metric = 0;  ///< the reported metric at the end (NaN when diverged)
  double flops = 0, seconds = 0;
  double jump = 0;          ///< metric just after the growth minus just before (0 for lossless growth)
  std::string diverged{};
};

/// What the report calls the metric.
struct Metric {
  std::string name;          ///< table header, e.g. "val bits/char"
  std::string key;           ///< JSON key, e.g. "val_bits"
  std::string curve_column;  ///< CSV column of the curve's metric
  bool lower_is_better = true;
};

/// The methods of `all` named in the comma-separated `list`, in its order; ArgumentError for an unknown name.
template <class Method>
std::vector<Method> select_methods(const std::vector<Method>& all, const std::string& list) {
  std::vector<Method> methods;
  std::stringstream names(list);
  for (std::string name; std::getline(names, name, ',');) {
    auto it = std::find_if(all.begin(), all.end(), [&](const Method& m) { return m.name == name; });
    netgrow::require(it != all.end(), "--methods: unknown method '", name, "'");
    methods.push_back(*it);
  }
  return methods;
}

/// The comma-separated integers of flag `flag`; ArgumentError unless there are `count`.
inline std::vector<netgrow::Index> integer_list(const Flags& flags, const std::string& flag, std::size_t count,
                                                const std::string& what) {
  std::vector<netgrow::Index> v;
  std::stringstream list(flags.str(flag));
  for (std::string item; std::getline(list, item, ',');) v.push_back(std::stol(item));
  netgrow::require(v.size() == count, "--", flag, ": ", what);
  return v;
}

/// Progress options from --progress for a run labelled `label`.
inline netgrow::ProgressOptions progress_options(const Flags& flags, const std::string& label, netgrow::Index batch) {
  netgrow::ProgressOptions po;
  po.label = label;
  po.samples_per_step = batch;
  po.style = netgrow::parse_progress_style(flags.str("progress"));
  return po;
}

/// Mean of the finite entries (NaN when there are none).
inline double mean_finite(const std::vector<double>& v) {
  double sum = 0;
  std::size_t n = 0;
  for (double x : v)
    if (std::isfinite(x)) sum += x, ++n;
  return n ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
}

/// v with `digits` decimals, "-" when not finite.
inline std::string fixed(double v, int digits) { return std::isfinite(v) ? netgrow::format_fixed(v, digits) : "-"; }

/// The fraction of `big_flops` at which `curve` first reaches `target` (NaN: never).
inline double flops_to_reach(const std::vector<CurvePoint>& curve, double target, double big_flops, bool lower_is_better) {
  for (const auto& p : curve)
    if (lower_is_better ? p.metric <= target : p.metric >= target) return p.flops / big_flops;
  return std::numeric_limits<double>::quiet_NaN();
}

/// Prints the table, writes <out>_curves.csv and the plots, and puts the results into summary["results"].
/// `methods` are (name, grows) in table order; runs[name] holds one run per seed.
inline void report_comparison(const std::vector<std::pair<std::string, bool>>& methods,
                              std::map<std::string, std::vector<ComparisonRun>>& runs, const Metric& metric,
                              const Flags& flags, const std::string& title, netgrow::RunSummary& summary) {
  const bool have_big = runs.count("Baseline-Big") > 0;
  double big_flops = std::numeric_limits<double>::quiet_NaN(), big_seconds = big_flops;
  if (have_big) {
    std::vector<double> f, t;
    for (const auto& r : runs["Baseline-Big"]) f.push_back(r.flops), t.push_back(r.seconds);
    big_flops = mean_finite(f), big_seconds = mean_finite(t);
  }
  std::printf("\n%-15s %-28s %-10s %-10s %-12s %s\n", "method", (metric.name + " (80% CI)").c_str(), "FLOPs/Big",
              "time/Big", "growth jump", "FLOPs to Big's final");
  netgrow::RunSummary::Json results;
  Panel by_flops{.title = metric.name + " vs training FLOPs", .xlabel = "training FLOPs", .ylabel = metric.name};
  Panel by_time{.title = metric.name + " vs seconds", .xlabel = "seconds", .ylabel = metric.name};
  for (const auto& [name, grows] : methods) {
    std::vector<double> final_metric, flops, seconds, jumps, reach;
    std::vector<std::string> diverged;
    for (std::size_t i = 0; i < runs[name].size(); ++i) {
      const ComparisonRun& r = runs[name][i];
      final_metric.push_back(r.final_metric), flops.push_back(r.flops), seconds.push_back(r.seconds);
      jumps.push_back(r.jump), diverged.push_back(r.diverged);
      if (have_big && i < runs["Baseline-Big"].size() && !runs["Baseline-Big"][i].curve.empty()) {
        const ComparisonRun& big = runs["Baseline-Big"][i];
        reach.push_back(flops_to_reach(r.curve, big.curve.back().metric, big.flops, metric.lower_is_better));
      }
    }
    std::string reach_text;
    for (double f : reach) reach_text += (reach_text.empty() ? "" : " ") + fixed(f, 2);
    std::printf("%-15s %-28s %-10s %-10s %-12s %s\n", name.c_str(), format_interval(interval_80(final_metric)).c_str(),
                fixed(mean_finite(flops) / big_flops, 2).c_str(), fixed(mean_finite(seconds) / big_seconds, 2).c_str(),
                grows ? fixed(mean_finite(jumps), 4).c_str() : "", reach_text.c_str());
    results[name] = {{metric.key, final_metric}, {"train_flops", flops},       {"seconds", seconds},
                     {"growth_jump", jumps},     {"flops_fraction_to_big_final", reach}, {"diverged", diverged}};
    Series f{.name = name}, t{.name = name};
    for (const auto& p : runs[name][0].curve) {
      f.x.push_back(p.flops), f.y.push_back(p.metric);
      t.x.push_back(p.seconds), t.y.push_back(p.metric);
    }
    by_flops.series.push_back(std::move(f));
    by_time.series.push_back(std::move(t));
  }
  const std::string out = flags.str("out");
  netgrow::CsvWriter csv(out + "_curves.csv", {"method", "seed", "step", "train_loss", metric.curve_column,
                                               "train_flops", "seconds", "parameters", "sizes"});
  for (const auto& [name, grows] : methods)
    for (std::size_t i = 0; i < runs[name].size(); ++i)
      for (const auto& p : runs[name][i].curve)
        csv.row(name, i, p.step, p.train_loss, p.metric, p.flops, p.seconds, p.parameters, p.sizes);
  csv.close();
  std::printf("\ncurves written to %s_curves.csv\n", out.c_str());
  summary["results"] = results;
  if (flags.str("plots") != "off") {
    const auto plot = plot_panels(out + "_curves", title + " (seed 0)", {by_flops, by_time});
    report_plot(plot);
    summary["files"]["curves_plot_script"] = plot.script;
    if (!plot.png.empty()) summary["files"]["curves_png"] = plot.png;
  }
}

}  // namespace examples
