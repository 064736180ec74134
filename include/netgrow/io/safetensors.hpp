/// \file
/// netgrow/io/safetensors.hpp: reading and writing the safetensors format (Hugging Face), the file
/// format of netgrow's checkpoints, readable by `safetensors.numpy.load_file` and PyTorch.
///
/// Layout of a file:
/// ~~~{.unparsed}
/// 8 bytes     N, the header length, unsigned 64-bit little-endian
/// N bytes     the header: a UTF-8 JSON object, may be padded with trailing spaces (netgrow pads it
///             to a multiple of 8 so the data starts 8-byte aligned)
///               {"<tensor name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
///                ..., "__metadata__": {"<key>": "<string value>", ...}}
/// the rest    the tensors' bytes, little-endian, row-major; offsets are relative to the first byte
///             after the header and the tensors tile this section exactly (no gap, no overlap, no
///             trailing bytes)
/// ~~~
///
/// The readers trust nothing: every length, offset, dtype, shape and byte count is checked before
/// use, and anything malformed (truncated file, absurd header length, invalid JSON or UTF-8, repeated
/// keys, nesting deeper than the format's, unknown dtype, missing or extra fields, negative or
/// overflowing shapes, offsets outside the data, overlapping or not tiling it, size not matching
/// shape x dtype) raises IoError naming the file, the tensor and what is wrong, never a crash.
/// parse_safetensors works on a memory buffer (for fuzzers and embedded data), read_safetensors on a
/// file without holding the file twice in memory. Writes are atomic (io/atomic_file.hpp).
///
/// ~~~
/// Safetensors st;
/// st.tensors["w"] = SafeTensor::from(weights);          // a netgrow tensor (any device)
/// st.metadata["epoch"] = "3";
/// write_safetensors("model.safetensors", st);
/// Tensor<float> w = read_safetensors("model.safetensors").at("w").to_tensor<float>();
/// ~~~
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "netgrow/core/error.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/io/atomic_file.hpp"
#include "netgrow/io/dtype.hpp"

namespace netgrow::io {

static_assert(std::endian::native == std::endian::little,
              "netgrow::io copies tensor bytes as they are in memory; the safetensors format is little-endian");

/// Header lengths beyond this are rejected as corrupt (the reference implementation's limit).
inline constexpr std::uint64_t max_header_bytes = 100'000'000;

namespace detail {

/// Elements of a shape (1 for rank 0), or nullopt when a dimension is negative or the product of
/// elements times `element_size` overflows 64 bits.
inline std::optional<std::uint64_t> checked_numel(std::span<const std::int64_t> shape, std::size_t element_size) {
  std::uint64_t n = 1;
  for (const std::int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n)) return std::nullopt;
  }
  std::uint64_t bytes = 0;
  if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(element_size), &bytes)) return std::nullopt;
  return n;
}

