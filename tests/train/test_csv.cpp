// Tests train/csv.hpp: RFC 4180 escaping, exact numbers, the file's bytes, column-count checks, and
// that a program-wide locale with a decimal comma changes nothing.
#include <doctest/doctest.h>

#include "netgrow/train/csv.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <locale>
#include <sstream>
#include <string>

using namespace netgrow;

namespace {

std::string csv_temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("netgrow_test_csv_" + name)).string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A locale that writes 1234.5 as "1.234,5".
struct DecimalComma : std::numpunct<char> {
  char do_decimal_point() const override { return ','; }
  char do_thousands_sep() const override { return '.'; }
  std::string do_grouping() const override { return "\3"; }
};

}  // namespace

TEST_CASE("csv_escape quotes only what needs quoting, doubling quotes") {
  CHECK(csv_escape("GradMax") == "GradMax");
  CHECK(csv_escape("") == "");
  CHECK(csv_escape("8/16/32") == "8/16/32");
  CHECK(csv_escape("a,b") == "\"a,b\"");
  CHECK(csv_escape("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_escape("two\nlines") == "\"two\nlines\"");
  CHECK(csv_escape("cr\r") == "\"cr\r\"");
  CHECK(csv_escape(" padded") == "\" padded\"");
  CHECK(csv_escape("tab\t") == "\"tab\t\"");
  CHECK(csv_escape("in side") == "in side");
}

TEST_CASE("CsvWriter writes the header and rows byte for byte") {
  const std::string path = csv_temp_path("rows.csv");
  {
    CsvWriter csv(path, {"method", "seed", "step", "loss", "ok", "note"});
    csv.row("GradMax", 0, std::int64_t{10}, 0.1, true, std::string("a,b"));
    csv.row(std::string_view("Random"), 1u, 20, 0.25f, false, "");
    csv.row_fields({"x\"y", "2", "30", "nan", "1", "z"});
    csv.row("Split", 2, 40, std::numeric_limits<double>::quiet_NaN(), false, "-");
    CHECK(csv.rows() == 4);
    CHECK_THROWS_AS(csv.row("too", "few"), ShapeError);
    csv.close();
    csv.close();
    CHECK_THROWS_AS(csv.row("GradMax", 0, 10, 0.1, true, "x"), StateError);
  }
  CHECK(read_file(path) ==
        "method,seed,step,loss,ok,note\n"
        "GradMax,0,10,0.1,1,\"a,b\"\n"
        "Random,1,20,0.25,0,\n"
        "\"x\"\"y\",2,30,nan,1,z\n"
        "Split,2,40,nan,0,-\n");
  std::filesystem::remove(path);
}

TEST_CASE("numbers read back exactly") {
  const std::string path = csv_temp_path("exact.csv");
  const double third = 1.0 / 3.0, tiny = 4.9e-324, big = 1.7976931348623157e308;
  {
    CsvWriter csv(path, {"a", "b", "c"});
    csv.row(third, tiny, big);
  }
  std::ifstream in(path);
  std::string header, a, b, c;
  std::getline(in, header);
  std::getline(in, a, ',');
  std::getline(in, b, ',');
  std::getline(in, c);
  CHECK(std::stod(a) == third);
  CHECK(std::strtod(b.c_str(), nullptr) == tiny);
  CHECK(std::stod(c) == big);
  std::filesystem::remove(path);
}

TEST_CASE("a global locale with a decimal comma and digit grouping changes nothing") {
  const std::string path = csv_temp_path("locale.csv");
  const std::locale previous = std::locale::global(std::locale(std::locale::classic(), new DecimalComma));
  {
    CsvWriter csv(path, {"count", "value"});
    csv.row(1234567, 1234.5);
  }
  std::locale::global(previous);
  CHECK(read_file(path) == "count,value\n1234567,1234.5\n");
  std::filesystem::remove(path);
}

TEST_CASE("CsvWriter reports files it cannot create") {
  CHECK_THROWS_WITH_AS(CsvWriter(csv_temp_path("no_such_dir") + "/x.csv", {"a"}), doctest::Contains("cannot create"),
                       IoError);
  CHECK_THROWS_AS(CsvWriter(csv_temp_path("empty.csv"), {}), ArgumentError);
}
