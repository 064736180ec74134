/// \file
/// netgrow/train/csv.hpp: CSV files of training curves (one row per logged step, a header first).
///
/// ~~~
///   CsvWriter curves("run_curves.csv", {"method", "seed", "step", "loss", "parameters"});
///   curves.row("GradMax", 0, step, loss, net.parameter_count());
///   curves.close();  // reports write errors; the destructor closes quietly
/// ~~~
///
/// Fields follow RFC 4180: text is quoted when it holds a comma, a double quote, a line break or
/// leading/trailing spaces, with quotes doubled; numbers are written by format_number (shortest text
/// that reads back exactly, locale-independent; "nan" / "inf" for non-finite values). Lines end in
/// "\n". Rows are buffered: call flush() to make rows written so far visible to a reader.
#pragma once

#include <concepts>
#include <fstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "netgrow/core/error.hpp"
#include "netgrow/train/format.hpp"

namespace netgrow {

/// `field` as one CSV field: unchanged, or quoted with its double quotes doubled when it contains a
/// comma, a double quote, CR or LF, or begins or ends with a space or tab.
inline std::string csv_escape(std::string_view field) {
  bool quote = field.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!field.empty()) {
    const char first = field.front(), last = field.back();
    quote = quote || first == ' ' || first == '\t' || last == ' ' || last == '\t';
  }
  if (!quote) return std::string(field);
  std::string out = "\"";
  for (const char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

/// One value as a CSV field: text escaped, bool as 0/1, numbers by format_number.
template <class T>
std::string csv_field(const T& value) {
  if constexpr (std::same_as<T, bool>) {
    return value ? "1" : "0";
  } else if constexpr (std::is_arithmetic_v<T>) {
    return format_number(value);
  } else {
    static_assert(std::is_convertible_v<const T&, std::string_view>,
                  "csv_field: a CSV value must be a number, bool or text (std::string, string_view, const char*)");
    return csv_escape(std::string_view(value));
  }
}

/// A CSV file written row by row; see the header comment.
class CsvWriter {
 public:
  /// Creates (or truncates) `path` and writes the header `columns`; IoError when it cannot.
  CsvWriter(std::string path, std::vector<std::string> columns) : path_(std::move(path)), columns_(std::move(columns)) {
    require(!columns_.empty(), "CsvWriter: ", path_, " needs at least one column");
    out_.open(path_, std::ios::binary | std::ios::trunc);  // binary: "\n" stays "\n" on every platform
    if (!out_) throw IoError("CSV file " + path_ + ": cannot create it");
    std::vector<std::string> header;
    for (const auto& c : columns_) header.push_back(csv_escape(c));
    write_fields(header);
  }
  /// Closes the file quietly (write errors are not reported: call close() to see them).
  ~CsvWriter() {
    if (out_.is_open()) out_.close();
  }
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  /// Appends a row of values (numbers, bools, text), as many as there are columns.
  template <class... Values>
  void row(const Values&... values) {
    std::vector<std::string> fields;
    fields.reserve(sizeof...(Values));
    (fields.push_back(csv_field(values)), ...);
    write_row(fields);
  }
  /// Appends a row of already formatted fields (escaped here), as many as there are columns.
  void row_fields(const std::vector<std::string>& fields) {
    std::vector<std::string> escaped;
    escaped.reserve(fields.size());
    for (const auto& f : fields) escaped.push_back(csv_escape(f));
    write_row(escaped);
  }

  /// Makes the rows so far visible to readers of the file.
  void flush() {
    out_.flush();
    check();
  }
  /// Flushes and closes the file; IoError when anything could not be written. Idempotent.
  void close() {
    if (!out_.is_open()) return;
    out_.flush();
    check();
    out_.close();
    if (out_.fail()) throw IoError("CSV file " + path_ + ": error while closing it");
  }

  const std::string& path() const { return path_; }                     ///< the file written to
  const std::vector<std::string>& columns() const { return columns_; }  ///< the header
  /// Rows written so far, the header not counted.
  std::size_t rows() const { return rows_; }

 private:
  void write_row(const std::vector<std::string>& fields) {
    require<StateError>(out_.is_open(), "CsvWriter: ", path_, " is closed");
    require<ShapeError>(fields.size() == columns_.size(), "CsvWriter: ", path_, " has ", columns_.size(),
                        " columns but the row has ", fields.size(), " values");
    write_fields(fields);
    ++rows_;
  }
  // Fields already escaped.
  void write_fields(const std::vector<std::string>& fields) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out_ << ',';
      out_ << fields[i];
    }
    out_ << '\n';
    check();
  }
  void check() {
    if (!out_) throw IoError("CSV file " + path_ + ": write error (disk full?)");
  }

  std::string path_;
  std::vector<std::string> columns_;
  std::ofstream out_;
  std::size_t rows_ = 0;
};

}  // namespace netgrow
