/// \file
/// netgrow/train/progress.hpp: a progress line for training loops.
///
/// ~~~
///   ProgressLine progress(total_steps, {.label = "GradMax seed 0", .samples_per_step = 128});
///   for (std::int64_t step = 1; step <= total_steps; ++step) {
///     ...  // one training step
///     progress.update(step, {.loss = loss, .accuracy = accuracy, .parameters = net.parameter_count()});
///   }
///   progress.finish();
/// ~~~
///
/// prints, on a terminal, one line redrawn in place (carriage return, at most 10 times a second):
///
/// ~~~{.unparsed}
///   GradMax seed 0  1200/4686 25.6%  elapsed 0:14  ETA 0:41  85.3 steps/s  10.9k samples/s  |
///   loss 0.4123  acc 0.8512  params 102k  width 8/16/32
/// ~~~
///
/// (one line, cut to the terminal's width; wrapped here), and the same text as plain newline-terminated
/// lines every N steps and/or every X seconds when the stream is a file or a pipe (logs stay readable,
/// no carriage returns).
/// Throughput is a moving average of the rate over recent intervals, so the ETA follows a network that
/// slows down as it grows. Time comes from an injectable clock (tests drive it by hand).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#if __has_include(<unistd.h>) && __has_include(<sys/ioctl.h>)
#include <sys/ioctl.h>
#include <unistd.h>
#define NETGROW_PROGRESS_POSIX 1
#endif

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"
#include "netgrow/core/clock.hpp"
#include "netgrow/train/format.hpp"

namespace netgrow {

/// A monotonic clock in seconds (any origin).
using ProgressClock = std::function<double()>;

/// monotonic_seconds() (core/clock.hpp): the default ProgressClock.
inline double steady_seconds() {
  return monotonic_seconds();
}

/// Steps per second and time to go, from (time, completed steps) observations.
///
/// Observations closer than `min_interval` seconds to the last one used are skipped (the rate of a
/// single fast step is noise). Each used interval gives a rate (steps / seconds); the reported rate is
/// their exponential moving average, the newest interval weighted by `smoothing` (1: only the newest).
class Throughput {
 public:
  /// ArgumentError unless smoothing is in (0, 1] and min_interval is non-negative.
  explicit Throughput(double smoothing = 0.3, double min_interval = 0.25)
      : smoothing_(smoothing), min_interval_(min_interval) {
    require(smoothing > 0 && smoothing <= 1, "Throughput: smoothing must be in (0, 1], got ", smoothing);
    require(min_interval >= 0, "Throughput: min_interval must be non-negative, got ", min_interval);
  }

  /// Records that `step` steps were complete at time `seconds` (both non-decreasing).
  void observe(double seconds, std::int64_t step) {
    if (!started_) {
      started_ = true;
      first_time_ = last_time_ = seconds;
      first_step_ = last_step_ = step;
      return;
    }
    const double dt = seconds - last_time_;
    if (dt <= 0 || dt < min_interval_ || step <= last_step_) return;
    const double rate = static_cast<double>(step - last_step_) / dt;
    rate_ = rate_ > 0 ? smoothing_ * rate + (1 - smoothing_) * rate_ : rate;
    last_time_ = seconds;
    last_step_ = step;
  }

  /// Smoothed steps per second; 0 until two observations at least min_interval apart.
  double steps_per_second() const { return rate_; }
  /// Steps per second over everything observed (first to last used observation); 0 when unknown.
  double average_steps_per_second() const {
    return last_time_ > first_time_ ? static_cast<double>(last_step_ - first_step_) / (last_time_ - first_time_) : 0;
  }
  /// Seconds to complete `remaining` more steps at the smoothed rate; -1 when the rate is unknown.
  double eta_seconds(std::int64_t remaining) const {
    if (remaining <= 0) return 0;
    return rate_ > 0 ? static_cast<double>(remaining) / rate_ : -1;
  }