inline std::string shape_string(std::span<const std::int64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace detail

/// One tensor as the format stores it: dtype, shape of any rank (empty: a scalar) and its bytes.
struct SafeTensor {
  Dtype dtype = Dtype::F32;         ///< the element type
  std::vector<std::int64_t> shape;  ///< dimensions, outermost first
  std::vector<std::byte> data;      ///< numel() * dtype_size(dtype) bytes, little-endian, row-major

  /// Number of elements (1 for a scalar). Throws ShapeError for a negative or overflowing shape.
  std::int64_t numel() const {
    const auto n = detail::checked_numel(shape, dtype_size(dtype));
    require<ShapeError>(n.has_value() && *n <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()),
                        "SafeTensor: invalid shape ", detail::shape_string(shape));
    return static_cast<std::int64_t>(*n);
  }

  /// The tensor of `shape` holding `values` (row-major); ShapeError when the counts differ.
  template <StorableScalar T>
  static SafeTensor from_values(std::vector<std::int64_t> shape, std::span<const T> values) {
    SafeTensor t;
    t.dtype = dtype_v<T>;
    t.shape = std::move(shape);
    require<ShapeError>(t.numel() == static_cast<std::int64_t>(values.size()),
                        "SafeTensor::from_values: ", values.size(), " values for shape ",
                        detail::shape_string(t.shape));
    t.data.resize(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(t.data.data(), values.data(), t.data.size());
    return t;
  }

  /// A copy of a netgrow Tensor or view (Cpu; a device tensor is copied to the host first).
  template <class Source>
  static SafeTensor from(const Source& source) {
    const auto v = const_view(source);
    using T = typename decltype(v)::value_type;
    static_assert(StorableScalar<T>, "SafeTensor::from: the format has no dtype for this scalar type");
    const Tensor<T, Cpu> host = host_copy(v);
    std::vector<std::int64_t> shape(static_cast<std::size_t>(v.rank()));
    for (int i = 0; i < v.rank(); ++i) shape[static_cast<std::size_t>(i)] = v.dim(i);
    return from_values<T>(std::move(shape), std::span<const T>(host.data(), static_cast<std::size_t>(host.numel())));
  }

  /// The elements as T. Throws IoError when the dtype is not T's (`name` is for the message), when
  /// the byte count does not fit the shape, or when a BOOL byte is neither 0 nor 1.
  template <StorableScalar T>
  std::vector<T> values(std::string_view name = "") const {
    check_readable_as<T>(name);
    const auto n = static_cast<std::size_t>(numel());
    std::vector<T> out(n);
    if constexpr (std::same_as<std::remove_cv_t<T>, bool>) {
      for (std::size_t i = 0; i < n; ++i) out[i] = data[i] != std::byte{0};
    } else if (n > 0) {
      std::memcpy(out.data(), data.data(), n * sizeof(T));
    }
    return out;
  }

  /// The tensor as a netgrow Cpu tensor: values<T>() plus ShapeError when the rank exceeds 4.
  template <StorableScalar T>
  Tensor<T, Cpu> to_tensor(std::string_view name = "") const {
    const Shape s = netgrow_shape(name);
    check_readable_as<T>(name);
    Tensor<T, Cpu> t = Tensor<T, Cpu>::uninitialized(s);
    if constexpr (std::same_as<std::remove_cv_t<T>, bool>) {
      for (Index i = 0; i < t.numel(); ++i) t[i] = data[static_cast<std::size_t>(i)] != std::byte{0};
    } else if (t.numel() > 0) {
      std::memcpy(static_cast<void*>(t.data()), data.data(), static_cast<std::size_t>(t.numel()) * sizeof(T));
    }
    return t;
  }

  /// The shape as a netgrow Shape; ShapeError when the rank exceeds Shape::max_rank.
  Shape netgrow_shape(std::string_view name = "") const {
    require<ShapeError>(shape.size() <= static_cast<std::size_t>(Shape::max_rank), "tensor '", name, "' has rank ",
                        shape.size(), " (shape ", detail::shape_string(shape),
                        "); netgrow tensors have rank <= ", Shape::max_rank);
    Shape s;
    switch (shape.size()) {
      case 0:
        break;
      case 1:
        s = Shape{shape[0]};
        break;
      case 2:
        s = Shape{shape[0], shape[1]};
        break;
      case 3:
        s = Shape{shape[0], shape[1], shape[2]};
        break;
      default:
        s = Shape{shape[0], shape[1], shape[2], shape[3]};
        break;
    }
    return s;
  }

  /// Same dtype, shape and bytes.
  friend bool operator==(const SafeTensor&, const SafeTensor&) = default;

 private:
  template <class T>
  void check_readable_as(std::string_view name) const {
    require<IoError>(dtype == dtype_v<T>, "tensor '", name, "' holds ", dtype_name(dtype), ", not ",
                     dtype_name(dtype_v<T>));
    require<IoError>(data.size() == static_cast<std::size_t>(numel()) * sizeof(T), "tensor '", name, "' has ",
                     data.size(), " bytes for shape ", detail::shape_string(shape), " of ", dtype_name(dtype));
    if constexpr (std::same_as<std::remove_cv_t<T>, bool>) {
      for (const std::byte b : data)
        require<IoError>(b == std::byte{0} || b == std::byte{1}, "tensor '", name,
                         "' of dtype BOOL holds a byte that is neither 0 nor 1");
    }
  }
};

/// The content of a safetensors file: named tensors and string metadata.
struct Safetensors {
  std::map<std::string, std::string> metadata;  ///< the header's "__metadata__" entries
  std::map<std::string, SafeTensor> tensors;    ///< by name
  std::string source = "<memory>";              ///< where it was read from, for messages (not written)

  /// Whether there is a tensor named `name`.
  bool contains(const std::string& name) const { return tensors.count(name) != 0; }

  /// The tensor `name`; IoError naming the file when it has none.
  const SafeTensor& at(const std::string& name) const {
    const auto it = tensors.find(name);
    require<IoError>(it != tensors.end(), source, ": no tensor named '", name, "'");
    return it->second;
  }
};

namespace detail {

/// One header entry, validated against the size of the data section.
struct TensorEntry {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;  ///< byte range in the data section
};

struct Header {
  std::map<std::string, std::string> metadata;
  std::vector<TensorEntry> entries;  ///< sorted by begin: they tile [0, data size) in this order
};

template <class... Parts>
IoError format_error(const std::string& source, Parts&&... parts) {
  return IoError(netgrow::detail::concat(source, ": ", std::forward<Parts>(parts)...));
}

/// A file must hold at least the 8-byte header length.
inline void check_file_size(std::uint64_t size, const std::string& source) {
  if (size < 8)
    throw format_error(source, "the file is ", size, " bytes long, shorter than the 8-byte header length (truncated, ",
                       "or not a safetensors file)");
}

/// The header length n must be plausible and fit in the `available` bytes after the length field.
inline void check_header_length(std::uint64_t n, std::uint64_t available, const std::string& source) {
  if (n > max_header_bytes)
    throw format_error(source, "header length ", n, " exceeds the limit of ", max_header_bytes,
                       " bytes (corrupt file, or not a safetensors file)");
  if (n > available)
    throw format_error(source, "header length ", n, " exceeds the ", available,
                       " bytes after the length field (truncated file?)");
}

inline std::uint64_t read_u64_le(const std::byte* p) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline TensorEntry parse_entry(const std::string& name, const nlohmann::json& value, std::uint64_t data_size,
                               const std::string& source) {
  auto error = [&](auto&&... parts) { return format_error(source, "tensor '", name, "': ", parts...); };
  if (!value.is_object()) throw error("its entry is not a JSON object");
  for (const auto& [key, unused] : value.items()) {
    (void)unused;
    if (key != "dtype" && key != "shape" && key != "data_offsets") throw error("unknown field '", key, "'");
  }
  TensorEntry e;
  e.name = name;

  const auto dtype = value.find("dtype");
  if (dtype == value.end() || !dtype->is_string()) throw error("missing \"dtype\" string");
  const auto d = parse_dtype(dtype->get_ref<const std::string&>());
  if (!d) throw error("unknown dtype '", dtype->get_ref<const std::string&>(), "'");
  e.dtype = *d;

  const auto shape = value.find("shape");
  if (shape == value.end() || !shape->is_array()) throw error("missing \"shape\" list");
  for (const auto& dim : *shape) {
    if (!dim.is_number_unsigned() ||
        dim.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      throw error("shape ", shape->dump(), " is not a list of non-negative integers");
    e.shape.push_back(static_cast<std::int64_t>(dim.get<std::uint64_t>()));
  }
  const auto numel = checked_numel(e.shape, dtype_size(e.dtype));
  if (!numel) throw error("shape ", shape_string(e.shape), " of ", dtype_name(e.dtype), " overflows 64-bit sizes");
  const std::uint64_t bytes = *numel * dtype_size(e.dtype);

  const auto offsets = value.find("data_offsets");
  if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned())
    throw error("\"data_offsets\" must be a list of two non-negative integers [begin, end]");
  e.begin = (*offsets)[0].get<std::uint64_t>();
  e.end = (*offsets)[1].get<std::uint64_t>();
  if (e.begin > e.end || e.end > data_size)
    throw error("data_offsets [", e.begin, ", ", e.end, "] lie outside the ", data_size,
                " bytes of tensor data (truncated file?)");
  if (e.end - e.begin != bytes)
    throw error("data_offsets [", e.begin, ", ", e.end, "] span ", e.end - e.begin, " bytes, but shape ",
                shape_string(e.shape), " of ", dtype_name(e.dtype), " needs ", bytes);
  return e;
}

/// Parses and validates a header (the N bytes after the length) for a data section of `data_size`
/// bytes; throws IoError naming `source`.
inline Header parse_header(std::string_view text, std::uint64_t data_size, const std::string& source) {
  using nlohmann::json;
  if (text.empty() || text.front() != '{')
    throw format_error(source, "the header does not start with '{' (not a safetensors file?)");
  // The JSON parser takes a NUL byte for the end of its input: trailing NULs would pass as padding.
  if (text.find('\0') != std::string_view::npos)
    throw format_error(source, "the header contains a NUL byte (padding must be spaces)");
  // Rejects repeated keys (JSON leaves them undefined) and containers nested deeper than the
  // format's {name: {field: [list]}} while parsing, so hostile input cannot build deep trees.
  std::vector<std::set<std::string>> keys;
  const json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth > 2) throw format_error(source, "the header nests JSON deeper than the format allows");
        if (event == json::parse_event_t::object_start) keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys.back().insert(parsed.get<std::string>()).second)
          throw format_error(source, "the header repeats the key '", parsed.get<std::string>(), "'");
        break;
      default:
        break;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), check, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    throw format_error(source, "the header is not valid JSON: ", e.what());
  }
  if (!j.is_object()) throw format_error(source, "the header is not a JSON object");

  Header h;
  for (const auto& [name, value] : j.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) throw format_error(source, "__metadata__ is not a JSON object");
      for (const auto& [key, v] : value.items()) {
        if (!v.is_string()) throw format_error(source, "__metadata__ entry '", key, "' is not a string");
        h.metadata.emplace(key, v.get<std::string>());
      }
      continue;
    }
    h.entries.push_back(parse_entry(name, value, data_size, source));
  }
  std::sort(h.entries.begin(), h.entries.end(), [](const TensorEntry& a, const TensorEntry& b) {
    return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
  });
  std::uint64_t expected = 0;
  const TensorEntry* previous = nullptr;
  for (const TensorEntry& e : h.entries) {
    if (e.begin < expected)
      throw format_error(source, "tensor '", e.name, "' (bytes [", e.begin, ", ", e.end, ")) overlaps tensor '",
                         previous->name, "' (bytes [", previous->begin, ", ", previous->end, "))");
    if (e.begin > expected)
      throw format_error(source, "bytes [", expected, ", ", e.begin, ") of the tensor data belong to no tensor");
    expected = e.end;
    previous = &e;
  }
  if (expected != data_size)
    throw format_error(source, "the file has ", data_size - expected,
                       " bytes after the last tensor's data (trailing garbage, or wrong offsets)");
  return h;
}

