// Tests io/growth_history.hpp: recording growth reports and depth insertions, the JSON round trip,
// and IoError for malformed records.
#include <doctest/doctest.h>

#include "netgrow/io/growth_history.hpp"

#include "netgrow/grow/heads.hpp"
#include "netgrow/grow/stream.hpp"
#include "netgrow/grow/width.hpp"

using namespace netgrow;
using io::GrowthEvent;
using io::GrowthHistory;
using io::GrowthKind;

TEST_CASE("a history records width growths from reports and depth insertions, and round trips through JSON") {
  GrowthHistory h;
  CHECK(h.empty());
  grow::GrowthReport r;
  r.producer = 0;
  r.consumer = 2;
  r.old_width = 4;
  r.new_width = 10;
  h.record(5, r, "fc1");
  grow::GrowthReport unnamed;
  unnamed.producer = 2;
  unnamed.consumer = 4;
  unnamed.old_width = 3;
  unnamed.new_width = 5;
  h.record(5, unnamed);
  h.record_depth(9, "group1", 1, 1, 2);
  REQUIRE(h.size() == 3);
  CHECK(h.events()[0] == GrowthEvent{5, "fc1", GrowthKind::width, 0, 2, 4, 10});
  CHECK(h.events()[1].site.empty());
  CHECK(h.events()[2].kind == GrowthKind::depth);
  CHECK(h.events()[2].new_width == 2);

  const nlohmann::json j = h.to_json();
  CHECK(j[0]["site"] == "fc1");
  CHECK(j[0]["old_width"] == 4);
  CHECK(j[2]["kind"] == "depth");
  CHECK(GrowthHistory::from_json(j) == h);
  CHECK(GrowthHistory::from_json(nlohmann::json::parse(j.dump())) == h);
  h.clear();
  CHECK(h.empty());
}

TEST_CASE("a history records transformer growths: heads per block and the model width, and round trips") {
  GrowthHistory h;
  grow::HeadReport heads;
  heads.old_heads = 2;
  heads.new_heads = 4;
  grow::StreamReport stream;
  stream.old_width = 64;
  stream.new_width = 128;
  h.record_stream(300, stream);
  h.record_heads(300, "block1.attention", 1, heads);
  REQUIRE(h.size() == 2);
  CHECK(h.events()[0] == GrowthEvent{300, "stream", GrowthKind::stream, 0, 0, 64, 128});
  CHECK(h.events()[1] == GrowthEvent{300, "block1.attention", GrowthKind::heads, 1, 1, 2, 4});
  const nlohmann::json j = h.to_json();
  CHECK(j[0]["kind"] == "stream");
  CHECK(j[1]["kind"] == "heads");
  CHECK(GrowthHistory::from_json(nlohmann::json::parse(j.dump())) == h);
}

TEST_CASE("a shrinking or negative growth is refused") {
  GrowthHistory h;
  CHECK_THROWS_AS(h.record(GrowthEvent{1, "x", GrowthKind::width, 0, 2, 5, 4}), ArgumentError);
  CHECK_THROWS_AS(h.record(GrowthEvent{1, "x", GrowthKind::width, 0, 2, -1, 4}), ArgumentError);
  CHECK(h.empty());
}

TEST_CASE("malformed JSON records raise IoError naming the event and the field") {
  const nlohmann::json good = nlohmann::json::parse(
      R"([{"step": 1, "site": "a", "kind": "width", "producer": 0, "consumer": 2, "old_width": 1, "new_width": 2}])");
  CHECK(GrowthHistory::from_json(good).size() == 1);
  auto broken = [&](const char* key, nlohmann::json value) {
    nlohmann::json j = good;
    if (value.is_discarded())
      j[0].erase(key);
    else
      j[0][key] = value;
    return j;
  };
  CHECK_THROWS_WITH_AS(GrowthHistory::from_json(nlohmann::json::object(), "ckpt"), doctest::Contains("ckpt"), IoError);
  CHECK_THROWS_WITH_AS(GrowthHistory::from_json(nlohmann::json::array({1})), doctest::Contains("event 0"), IoError);
  CHECK_THROWS_WITH_AS(GrowthHistory::from_json(broken("step", nlohmann::json(nlohmann::json::value_t::discarded))),
                       doctest::Contains("'step'"), IoError);
  CHECK_THROWS_AS(GrowthHistory::from_json(broken("step", "1")), IoError);
  CHECK_THROWS_AS(GrowthHistory::from_json(broken("step", 18446744073709551615ULL)), IoError);
  CHECK_THROWS_AS(GrowthHistory::from_json(broken("site", 3)), IoError);
  CHECK_THROWS_WITH_AS(GrowthHistory::from_json(broken("kind", "height")), doctest::Contains("'kind'"), IoError);
  CHECK_THROWS_AS(GrowthHistory::from_json(broken("producer", -1)), IoError);
  CHECK_THROWS_AS(GrowthHistory::from_json(broken("new_width", 0)), IoError);
  CHECK_THROWS_AS(GrowthHistory::from_json(broken("old_width", 2.5)), IoError);
}
