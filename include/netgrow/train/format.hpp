/// \file
/// netgrow/train/format.hpp: numbers and durations as text for logs, progress lines and CSV files.
///
/// Everything here goes through std::to_chars, so the result never depends on the C or C++ locale
/// (a program that calls setlocale(LC_ALL, "de_DE") still writes "0.5", not "0,5").
#pragma once

#include <charconv>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <string>

namespace netgrow {

namespace detail {

template <class... Format>
std::string to_chars_text(double value, Format... format) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[400];  // fixed notation of the largest double with some digits after the point fits
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, format...);
  if (result.ec != std::errc{}) return "?";
  return std::string(buffer, result.ptr);
}

}  // namespace detail

/// Shortest decimal text that reads back as exactly `value` ("0.1", "1e-07", "123456789");
/// "nan", "inf" and "-inf" for non-finite values.
inline std::string format_number(double value) {
  return detail::to_chars_text(value);
}
/// The same for float: the shortest text that reads back as the float ("0.1", not "0.100000001").
inline std::string format_number(float value) {
  if (!std::isfinite(value)) return format_number(static_cast<double>(value));
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return result.ec == std::errc{} ? std::string(buffer, result.ptr) : "?";
}
/// Integers in decimal.
template <std::integral T>
std::string format_number(T value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

/// `value` with `digits` digits after the decimal point (printf's %.Nf).
inline std::string format_fixed(double value, int digits) {
  return detail::to_chars_text(value, std::chars_format::fixed, digits);
}

/// `value` with `digits` significant digits (printf's %.Ng).
inline std::string format_significant(double value, int digits) {
  return detail::to_chars_text(value, std::chars_format::general, digits);
}

/// A count with an SI suffix and three significant digits: 950, 1.23k, 102k, 4.5M, 1.2G.
inline std::string format_si(double value) {
  if (!std::isfinite(value)) return format_number(value);
  const double magnitude = std::abs(value);
  const char* suffix = "";
  double scaled = value;
  if (magnitude >= 999.5e9)
    scaled = value / 1e12, suffix = "T";
  else if (magnitude >= 999.5e6)
    scaled = value / 1e9, suffix = "G";
  else if (magnitude >= 999.5e3)
    scaled = value / 1e6, suffix = "M";
  else if (magnitude >= 999.5)
    scaled = value / 1e3, suffix = "k";
  return format_significant(scaled, 3) + suffix;
}

/// A duration as m:ss or h:mm:ss (rounded to whole seconds): 0:07, 2:05, 1:02:03; "--:--" when the
/// duration is unknown (negative or not finite).
inline std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto total = static_cast<std::int64_t>(std::llround(seconds));
  const std::int64_t h = total / 3600, m = total / 60 % 60, s = total % 60;
  const auto two = [](std::int64_t v) {
    return std::string{static_cast<char>('0' + v / 10), static_cast<char>('0' + v % 10)};
  };
  return h > 0 ? format_number(h) + ":" + two(m) + ":" + two(s) : format_number(m) + ":" + two(s);
}

}  // namespace netgrow
