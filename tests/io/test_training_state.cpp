// Tests io/training_state.hpp: each item (optimizer step counter, generators, samplers, growth
// schedules, counters, growth history, metadata) is saved and restored; missing or incompatible
// items raise ArchitectureError and malformed ones IoError, before anything changes.
#include <doctest/doctest.h>

#include "netgrow/io/training_state.hpp"

#include <cstdint>
#include <string>
#include <vector>

using namespace netgrow;
using io::TrainingState;

namespace {

// Objects a training loop would checkpoint, in a state reached by using them.
struct Loop {
  Adam adam{CosineLr{.base = 0.1, .total_steps = 100}};
  Rng grow_rng{3};
  BatchSampler sampler{17, 4, Rng(5)};
  grow::GrowthSchedule schedule{10};
  std::int64_t step = 0;
  io::GrowthHistory history;

  void advance(int n) {
    for (int i = 0; i < n; ++i) {
      adam.set_steps(adam.steps() + 1);
      grow_rng.next_u64();
      sampler.next();
      ++step;
      if (schedule.due(step)) {
        schedule.record_growth();
        history.record(io::GrowthEvent{step, "fc1", io::GrowthKind::width, 0, 2, step, step + 1});
      }
    }
  }
  TrainingState state() {
    TrainingState s;
    s.optimizer(adam)
        .rng("grow", grow_rng)
        .sampler("train", sampler)
        .schedule("growth", schedule)
        .counter("step", step);
    s.history(history);
    return s;
  }
};

}  // namespace

TEST_CASE("every item is saved and restored: the restored loop continues exactly like the original") {
  Loop a;
  a.advance(23);
  io::Safetensors st;
  TrainingState saved = a.state();
  saved.metadata("run", "test");
  saved.save(st);
  CHECK(st.metadata.at("run") == "test");
  CHECK(st.contains("netgrow.sampler.train.order"));
  CHECK(st.metadata.count("netgrow.optimizer") == 1);

  Loop b;
  b.state().stage(st)();
  CHECK(b.adam.steps() == 23);
  CHECK(b.adam.learning_rate() == a.adam.learning_rate());
  CHECK(b.grow_rng == a.grow_rng);
  CHECK(b.step == 23);
  CHECK(b.schedule.growths() == 2);
  CHECK(b.history == a.history);
  a.advance(30);
  b.advance(30);
  CHECK(b.sampler.state().order == a.sampler.state().order);
  CHECK(b.sampler.state().position == a.sampler.state().position);
  CHECK(b.sampler.next()[0] == a.sampler.next()[0]);
  CHECK(b.grow_rng == a.grow_rng);
  CHECK(b.history == a.history);
}

TEST_CASE("items survive the file format") {
  Loop a;
  a.advance(7);
  io::Safetensors st;
  a.state().save(st);
  const io::Safetensors back = io::parse_safetensors(io::serialize_safetensors(st), "state.safetensors");
  Loop b;
  b.state().stage(back)();
  CHECK(b.grow_rng == a.grow_rng);
  CHECK(b.sampler.state().order == a.sampler.state().order);
  CHECK(b.adam.steps() == 7);
}

TEST_CASE("staging changes nothing; missing or incompatible items are ArchitectureError") {
  Loop a;
  a.advance(5);
  io::Safetensors st;
  a.state().save(st);
  st.source = "state.safetensors";

  Loop b;
  const auto before = b.sampler.state();
  const auto apply = b.state().stage(st);
  CHECK(b.adam.steps() == 0);  // not yet applied
  CHECK(b.sampler.state().order == before.order);
  CHECK(b.step == 0);

  Sgd sgd(0.1);
  CHECK_THROWS_WITH_AS(TrainingState().optimizer(sgd).stage(st),
                       doctest::Contains("saved with optimizer Adam, not Sgd"), ArchitectureError);
  AdamW adamw(0.1);
  CHECK_THROWS_AS(TrainingState().optimizer(adamw).stage(st), ArchitectureError);
  Rng other(1);
  CHECK_THROWS_WITH_AS(TrainingState().rng("init", other).stage(st), doctest::Contains("no rng named 'init'"),
                       ArchitectureError);
  BatchSampler small(16, 4, Rng(5));
  CHECK_THROWS_WITH_AS(TrainingState().sampler("train", small).stage(st), doctest::Contains("over 17 samples"),
                       ArchitectureError);
  std::int64_t epoch = 0;
  CHECK_THROWS_AS(TrainingState().counter("epoch", epoch).stage(st), ArchitectureError);

  io::Safetensors empty;
  CHECK_THROWS_WITH_AS(TrainingState().optimizer(b.adam).stage(empty), doctest::Contains("no optimizer state"),
                       ArchitectureError);
  CHECK_THROWS_AS(TrainingState().history(b.history).stage(empty), ArchitectureError);
  grow::GrowthSchedule s(3);
  CHECK_THROWS_AS(TrainingState().schedule("growth", s).stage(empty), ArchitectureError);
  CHECK(TrainingState().stage(empty) != nullptr);  // nothing asked, nothing needed
}

