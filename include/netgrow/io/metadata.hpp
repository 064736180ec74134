/// \file
/// netgrow/io/metadata.hpp: JSON values inside safetensors metadata (whose values are strings), as
/// checkpoints store their architecture, optimizer and growth records: "netgrow.<name>" -> JSON text.
///
/// Reading is as defensive as the format reader: a missing key, text that is not JSON, or JSON nested
/// deeper than netgrow writes it raises IoError naming the file and the key.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "netgrow/core/error.hpp"
#include "netgrow/io/safetensors.hpp"

namespace netgrow::io {

/// The prefix of every metadata key and tensor name netgrow reserves for itself.
inline constexpr std::string_view reserved_prefix = "netgrow.";

/// Whether `name` starts with reserved_prefix.
inline bool is_reserved_name(std::string_view name) {
  return name.starts_with(reserved_prefix);
}

namespace detail {

/// Nesting beyond this is rejected while parsing (netgrow writes at most 6 levels).
inline constexpr int max_metadata_depth = 16;

/// `j` as compact JSON text; ArgumentError when a string in it is not valid UTF-8.
inline std::string dump_json(const nlohmann::json& j) {
  try {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  } catch (const nlohmann::json::exception& e) {
    throw ArgumentError(std::string("checkpoint metadata: a name or string is not valid UTF-8: ") + e.what());
  }
}

/// The metadata value `key` of `st` parsed as JSON, or nullopt when `st` has no such key.
inline std::optional<nlohmann::json> find_metadata_json(const Safetensors& st, const std::string& key) {
  const auto it = st.metadata.find(key);
  if (it == st.metadata.end()) return std::nullopt;
  const nlohmann::json::parser_callback_t limit_depth = [&](int depth, nlohmann::json::parse_event_t event,
                                                            nlohmann::json&) {
    if ((event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start) &&
        depth > max_metadata_depth)
      throw IoError(st.source + ": metadata '" + key + "' nests JSON deeper than netgrow writes it");
    return true;
  };
  try {
    return nlohmann::json::parse(it->second, limit_depth, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const nlohmann::json::exception& e) {
    throw IoError(st.source + ": metadata '" + key + "' is not valid JSON: " + e.what());
  }
}

/// As find_metadata_json, IoError when the key is missing.
inline nlohmann::json metadata_json(const Safetensors& st, const std::string& key) {
  auto j = find_metadata_json(st, key);
  if (!j) throw IoError(st.source + ": no metadata '" + key + "' (not a netgrow checkpoint, or a damaged one)");
  return std::move(*j);
}

/// Typed fields of a JSON object read from a file, with messages naming the file and what holds them.
class JsonFields {
 public:
  JsonFields(const nlohmann::json& j, std::string where) : j_(j), where_(std::move(where)) {
    require<IoError>(j.is_object(), where_, ": expected a JSON object");
  }

  bool has(const char* key) const { return j_.contains(key); }
  const nlohmann::json& at(const char* key) const {
    const auto it = j_.find(key);
    require<IoError>(it != j_.end(), where_, ": field '", key, "' is missing");
    return *it;
  }
  std::int64_t integer(const char* key) const {
    const nlohmann::json& v = at(key);
    const bool fits = v.is_number_unsigned() ? v.get<std::uint64_t>() <=
                                                   static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                                             : v.is_number_integer();
    require<IoError>(fits, where_, ": field '", key, "' is not a 64-bit integer");
    return v.get<std::int64_t>();
  }
  std::uint64_t unsigned_integer(const char* key) const {
    const nlohmann::json& v = at(key);
    require<IoError>(v.is_number_unsigned(), where_, ": field '", key, "' is not a non-negative integer");
    return v.get<std::uint64_t>();
  }
  double number(const char* key) const {
    const nlohmann::json& v = at(key);
    require<IoError>(v.is_number(), where_, ": field '", key, "' is not a number");
    return v.get<double>();
  }
  bool boolean(const char* key) const {
    const nlohmann::json& v = at(key);
    require<IoError>(v.is_boolean(), where_, ": field '", key, "' is not true or false");
    return v.get<bool>();
  }
  std::string string(const char* key) const {
    const nlohmann::json& v = at(key);
    require<IoError>(v.is_string(), where_, ": field '", key, "' is not a string");
    return v.get<std::string>();
  }
  const std::string& where() const { return where_; }

 private:
  const nlohmann::json& j_;
  std::string where_;
};

}  // namespace detail

}  // namespace netgrow::io
