// Tests io/metadata.hpp: JSON values inside safetensors metadata, read defensively.
#include <doctest/doctest.h>

#include "netgrow/io/metadata.hpp"

#include <string>

using namespace netgrow;

TEST_CASE("metadata JSON is found, parsed and reported when missing or malformed") {
  io::Safetensors st;
  st.source = "ckpt.safetensors";
  st.metadata["netgrow.ok"] = R"({"a": [1, 2], "b": "x"})";
  st.metadata["netgrow.bad"] = "{not json";
  st.metadata["netgrow.deep"] = std::string(40, '[') + std::string(40, ']');
  const auto ok = io::detail::metadata_json(st, "netgrow.ok");
  CHECK(ok["a"][1] == 2);
  CHECK_FALSE(io::detail::find_metadata_json(st, "netgrow.none").has_value());
  CHECK_THROWS_WITH_AS(io::detail::metadata_json(st, "netgrow.none"),
                       doctest::Contains("ckpt.safetensors: no metadata 'netgrow.none'"), IoError);
  CHECK_THROWS_WITH_AS(io::detail::metadata_json(st, "netgrow.bad"),
                       doctest::Contains("'netgrow.bad' is not valid JSON"), IoError);
  CHECK_THROWS_WITH_AS(io::detail::metadata_json(st, "netgrow.deep"), doctest::Contains("deeper"), IoError);
}

TEST_CASE("JsonFields reads typed fields and names the holder and the field when they are wrong") {
  const nlohmann::json j =
      nlohmann::json::parse(R"({"i": -3, "u": 7, "d": 0.5, "b": true, "s": "x", "big": 18446744073709551615})");
  const io::detail::JsonFields f(j, "record");
  CHECK(f.integer("i") == -3);
  CHECK(f.unsigned_integer("u") == 7);
  CHECK(f.number("d") == 0.5);
  CHECK(f.boolean("b"));
  CHECK(f.string("s") == "x");
  CHECK(f.has("s"));
  CHECK_FALSE(f.has("t"));
  CHECK_THROWS_WITH_AS(f.integer("big"), doctest::Contains("record: field 'big'"), IoError);
  CHECK_THROWS_AS(f.unsigned_integer("i"), IoError);
  CHECK_THROWS_AS(f.number("s"), IoError);
  CHECK_THROWS_AS(f.boolean("i"), IoError);
  CHECK_THROWS_AS(f.string("b"), IoError);
  CHECK_THROWS_WITH_AS(f.at("t"), doctest::Contains("field 't' is missing"), IoError);
  CHECK_THROWS_AS(io::detail::JsonFields(nlohmann::json::array(), "x"), IoError);
}

TEST_CASE("reserved names start with netgrow.") {
  CHECK(io::is_reserved_name("netgrow.architecture"));
  CHECK_FALSE(io::is_reserved_name("0.weight"));
  CHECK_FALSE(io::is_reserved_name("netgrow"));
}