TEST_CASE("malformed records raise IoError naming the file and the item") {
  Loop a;
  a.advance(3);
  io::Safetensors good;
  a.state().save(good);
  good.source = "state.safetensors";
  Loop b;
  auto expect_io_error = [&](io::Safetensors st, const char* needle) {
    CAPTURE(needle);
    CHECK_THROWS_WITH_AS(b.state().stage(st), doctest::Contains(needle), IoError);
  };
  io::Safetensors st = good;
  st.metadata["netgrow.rngs"] = R"({"grow": [0, 0, 0, 0]})";
  expect_io_error(st, "all-zero");
  st.metadata["netgrow.rngs"] = R"({"grow": [1, 2, 3]})";
  expect_io_error(st, "four 64-bit words");
  st.metadata["netgrow.rngs"] = R"({"grow": [1, 2, 3, -4]})";
  expect_io_error(st, "word 3");
  st = good;
  st.metadata["netgrow.optimizer"] = R"({"kind": "Adam", "steps": -1})";
  expect_io_error(st, "negative optimizer step count");
  st.metadata["netgrow.optimizer"] = "[]";
  expect_io_error(st, "optimizer record");
  st = good;
  auto order = st.at("netgrow.sampler.train.order").values<std::int64_t>();
  order[0] = order[1];
  st.tensors["netgrow.sampler.train.order"] = io::SafeTensor::from_values<std::int64_t>({17}, order);
  expect_io_error(st, "permutation");
  st.tensors["netgrow.sampler.train.order"] =
      io::SafeTensor::from_values<std::int64_t>({2}, std::vector<std::int64_t>{0, 1});
  expect_io_error(st, "list of 17 indices");
  st.tensors.erase("netgrow.sampler.train.order");
  expect_io_error(st, "no tensor named 'netgrow.sampler.train.order'");
  st = good;
  st.metadata["netgrow.counters"] = R"({"step": "three"})";
  expect_io_error(st, "counter 'step'");
  st = good;
  st.metadata["netgrow.schedules"] = R"({"growth": {"growths": -2}})";
  expect_io_error(st, "negative growth count");
  st = good;
  st.metadata["netgrow.growth_history"] = R"({"not": "a list"})";
  expect_io_error(st, "growth history");
  st = good;
  st.metadata["netgrow.samplers"] = "[1]";
  expect_io_error(st, "not a JSON object");
}

TEST_CASE("items need distinct non-empty names, one optimizer and one history; reserved metadata keys are refused") {
  Rng r(1);
  BatchSampler s(4, 2, Rng(1));
  Sgd sgd(0.1);
  io::GrowthHistory h;
  TrainingState t;
  t.rng("a", r);
  CHECK_THROWS_AS(t.rng("a", r), ArgumentError);
  CHECK_THROWS_AS(t.rng("", r), ArgumentError);
  t.sampler("a", s);  // another kind of item may reuse a name
  t.optimizer(sgd);
  CHECK_THROWS_AS(t.optimizer(sgd), ArgumentError);
  t.history(h);
  CHECK_THROWS_AS(t.history(h), ArgumentError);
  CHECK_THROWS_AS(t.metadata("netgrow.version", "9"), ArgumentError);
  t.metadata("netgrowth", "fine");
  CHECK(t.metadata().at("netgrowth") == "fine");
}
