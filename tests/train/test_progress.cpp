// Tests train/progress.hpp: throughput and ETA arithmetic under a hand-driven clock, the plain-lines
// format for logs (every N steps, every X seconds, the final line), the terminal style's rate limit,
// carriage returns and messages, and the automatic choice for a stream that is not a terminal.
#include <doctest/doctest.h>

#include "netgrow/train/progress.hpp"

#include <cstdio>
#include <string>
#include <vector>

using namespace netgrow;

namespace {

// A clock the test moves by hand, and a sink that keeps what was written.
struct Harness {
  double now = 0;
  std::vector<std::string> writes;
  ProgressOptions options(ProgressStyle style) {
    ProgressOptions o;
    o.style = style;
    o.clock = [this] { return now; };
    o.sink = [this](std::string_view s) { writes.emplace_back(s); };
    return o;
  }
  std::string all() const {
    std::string s;
    for (const auto& w : writes) s += w;
    return s;
  }
};

}  // namespace

TEST_CASE("Throughput: rate over observed intervals, moving average, ETA") {
  Throughput t(0.3, 0.25);
  CHECK(t.steps_per_second() == 0);
  CHECK(t.eta_seconds(10) == -1);  // unknown before two observations
  t.observe(10.0, 0);
  t.observe(11.0, 100);
  CHECK(t.steps_per_second() == doctest::Approx(100));
  CHECK(t.eta_seconds(400) == doctest::Approx(4));
  CHECK(t.eta_seconds(0) == 0);
  t.observe(11.1, 130);  // 0.1 s after the last used observation: skipped
  CHECK(t.steps_per_second() == doctest::Approx(100));
  t.observe(12.0, 150);  // 50 steps in 1 s since t = 11: 0.3 * 50 + 0.7 * 100
  CHECK(t.steps_per_second() == doctest::Approx(85));
  CHECK(t.average_steps_per_second() == doctest::Approx(75));
  CHECK(t.eta_seconds(170) == doctest::Approx(2));
  CHECK_THROWS_AS(Throughput(0), ArgumentError);
}

TEST_CASE("lines style: one newline-terminated line every N steps, exact format") {
  Harness h;
  auto o = h.options(ProgressStyle::lines);
  o.label = "GradMax seed 0";
  o.samples_per_step = 128;
  o.every_steps = 25;
  o.every_seconds = 0;
  {
    ProgressLine p(100, o);
    CHECK(p.style() == ProgressStyle::lines);
    for (int step = 1; step <= 100; ++step) {
      h.now = 0.5 * step;  // 2 steps per second
      p.update(step, {.loss = 0.5, .accuracy = 0.75, .parameters = 1234, .width = "4/8"});
    }
  }  // the destructor finishes: no extra line, step 100 was already written
  REQUIRE(h.writes.size() == 4);
  CHECK(h.writes[0] ==
        "GradMax seed 0  25/100 25.0%  elapsed 0:13  ETA 0:38  2 steps/s  256 samples/s  |  loss 0.5  acc 0.7500  "
        "params 1.23k  width 4/8\n");
  CHECK(h.writes[1].find("50/100 50.0%") != std::string::npos);
  CHECK(h.writes[1].find("ETA 0:25  2 steps/s") != std::string::npos);
  // The last line has no ETA.
  CHECK(
      h.writes[3] ==
      "GradMax seed 0  100/100 100.0%  elapsed 0:50  2 steps/s  256 samples/s  |  loss 0.5  acc 0.7500  params 1.23k  "
      "width 4/8\n");
  CHECK(h.all().find('\r') == std::string::npos);
}

TEST_CASE("lines style: by time, and a final line for the last step") {
  Harness h;
  auto o = h.options(ProgressStyle::lines);
  o.every_seconds = 10;
  ProgressLine p(1000, o);
  for (int step = 1; step <= 990; ++step) {
    h.now = step / 10.0;  // 10 steps per second: a line every 100 steps
    p.update(step);
  }
  CHECK(h.writes.size() == 9);
  CHECK(h.writes[0] == "100/1000 10.0%  elapsed 0:10  ETA 1:30  10 steps/s\n");
  p.finish();  // stopped early: the last state is written once
  REQUIRE(h.writes.size() == 10);
  CHECK(h.writes.back().rfind("990/1000 99.0%", 0) == 0);
  p.finish();
  CHECK(h.writes.size() == 10);
}

