// Tests train/run_summary.hpp: the summary's standard fields, user content parsed back, exact
// numbers, NaN as null, invalid UTF-8 replaced, atomic writes, and errors for unwritable paths.
#include <doctest/doctest.h>

#include "netgrow/train/run_summary.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

using namespace netgrow;

namespace {

std::string summary_temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("netgrow_test_summary_" + name)).string();
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

bool is_utc_timestamp(const std::string& s) {
  // 2025-01-31T12:00:00Z
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
    return false;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18})
    if (s[static_cast<std::size_t>(i)] < '0' || s[static_cast<std::size_t>(i)] > '9') return false;
  return true;
}

}  // namespace

TEST_CASE("RunSummary writes its standard fields and the user's content, in order") {
  const std::string path = summary_temp_path("run.json");
  const char* argv[] = {"fashion_mnist", "--epochs", "3", "--methods=GradMax,Random"};
  RunSummary summary("fashion_mnist", 4, argv);
  summary["config"] = {{"epochs", 3}, {"lr", 0.05}, {"methods", {"GradMax", "Random"}}};
  summary["results"]["GradMax"]["test_accuracy"] = {0.8912, 0.8875};
  summary["results"]["GradMax"]["loss"] = 1.0 / 3.0;
  summary["results"]["Random"]["loss"] = std::numeric_limits<double>::quiet_NaN();
  summary["note"] = std::string("bad \xff byte");
  summary.write(path);

  const nlohmann::json j = read_json(path);
  CHECK(j["program"] == "fashion_mnist");
  CHECK(j["netgrow_version"] == "0.1.0");
  CHECK(is_utc_timestamp(j["started_utc"].get<std::string>()));
  CHECK(is_utc_timestamp(j["finished_utc"].get<std::string>()));
  CHECK(j["wall_seconds"].get<double>() >= 0);
  CHECK(j["command_line"] == nlohmann::json({"--epochs", "3", "--methods=GradMax,Random"}));
  CHECK(j["config"]["lr"].get<double>() == 0.05);
  CHECK(j["config"]["methods"][1] == "Random");
  CHECK(j["results"]["GradMax"]["test_accuracy"][0].get<double>() == 0.8912);
  CHECK(j["results"]["GradMax"]["loss"].get<double>() == 1.0 / 3.0);  // exact round trip
  CHECK(j["results"]["Random"]["loss"].is_null());
  CHECK(j["note"] == "bad \xEF\xBF\xBD byte");

  // Keys keep their insertion order: the standard fields first, the finish last.
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  CHECK(text.find("\"program\"") < text.find("\"started_utc\""));
  CHECK(text.find("\"started_utc\"") < text.find("\"config\""));
  CHECK(text.find("\"config\"") < text.find("\"finished_utc\""));
  CHECK(text.back() == '\n');

  // Writing again updates the file in place.
  summary["results"]["Random"]["loss"] = 0.5;
  summary.write(path);
  CHECK(read_json(path)["results"]["Random"]["loss"].get<double>() == 0.5);
  std::filesystem::remove(path);
}

TEST_CASE("write_json_file: errors name the file") {
  CHECK_THROWS_WITH_AS(write_json_file(summary_temp_path("missing_dir") + "/s.json", nlohmann::json{{"a", 1}}),
                       doctest::Contains("cannot create"), IoError);
}