 private:
  double smoothing_, min_interval_;
  bool started_ = false;
  double first_time_ = 0, last_time_ = 0;
  std::int64_t first_step_ = 0, last_step_ = 0;
  double rate_ = 0;
};

/// How a ProgressLine writes.
enum class ProgressStyle {
  automatic,  ///< terminal when the stream is a terminal (isatty), else lines
  terminal,   ///< one line redrawn in place with a carriage return
  lines,      ///< a newline-terminated line every N steps / X seconds, and one at the end
  off,        ///< nothing (text() still works)
};

/// "auto", "terminal", "lines" or "off" (e.g. a --progress flag) as a ProgressStyle; ArgumentError
/// for anything else.
inline ProgressStyle parse_progress_style(std::string_view name) {
  if (name == "auto") return ProgressStyle::automatic;
  if (name == "terminal") return ProgressStyle::terminal;
  if (name == "lines") return ProgressStyle::lines;
  if (name == "off") return ProgressStyle::off;
  throw ArgumentError("progress style must be auto, terminal, lines or off, got '" + std::string(name) + "'");
}

/// How a ProgressLine looks, where it writes and how often.
struct ProgressOptions {
  std::string label{};         ///< printed first, e.g. "GradMax seed 0"
  Index samples_per_step = 0;  ///< > 0: also show samples per second (the batch size)
  /// How to write (see ProgressStyle).
  ProgressStyle style = ProgressStyle::automatic;
  double redraw_hz = 10;         ///< terminal: redraws per second at most
  std::int64_t every_steps = 0;  ///< lines: a line every this many steps (0: by time only)
  double every_seconds = 10;     ///< lines: a line when this many seconds passed since the last (0: by steps only)
  /// Where the text goes: stderr keeps stdout's tables and data clean (stdout is flushed before each
  /// write, so that what the program printed earlier appears first).
  std::FILE* stream = stderr;
  /// When set, receives the text instead of `stream` (a terminal redraw arrives as "\r<line>\x1b[K").
  std::function<void(std::string_view)> sink{};
  ProgressClock clock{};  ///< default: steady_seconds
  int columns = 0;        ///< terminal: truncate lines to this width (0: ask the terminal, else 120)
};

/// What a progress line shows besides the step count; each part is left out while unset.
struct ProgressValues {
  double loss = std::numeric_limits<double>::quiet_NaN();      ///< NaN: unset
  double accuracy = std::numeric_limits<double>::quiet_NaN();  ///< NaN: unset
  Index parameters = -1;                                       ///< parameter count; -1: unset
  std::string width{};                                         ///< e.g. "8/16/32" for the growing layers' widths
};

/// A training progress display: see the header comment for the two styles.
class ProgressLine {
 public:
  /// `total_steps` > 0: the number of update() steps that make the run complete.
  explicit ProgressLine(std::int64_t total_steps, ProgressOptions options = {})
      : total_(total_steps), options_(std::move(options)) {
    require(total_steps > 0, "ProgressLine: total_steps must be positive, got ", total_steps);
    require(options_.redraw_hz > 0, "ProgressLine: redraw_hz must be positive, got ", options_.redraw_hz);
    require(options_.every_steps >= 0 && options_.every_seconds >= 0,
            "ProgressLine: every_steps and every_seconds must be non-negative");
    if (!options_.clock) options_.clock = steady_seconds;
    style_ = options_.style;
    if (style_ == ProgressStyle::automatic)
      style_ = stream_is_terminal() ? ProgressStyle::terminal : ProgressStyle::lines;
    if (style_ == ProgressStyle::terminal && options_.columns <= 0) options_.columns = terminal_columns();
    start_ = last_draw_ = last_line_ = now_ = options_.clock();
    throughput_.observe(start_, 0);
  }
  /// Calls finish(), ignoring any exception.
  ~ProgressLine() {
    try {
      finish();
    } catch (...) {  // a destructor must not throw (a failing sink, an allocation)
    }
  }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  /// Records that `step` of total_steps steps are complete, with the values to show; draws when due:
  /// terminal style at most redraw_hz times a second and at the last step; lines style every
  /// every_steps steps or every_seconds seconds.
  void update(std::int64_t step, const ProgressValues& values = {}) {
    const double now = options_.clock();
    step_ = step;
    values_ = values;
    now_ = now;
    throughput_.observe(now, step);
    if (finished_) return;
    if (style_ == ProgressStyle::terminal) {
      if (step >= total_ || now - last_draw_ >= 1.0 / options_.redraw_hz || !drawn_) draw_terminal(now);
    } else if (style_ == ProgressStyle::lines) {
      const bool by_steps = options_.every_steps > 0 && step - last_line_step_ >= options_.every_steps;
      const bool by_time = options_.every_seconds > 0 && now - last_line_ >= options_.every_seconds;
      if (by_steps || by_time) write_line(now);
    }
  }

  /// Prints `text` as its own line without garbling the progress line (terminal style: clears it,
  /// prints, redraws it). Lines style and off: prints the text as a line (off: nothing).
  void message(std::string_view text) {
    if (style_ == ProgressStyle::off) return;
    std::string out;
    if (style_ == ProgressStyle::terminal && drawn_ && !finished_) out += "\r\x1b[K";
    out.append(text);
    out += '\n';
    emit(out);
    if (style_ == ProgressStyle::terminal && drawn_ && !finished_) draw_terminal(now_);
  }