TEST_CASE("lines style: nothing before the first interval, nothing when no step ran") {
  Harness h;
  { ProgressLine p(10, h.options(ProgressStyle::lines)); }
  CHECK(h.writes.empty());
  ProgressLine p(10, h.options(ProgressStyle::lines));
  h.now = 1;
  p.update(1, {.loss = 2.0});
  CHECK(h.writes.empty());  // every_seconds = 10 by default
  CHECK(p.text() == "1/10 10.0%  elapsed 0:01  ETA 0:09  1 steps/s  |  loss 2");
}

TEST_CASE("terminal style: redrawn in place at most redraw_hz times a second, ended by a newline") {
  Harness h;
  auto o = h.options(ProgressStyle::terminal);
  o.redraw_hz = 10;
  o.columns = 200;
  {
    ProgressLine p(100, o);
    for (int step = 1; step <= 100; ++step) {
      h.now = 0.01 * step;  // 1 s in all: about 10 redraws
      p.update(step);
    }
  }
  REQUIRE(h.writes.size() >= 10);
  CHECK(h.writes.size() <= 13);
  for (std::size_t i = 0; i + 1 < h.writes.size(); ++i) {
    CHECK(h.writes[i].front() == '\r');
    CHECK(h.writes[i].ends_with("\x1b[K"));
    CHECK(h.writes[i].find('\n') == std::string::npos);
  }
  CHECK(h.writes.front() == "\r1/100 1.0%  elapsed 0:00  ETA --:--  -- steps/s\x1b[K");
  CHECK(h.writes.back() == "\r100/100 100.0%  elapsed 0:01  100 steps/s\x1b[K\n");
}

TEST_CASE("terminal style: messages clear the line, print, and redraw; long lines are cut") {
  Harness h;
  auto o = h.options(ProgressStyle::terminal);
  o.columns = 30;
  o.label = "a label long enough to be cut";
  ProgressLine p(4, o);
  p.update(1);
  REQUIRE(h.writes.size() == 1);
  CHECK(h.writes[0] == "\ra label long enough to be cut\x1b[K");  // 29 characters: columns - 1
  p.message("grew layer 0 to 16");
  REQUIRE(h.writes.size() == 3);
  CHECK(h.writes[1] == "\r\x1b[Kgrew layer 0 to 16\n");
  CHECK(h.writes[2] == h.writes[0]);
}

TEST_CASE("automatic style: a stream that is not a terminal gets plain lines") {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  double now = 0;
  ProgressOptions o;
  o.stream = file;
  o.every_steps = 1;
  o.clock = [&] { return now; };
  {
    ProgressLine p(2, o);
    CHECK(p.style() == ProgressStyle::lines);
    now = 1;
    p.update(1);
    now = 2;
    p.update(2);
  }
  std::rewind(file);
  char buffer[512] = {};
  const std::size_t n = std::fread(buffer, 1, sizeof buffer - 1, file);
  std::fclose(file);
  const std::string text(buffer, n);
  CHECK(text == "1/2 50.0%  elapsed 0:01  ETA 0:01  1 steps/s\n2/2 100.0%  elapsed 0:02  1 steps/s\n");
}

TEST_CASE("a run shorter than the sampling interval shows its average rate at the end") {
  Harness h;
  auto o = h.options(ProgressStyle::lines);
  ProgressLine p(10, o);
  for (int step = 1; step <= 10; ++step) {
    h.now = step / 100.0;  // 0.1 s in all: no sampled interval
    p.update(step);
  }
  CHECK(p.throughput().steps_per_second() == 0);
  p.finish();
  REQUIRE(h.writes.size() == 1);
  CHECK(h.writes[0] == "10/10 100.0%  elapsed 0:00  100 steps/s\n");
}

TEST_CASE("off style writes nothing; bad arguments are errors") {
  Harness h;
  {
    ProgressLine p(3, h.options(ProgressStyle::off));
    p.update(3, {.loss = 1});
    p.message("x");
    CHECK(p.text().rfind("3/3 100.0%  elapsed 0:00", 0) == 0);
    CHECK(p.text().ends_with("|  loss 1"));
  }
  CHECK(h.writes.empty());
  CHECK_THROWS_AS(ProgressLine(0), ArgumentError);
  ProgressOptions o;
  o.redraw_hz = 0;
  CHECK_THROWS_AS(ProgressLine(1, o), ArgumentError);
}

TEST_CASE("parse_progress_style names the four styles") {
  CHECK(parse_progress_style("auto") == ProgressStyle::automatic);
  CHECK(parse_progress_style("terminal") == ProgressStyle::terminal);
  CHECK(parse_progress_style("lines") == ProgressStyle::lines);
  CHECK(parse_progress_style("off") == ProgressStyle::off);
  CHECK_THROWS_WITH_AS(parse_progress_style("tty"), doctest::Contains("'tty'"), ArgumentError);
}
