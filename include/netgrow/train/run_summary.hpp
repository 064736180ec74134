/// \file
/// netgrow/train/run_summary.hpp: a JSON record of one program run (nlohmann-json, which netgrow::netgrow
/// links).
///
/// ~~~
///   RunSummary summary("fashion_mnist", argc, argv);
///   summary["config"] = {{"epochs", 3}, {"lr", 0.05}};
///   summary["results"]["GradMax"] = {{"test_accuracy", 0.89}};
///   summary.write("out/fashion_mnist_summary.json");
/// ~~~
///
/// writes (keys in insertion order, two-space indent):
///
/// ~~~{.unparsed}
///   {"program": "fashion_mnist", "netgrow_version": "0.1.0", "started_utc": "2025-01-31T12:00:00Z",
///    "command_line": ["--epochs", "3"], "config": {...}, "results": {...},
///    "finished_utc": "...", "wall_seconds": 812.4}
/// ~~~
///
/// Numbers are written exactly (shortest round-trip text, locale-independent); NaN and infinities
/// become null (JSON has no such numbers); invalid UTF-8 in strings is replaced by U+FFFD rather than
/// failing. Files are written to a temporary file and renamed into place (io/atomic_file.hpp), so a
/// reader never sees a half-written summary.
#pragma once

#include <chrono>
#include <ctime>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "netgrow/core/config.hpp"
#include "netgrow/io/atomic_file.hpp"

namespace netgrow {

/// Writes `document` to `path` (pretty-printed, trailing newline) atomically: readers see the old file
/// or the complete new one (io/atomic_file.hpp); IoError when it cannot.
template <class Json>
void write_json_file(const std::string& path, const Json& document, int indent = 2) {
  const std::string text = document.dump(indent, ' ', false, Json::error_handler_t::replace) + "\n";
  io::write_file_atomically(path, std::as_bytes(std::span(text.data(), text.size())));
}

/// A time point as ISO 8601 UTC with seconds, "2025-01-31T12:00:00Z".
inline std::string utc_timestamp(std::chrono::system_clock::time_point t = std::chrono::system_clock::now()) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
#if defined(_WIN32)
  gmtime_s(&utc, &seconds);
#else
  gmtime_r(&seconds, &utc);
#endif
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

/// The JSON summary of one run; see the header comment. Fields are free-form: the constructor sets
/// "program", "netgrow_version", "started_utc" and, given argv, "command_line"; write() sets
/// "finished_utc" and "wall_seconds".
class RunSummary {
 public:
  using Json = nlohmann::ordered_json;  ///< keeps keys in insertion order

  /// Starts the clock and records "program", "netgrow_version" and "started_utc".
  explicit RunSummary(const std::string& program) : start_(std::chrono::steady_clock::now()) {
    document_["program"] = program;
    document_["netgrow_version"] = std::to_string(NETGROW_VERSION_MAJOR) + "." + std::to_string(NETGROW_VERSION_MINOR) +
                                   "." + std::to_string(NETGROW_VERSION_PATCH);
    document_["started_utc"] = utc_timestamp();
  }
  /// The same, recording the arguments argv[1..argc-1] as "command_line".
  RunSummary(const std::string& program, int argc, const char* const* argv) : RunSummary(program) {
    Json args = Json::array();
    for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
    document_["command_line"] = std::move(args);
  }

  /// The top-level field `key` (created as null when missing).
  Json& operator[](const std::string& key) { return document_[key]; }
  /// The whole document.
  ///@{
  Json& json() { return document_; }
  const Json& json() const { return document_; }
  ///@}

  /// Records the finish time and the wall-clock seconds since construction, then writes the summary
  /// to `path` with write_json_file. May be called again (e.g. after each method) to update the file.
  void write(const std::string& path) {
    document_["finished_utc"] = utc_timestamp();
    document_["wall_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    write_json_file(path, document_);
  }

 private:
  Json document_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace netgrow