  /// Draws the final state (terminal style: the line is ended with a newline; lines style: a last
  /// line unless the latest step's line was already written). Idempotent; the destructor calls it.
  void finish() {
    if (finished_) return;
    finished_ = true;
    if (step_ == 0 && !drawn_) return;  // nothing happened: print nothing
    if (style_ == ProgressStyle::terminal) {
      emit("\r" + fitted(text()) + "\x1b[K\n");
    } else if (style_ == ProgressStyle::lines && last_line_step_ != step_) {
      emit(text() + "\n");
    }
  }

  /// The line for the latest update, without carriage return or newline: label, progress, time and
  /// throughput first (what a narrow terminal keeps), then the values.
  std::string text() const {
    std::string t;
    if (!options_.label.empty()) t += options_.label + "  ";
    const double fraction = static_cast<double>(step_) / static_cast<double>(total_);
    t += format_number(step_) + "/" + format_number(total_) + " " + format_fixed(100 * fraction, 1) + "%";
    t += "  elapsed " + format_duration(now_ - start_);
    if (step_ < total_) t += "  ETA " + format_duration(throughput_.eta_seconds(total_ - step_));
    double rate = throughput_.steps_per_second();
    // A run shorter than the throughput's sampling interval: at its end, the overall average is exact.
    if (rate <= 0 && step_ >= total_ && now_ > start_) rate = static_cast<double>(step_) / (now_ - start_);
    t += "  " + (rate > 0 ? format_si(rate) : std::string("--")) + " steps/s";
    if (options_.samples_per_step > 0 && rate > 0)
      t += "  " + format_si(rate * static_cast<double>(options_.samples_per_step)) + " samples/s";
    std::string values;
    if (!std::isnan(values_.loss)) values += "  loss " + format_significant(values_.loss, 4);
    if (!std::isnan(values_.accuracy)) values += "  acc " + format_fixed(values_.accuracy, 4);
    if (values_.parameters >= 0) values += "  params " + format_si(static_cast<double>(values_.parameters));
    if (!values_.width.empty()) values += "  width " + values_.width;
    if (!values.empty()) t += "  |" + values;
    return t;
  }

  ProgressStyle style() const { return style_; }                ///< the style in use (never automatic)
  const Throughput& throughput() const { return throughput_; }  ///< the rates shown so far
  /// Seconds since construction at the latest update.
  double elapsed_seconds() const { return now_ - start_; }

 private:
  bool stream_is_terminal() const {
#if defined(NETGROW_PROGRESS_POSIX)
    return !options_.sink && options_.stream && ::isatty(::fileno(options_.stream)) == 1;
#else
    return false;
#endif
  }
  int terminal_columns() const {
#if defined(NETGROW_PROGRESS_POSIX)
    winsize w{};
    if (!options_.sink && options_.stream && ::ioctl(::fileno(options_.stream), TIOCGWINSZ, &w) == 0 && w.ws_col > 0)
      return w.ws_col;
#endif
    return 120;
  }
  // The line cut to the terminal's width (a wrapped line could not be redrawn with \r).
  std::string fitted(std::string t) const {
    const auto limit = static_cast<std::size_t>(std::max(options_.columns - 1, 10));
    if (t.size() > limit) t.resize(limit);
    return t;
  }
  void draw_terminal(double now) {
    emit("\r" + fitted(text()) + "\x1b[K");
    drawn_ = true;
    last_draw_ = now;
  }
  void write_line(double now) {
    emit(text() + "\n");
    drawn_ = true;
    last_line_ = now;
    last_line_step_ = step_;
  }
  void emit(const std::string& s) {
    if (options_.sink) {
      options_.sink(s);
    } else if (options_.stream) {
      if (options_.stream != stdout) std::fflush(stdout);  // what the program printed before comes first
      std::fwrite(s.data(), 1, s.size(), options_.stream);
      std::fflush(options_.stream);
    }
  }

  std::int64_t total_;
  ProgressOptions options_;
  ProgressStyle style_ = ProgressStyle::lines;
  Throughput throughput_;
  ProgressValues values_;
  std::int64_t step_ = 0, last_line_step_ = 0;
  double start_ = 0, now_ = 0, last_draw_ = 0, last_line_ = 0;
  bool drawn_ = false, finished_ = false;
};

}  // namespace netgrow