/// The header text for `st`, padded with spaces to a multiple of 8 bytes. ShapeError when a tensor's
/// byte count does not fit its shape and dtype; ArgumentError for a reserved or non-UTF-8 name.
inline std::string make_header(const Safetensors& st) {
  using nlohmann::json;
  json j = json::object();
  std::uint64_t offset = 0;
  for (const auto& [name, t] : st.tensors) {
    require(name != "__metadata__", "safetensors: '__metadata__' is reserved and cannot name a tensor");
    const auto numel = checked_numel(t.shape, dtype_size(t.dtype));
    require<ShapeError>(numel.has_value(), "safetensors: tensor '", name, "' has an invalid shape ",
                        shape_string(t.shape));
    const std::uint64_t bytes = *numel * dtype_size(t.dtype);
    require<ShapeError>(t.data.size() == bytes, "safetensors: tensor '", name, "' has ", t.data.size(),
                        " bytes of data, but shape ", shape_string(t.shape), " of ", dtype_name(t.dtype), " needs ",
                        bytes);
    j[name] = {
        {"dtype", std::string(dtype_name(t.dtype))}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!st.metadata.empty()) j["__metadata__"] = st.metadata;
  std::string text;
  try {
    text = j.dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::exception& e) {
    throw ArgumentError(std::string("safetensors: a tensor name or metadata string is not valid UTF-8: ") + e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

inline std::array<std::byte, 8> length_prefix(std::uint64_t n) {
  std::array<std::byte, 8> b{};
  std::memcpy(b.data(), &n, sizeof n);
  return b;
}

/// Builds the Safetensors of a validated header; fill(entry, destination) copies one entry's bytes
/// (entries come in file order).
template <class Fill>
Safetensors assemble(Header&& h, const std::string& source, Fill&& fill) {
  Safetensors st;
  st.source = source;
  st.metadata = std::move(h.metadata);
  for (TensorEntry& e : h.entries) {
    SafeTensor t;
    t.dtype = e.dtype;
    t.shape = std::move(e.shape);
    t.data.resize(static_cast<std::size_t>(e.end - e.begin));
    fill(e, std::span<std::byte>(t.data));
    st.tensors.emplace(std::move(e.name), std::move(t));
  }
  return st;
}

}  // namespace detail

/// The bytes of a safetensors file holding `st` (what write_safetensors writes).
inline std::vector<std::byte> serialize_safetensors(const Safetensors& st) {
  const std::string header = detail::make_header(st);
  std::size_t total = 8 + header.size();
  for (const auto& [name, t] : st.tensors) total += t.data.size();
  std::vector<std::byte> out(total);
  std::byte* p = out.data();
  const auto prefix = detail::length_prefix(header.size());
  std::memcpy(p, prefix.data(), prefix.size());
  p += prefix.size();
  std::memcpy(p, header.data(), header.size());
  p += header.size();
  for (const auto& [name, t] : st.tensors) {
    if (!t.data.empty()) std::memcpy(p, t.data.data(), t.data.size());
    p += t.data.size();
  }
  return out;
}

/// Parses a whole safetensors file held in memory. `source` names it in error messages. Throws
/// IoError for any malformed input (see the top of this header).
inline Safetensors parse_safetensors(std::span<const std::byte> bytes, std::string source = "<memory>") {
  detail::check_file_size(bytes.size(), source);
  const std::uint64_t n = detail::read_u64_le(bytes.data());
  detail::check_header_length(n, bytes.size() - 8, source);
  const auto* text = reinterpret_cast<const char*>(bytes.data() + 8);
  const std::span<const std::byte> data = bytes.subspan(8 + n);
  detail::Header h = detail::parse_header(std::string_view(text, n), data.size(), source);
  return detail::assemble(std::move(h), source, [&](const detail::TensorEntry& e, std::span<std::byte> dst) {
    if (!dst.empty()) std::memcpy(dst.data(), data.data() + e.begin, dst.size());
  });
}

/// Reads and parses a safetensors file; IoError when it cannot be read or is malformed.
inline Safetensors read_safetensors(const std::filesystem::path& path) {
  const std::string source = path.string();
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw IoError("cannot read '" + source + "': " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open '" + source + "'");
  auto read = [&](void* dst, std::uint64_t count) {
    in.read(static_cast<char*>(dst), static_cast<std::streamsize>(count));
    if (static_cast<std::uint64_t>(in.gcount()) != count)
      throw detail::format_error(source, "the file ended early (it changed while being read?)");
  };
  detail::check_file_size(size, source);
  std::array<std::byte, 8> prefix{};
  read(prefix.data(), 8);
  const std::uint64_t n = detail::read_u64_le(prefix.data());
  detail::check_header_length(n, size - 8, source);
  std::string text(static_cast<std::size_t>(n), '\0');
  read(text.data(), n);
  detail::Header h = detail::parse_header(text, size - 8 - n, source);
  // Entries tile the data section in file order, so their bytes are read front to back.
  return detail::assemble(std::move(h), source,
                          [&](const detail::TensorEntry&, std::span<std::byte> dst) { read(dst.data(), dst.size()); });
}

/// Writes `st` to `path` atomically (a temporary file renamed over `path`; see AtomicFile). Throws
/// IoError when the file cannot be written (the previous file at `path`, if any, is then untouched),
/// ShapeError or ArgumentError for an invalid `st`.
inline void write_safetensors(const std::filesystem::path& path, const Safetensors& st) {
  const std::string header = detail::make_header(st);
  AtomicFile file(path);
  file.write(detail::length_prefix(header.size()));
  file.write(std::as_bytes(std::span<const char>(header.data(), header.size())));
  for (const auto& [name, t] : st.tensors) file.write(t.data);
  file.commit();
}

}  // namespace netgrow::io
