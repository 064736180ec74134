/// \file
/// netgrow/io/dtype.hpp: the element types of the safetensors format, their names and sizes, and the
/// C++ scalar types that map to them.
///
/// ~~~{.unparsed}
/// Dtype::F32 <-> float, F64 <-> double, I8..I64 <-> std::int8_t..std::int64_t, U8..U64 <->
/// std::uint8_t..std::uint64_t, BOOL <-> bool (one byte, 0 or 1)
/// ~~~
///
/// F16, BF16 and the 8-bit floats (F8_E4M3, F8_E5M2) have no C++ type here: files may hold them and
/// netgrow reads and writes them as raw bytes (SafeTensor::data), it never converts them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

namespace netgrow::io {

/// Names as the format spells them.
enum class Dtype : std::uint8_t { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

/// Every Dtype, in declaration order.
inline constexpr std::array<Dtype, 15> all_dtypes{Dtype::BOOL, Dtype::U8,  Dtype::I8,  Dtype::F8_E5M2, Dtype::F8_E4M3,
                                                  Dtype::I16,  Dtype::U16, Dtype::F16, Dtype::BF16,    Dtype::I32,
                                                  Dtype::U32,  Dtype::F32, Dtype::F64, Dtype::I64,     Dtype::U64};

/// The format's name of a dtype: "F32", "BF16", ...
constexpr std::string_view dtype_name(Dtype d) {
  switch (d) {
    case Dtype::BOOL:
      return "BOOL";
    case Dtype::U8:
      return "U8";
    case Dtype::I8:
      return "I8";
    case Dtype::F8_E5M2:
      return "F8_E5M2";
    case Dtype::F8_E4M3:
      return "F8_E4M3";
    case Dtype::I16:
      return "I16";
    case Dtype::U16:
      return "U16";
    case Dtype::F16:
      return "F16";
    case Dtype::BF16:
      return "BF16";
    case Dtype::I32:
      return "I32";
    case Dtype::U32:
      return "U32";
    case Dtype::F32:
      return "F32";
    case Dtype::F64:
      return "F64";
    case Dtype::I64:
      return "I64";
    case Dtype::U64:
      return "U64";
  }
  return "?";
}

/// Bytes per element.
constexpr std::size_t dtype_size(Dtype d) {
  switch (d) {
    case Dtype::BOOL:
    case Dtype::U8:
    case Dtype::I8:
    case Dtype::F8_E5M2:
    case Dtype::F8_E4M3:
      return 1;
    case Dtype::I16:
    case Dtype::U16:
    case Dtype::F16:
    case Dtype::BF16:
      return 2;
    case Dtype::I32:
    case Dtype::U32:
    case Dtype::F32:
      return 4;
    case Dtype::F64:
    case Dtype::I64:
    case Dtype::U64:
      return 8;
  }
  return 0;
}

/// The dtype named `name` (case-sensitive, as the format requires), or nullopt.
constexpr std::optional<Dtype> parse_dtype(std::string_view name) {
  for (const Dtype d : all_dtypes)
    if (dtype_name(d) == name) return d;
  return std::nullopt;
}

/// dtype_of<T>::value: the dtype of C++ scalar T; undefined for types the format has no name for.
///@{
template <class T>
struct dtype_of;
template <>
struct dtype_of<bool> : std::integral_constant<Dtype, Dtype::BOOL> {};
template <>
struct dtype_of<std::uint8_t> : std::integral_constant<Dtype, Dtype::U8> {};
template <>
struct dtype_of<std::int8_t> : std::integral_constant<Dtype, Dtype::I8> {};
template <>
struct dtype_of<std::int16_t> : std::integral_constant<Dtype, Dtype::I16> {};
template <>
struct dtype_of<std::uint16_t> : std::integral_constant<Dtype, Dtype::U16> {};
template <>
struct dtype_of<std::int32_t> : std::integral_constant<Dtype, Dtype::I32> {};
template <>
struct dtype_of<std::uint32_t> : std::integral_constant<Dtype, Dtype::U32> {};
template <>
struct dtype_of<float> : std::integral_constant<Dtype, Dtype::F32> {};
template <>
struct dtype_of<double> : std::integral_constant<Dtype, Dtype::F64> {};
template <>
struct dtype_of<std::int64_t> : std::integral_constant<Dtype, Dtype::I64> {};
template <>
struct dtype_of<std::uint64_t> : std::integral_constant<Dtype, Dtype::U64> {};
///@}

/// Scalars that convert to and from safetensors bytes without loss (little-endian hosts).
template <class T>
concept StorableScalar = requires { dtype_of<std::remove_cv_t<T>>::value; } && std::is_trivially_copyable_v<T>;

/// dtype_of<T>::value, cv-qualifiers ignored.
template <StorableScalar T>
inline constexpr Dtype dtype_v = dtype_of<std::remove_cv_t<T>>::value;

static_assert(sizeof(float) == 4 && sizeof(double) == 8 && sizeof(bool) == 1,
              "netgrow::io maps float, double and bool to F32, F64 and BOOL");

}  // namespace netgrow::io
