// Tests train/format.hpp: exact shortest numbers, fixed and significant digits, SI counts and
// durations, independent of the global locale.
#include <doctest/doctest.h>

#include "netgrow/train/format.hpp"

#include <cstdint>
#include <limits>
#include <string>

using namespace netgrow;

TEST_CASE("format_number writes the shortest text that reads back exactly") {
  CHECK(format_number(0.1) == "0.1");
  CHECK(format_number(1.0 / 3.0) == "0.3333333333333333");
  CHECK(std::stod(format_number(1.0 / 3.0)) == 1.0 / 3.0);
  CHECK(format_number(1e-7) == "1e-07");
  CHECK(format_number(-2.5) == "-2.5");
  CHECK(format_number(0.1f) == "0.1");  // float: not 0.10000000149011612
  CHECK(format_number(std::numeric_limits<double>::quiet_NaN()) == "nan");
  CHECK(format_number(-std::numeric_limits<double>::infinity()) == "-inf");
  CHECK(format_number(std::numeric_limits<float>::infinity()) == "inf");
  CHECK(format_number(std::int64_t{-9007199254740993}) == "-9007199254740993");
  CHECK(format_number(std::numeric_limits<std::uint64_t>::max()) == "18446744073709551615");
}

TEST_CASE("fixed and significant digits match printf's %f and %g") {
  CHECK(format_fixed(2.25, 1) == "2.2");  // round half to even on the exact binary value, as printf
  CHECK(format_fixed(0.85125, 4) == "0.8512");
  CHECK(format_fixed(100, 1) == "100.0");
  CHECK(format_fixed(1e300, 0).size() == 301);
  CHECK(format_significant(0.41234567, 4) == "0.4123");
  CHECK(format_significant(1234567.0, 3) == "1.23e+06");
  CHECK(format_significant(2.0, 3) == "2");
}

TEST_CASE("format_si: three significant digits and a suffix") {
  CHECK(format_si(0) == "0");
  CHECK(format_si(950) == "950");
  CHECK(format_si(999.4) == "999");
  CHECK(format_si(999.6) == "1k");
  CHECK(format_si(1234) == "1.23k");
  CHECK(format_si(102400) == "102k");
  CHECK(format_si(4.5e6) == "4.5M");
  CHECK(format_si(1.2e9) == "1.2G");
  CHECK(format_si(3e12) == "3T");
  CHECK(format_si(-1500) == "-1.5k");
}

TEST_CASE("format_duration: m:ss, h:mm:ss, and unknown") {
  CHECK(format_duration(0) == "0:00");
  CHECK(format_duration(7.4) == "0:07");
  CHECK(format_duration(59.6) == "1:00");
  CHECK(format_duration(125) == "2:05");
  CHECK(format_duration(3723) == "1:02:03");
  CHECK(format_duration(100 * 3600.0) == "100:00:00");
  CHECK(format_duration(-1) == "--:--");
  CHECK(format_duration(std::numeric_limits<double>::infinity()) == "--:--");
}
