// Tests io/dtype.hpp: names, sizes and parsing of the safetensors dtypes, and the C++ scalar mapping.
#include <doctest/doctest.h>

#include "netgrow/io/dtype.hpp"

#include <cstdint>
#include <set>
#include <string>

#include "netgrow/core/config.hpp"

using namespace netgrow::io;

TEST_CASE("every dtype has a distinct name that parses back to it") {
  std::set<std::string> names;
  for (const Dtype d : all_dtypes) {
    CAPTURE(dtype_name(d));
    CHECK(names.insert(std::string(dtype_name(d))).second);
    CHECK(parse_dtype(dtype_name(d)) == d);
    CHECK(dtype_size(d) >= 1);
  }
  CHECK(names.size() == 15);
}

TEST_CASE("dtype sizes follow the format") {
  CHECK(dtype_size(Dtype::BOOL) == 1);
  CHECK(dtype_size(Dtype::F8_E4M3) == 1);
  CHECK(dtype_size(Dtype::BF16) == 2);
  CHECK(dtype_size(Dtype::F16) == 2);
  CHECK(dtype_size(Dtype::F32) == 4);
  CHECK(dtype_size(Dtype::U32) == 4);
  CHECK(dtype_size(Dtype::F64) == 8);
  CHECK(dtype_size(Dtype::I64) == 8);
}

TEST_CASE("unknown or misspelt dtype names do not parse") {
  CHECK_FALSE(parse_dtype("f32").has_value());  // the format is case-sensitive
  CHECK_FALSE(parse_dtype("F33").has_value());
  CHECK_FALSE(parse_dtype("").has_value());
  CHECK_FALSE(parse_dtype("F32 ").has_value());
}

TEST_CASE("C++ scalars map to their dtypes") {
  static_assert(dtype_v<float> == Dtype::F32);
  static_assert(dtype_v<double> == Dtype::F64);
  static_assert(dtype_v<const float> == Dtype::F32);
  static_assert(dtype_v<std::int8_t> == Dtype::I8);
  static_assert(dtype_v<std::uint8_t> == Dtype::U8);
  static_assert(dtype_v<std::int16_t> == Dtype::I16);
  static_assert(dtype_v<std::uint16_t> == Dtype::U16);
  static_assert(dtype_v<std::int32_t> == Dtype::I32);
  static_assert(dtype_v<std::uint32_t> == Dtype::U32);
  static_assert(dtype_v<std::int64_t> == Dtype::I64);
  static_assert(dtype_v<std::uint64_t> == Dtype::U64);
  static_assert(dtype_v<bool> == Dtype::BOOL);
  static_assert(StorableScalar<netgrow::Index>);
  static_assert(!StorableScalar<long double>);
  CHECK(true);
}
