// examples/common/plot.hpp: PNG plots of the examples' results through gnuplot, when it is installed.
//
// Each plot is a self-contained gnuplot script NAME.gp (its data inline, as datablocks) written next
// to the picture NAME.png it renders, so a figure can be restyled and re-rendered with
//     cd <folder> && gnuplot NAME.gp
// Without gnuplot (Debian: gnuplot-nox) the scripts are still written and the PNGs skipped, with a
// note; plotting never makes an example fail.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "netgrow/train/format.hpp"

namespace examples {

// One line of a panel.
struct Series {
  std::string name{};
  std::vector<double> x{}, y{};
};

// One panel of a line plot: several series over a shared x axis.
struct Panel {
  std::string title{}, xlabel{}, ylabel{};
  bool log_y = false;
  bool si_y = false;              // counts: y tick labels with SI prefixes (1.2M) once values reach 10000
  std::string key = "top right";  // where the legend goes (gnuplot's `set key` position)
  std::vector<Series> series{};
};

// Values per category with an optional interval [low, high] each (empty: no error bars).
struct Points {
  std::string title{}, ylabel{};
  std::vector<std::string> labels{};
  std::vector<double> values{}, low{}, high{};
};

// What a plot call wrote.
struct PlotFiles {
  std::string script, png;  // png is empty when nothing was rendered
  std::string note;         // why the PNG is missing, if it is
};

namespace detail {

// A gnuplot double-quoted string.
inline std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// A POSIX shell single-quoted word.
inline std::string shell_word(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline std::string number(double v) {
  return netgrow::format_number(v);
}

// Header, terminal and output of a script rendering NAME.png of `width` x `height` pixels.
inline std::string preamble(const std::string& name, const std::string& what, int width, int height) {
  const std::string size = std::to_string(width) + "," + std::to_string(height);
  std::string s = "# " + what + ", written by a netgrow example.\n";
  s += "# Re-render from this folder: gnuplot " + name + ".gp\n";
  s += "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n";
  s += "  set terminal pngcairo size " + size + " font \",10\"\n";
  s += "} else {\n";
  s += "  set terminal png size " + size + "\n";
  s += "}\n";
  s += "set termoption noenhanced\n";  // names such as Baseline_Small stay as written
  s += "set output " + quoted(name + ".png") + "\n";
  return s;
}

// Writes the script, then renders it with gnuplot from its folder when gnuplot is installed.
inline PlotFiles render(const std::string& stem, const std::string& script) {
  namespace fs = std::filesystem;
  const fs::path path(stem);
  const fs::path folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  const std::string name = path.filename().string();
  PlotFiles files;
  files.script = stem + ".gp";
  {
    std::ofstream out(files.script, std::ios::binary);
    out << script;
    if (!out) {
      files.note = "cannot write " + files.script;
      return files;
    }
  }
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    files.note = "gnuplot not found (install gnuplot-nox to get PNG plots)";
    return files;
  }
  const std::string command = "cd " + shell_word(folder.string()) + " && gnuplot " + shell_word(name + ".gp");
  if (const int status = std::system(command.c_str()); status != 0) {
    files.note = "gnuplot failed on " + files.script + " (status " + std::to_string(status) + ")";
    return files;
  }
  files.png = stem + ".png";
  return files;
}

}  // namespace detail

// Line panels side by side in one picture (e.g. training loss and parameter count over steps, per
// method): writes stem.gp and, with gnuplot, stem.png. Series i is dashed with gnuplot dash type
// i % 5 + 1, so that identical curves (e.g. parameter counts of methods growing on one schedule)
// stay visible through each other's gaps.
inline PlotFiles plot_panels(const std::string& stem, const std::string& title, const std::vector<Panel>& panels) {
  const std::string name = std::filesystem::path(stem).filename().string();
  std::string s = detail::preamble(name, title, 700 * static_cast<int>(panels.size()), 500);
  for (std::size_t p = 0; p < panels.size(); ++p)
    for (std::size_t i = 0; i < panels[p].series.size(); ++i) {
      const Series& series = panels[p].series[i];
      s += "$panel" + std::to_string(p) + "_" + std::to_string(i) + " << EOD\n";
      for (std::size_t j = 0; j < series.x.size() && j < series.y.size(); ++j)
        s += detail::number(series.x[j]) + " " + detail::number(series.y[j]) + "\n";
      s += "EOD\n";
    }
  s += "set multiplot layout 1," + std::to_string(panels.size()) + " title " + detail::quoted(title) + "\n";
  s += "set grid\n";
  for (std::size_t p = 0; p < panels.size(); ++p) {
    const Panel& panel = panels[p];
    s += "set title " + detail::quoted(panel.title) + "\nset xlabel " + detail::quoted(panel.xlabel) + "\nset ylabel " +
         detail::quoted(panel.ylabel) + "\n" + (panel.log_y ? "set" : "unset") + " logscale y\n" + "set key " +
         panel.key + "\n";
    double largest = 0;
    for (const auto& series : panel.series)
      for (const double y : series.y) largest = std::max(largest, std::abs(y));
    s += std::string("set format y ") + (panel.si_y && largest >= 1e4 ? "\"%.1s%c\"" : "\"% h\"") + "\n";
    // A margin above and below the curves (linear axes only: on a log axis it would span decades).
    s += panel.log_y ? "set offsets 0, 0, 0, 0\n" : "set offsets 0, 0, graph 0.05, graph 0.05\n";
    s += "plot";
    for (std::size_t i = 0; i < panel.series.size(); ++i)
      s += std::string(i ? "," : "") + " \\\n  $panel" + std::to_string(p) + "_" + std::to_string(i) +
           " using 1:2 with lines linewidth 2 dashtype " + std::to_string(i % 5 + 1) + " title " +
           detail::quoted(panel.series[i].name);
    s += "\n";
  }
  s += "unset multiplot\n";
  return detail::render(stem, s);
}

// One point per category with its interval as an error bar, the value printed beside it: writes
// stem.gp and, with gnuplot, stem.png.
inline PlotFiles plot_points(const std::string& stem, const Points& points) {
  const std::string name = std::filesystem::path(stem).filename().string();
  const int n = static_cast<int>(points.labels.size());
  std::string s = detail::preamble(name, points.title, std::max(500, 130 * n + 200), 450);
  s += "$points << EOD\n";
  const bool bars = points.low.size() == points.values.size() && points.high.size() == points.values.size();
  for (int i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    s += detail::quoted(points.labels[k]) + " " + detail::number(points.values[k]) + " " +
         detail::number(bars ? points.low[k] : points.values[k]) + " " +
         detail::number(bars ? points.high[k] : points.values[k]) + "\n";
  }
  s += "EOD\n";
  s += "set title " + detail::quoted(points.title) + "\nset ylabel " + detail::quoted(points.ylabel) + "\n";
  s += "set grid ytics\nunset key\nset xrange [-0.5:" + std::to_string(n) + "-0.5]\n";
  s += "set offsets 0, 0, graph 0.15, graph 0.1\nset xtics rotate by -20\n";
  s += "plot $points using 0:2:3:4:xtic(1) with yerrorbars pointtype 7 pointsize 1.5 linewidth 2, \\\n"
       "  $points using 0:4:(sprintf(\"%.4g\", $2)) with labels offset 0,1\n";
  return detail::render(stem, s);
}

// Prints what a plot call wrote (stdout) or why the PNG is missing.
inline void report_plot(const PlotFiles& files) {
  if (!files.png.empty())
    std::printf("plot written to %s (script %s)\n", files.png.c_str(), files.script.c_str());
  else
    std::printf("plot script written to %s; no PNG: %s\n", files.script.c_str(), files.note.c_str());
}

}  // namespace examples
