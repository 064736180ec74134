/// \file
/// netgrow/core/error.hpp: the exception types netgrow throws, and the checks that throw them.
///
/// Library code never calls exit() or abort(): every failure is an exception whose message says what
/// was wrong (which argument, expected vs got), so a user can act on it.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace netgrow {

/// Base of everything netgrow throws.
class Error : public std::runtime_error {
 public:
  /// An exception whose message is `what`.
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// Tensor shapes that do not fit together (layer widths, batch sizes, ranks).
class ShapeError : public Error {
 public:
  using Error::Error;  ///< constructed from the message, like every netgrow::Error
};

/// An argument outside its valid range (negative width, learning rate NaN, empty batch, ...).
class ArgumentError : public Error {
 public:
  using Error::Error;  ///< constructed from the message, like every netgrow::Error
};

/// A call made in the wrong state (backward before forward, ...).
class StateError : public Error {
 public:
  using Error::Error;  ///< constructed from the message, like every netgrow::Error
};

/// NaN or infinity where a finite number is required (loss, gradients).
class NumericError : public Error {
 public:
  using Error::Error;  ///< constructed from the message, like every netgrow::Error
};

/// Files: missing, truncated, corrupt, or of the wrong format.
class IoError : public Error {
 public:
  using Error::Error;  ///< constructed from the message, like every netgrow::Error
};

/// Saved state that does not fit what it is loaded into: a checkpoint of another architecture (layer
/// kinds or count, parameter names, settings that growth never changes), another scalar type, or
/// without an item the caller asks to restore. The file itself is well formed (otherwise: IoError).
class ArchitectureError : public Error {
 public:
  using Error::Error;  ///< constructed from the message, like every netgrow::Error
};

namespace detail {

template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream os;
  if constexpr (sizeof...(Parts) > 0) (os << ... << std::forward<Parts>(parts));
  return os.str();
}

}  // namespace detail

/// Throws ErrorType with the concatenation of `parts` when `condition` is false.
template <class ErrorType = ArgumentError, class... Parts>
void require(bool condition, Parts&&... parts) {
  if (!condition) throw ErrorType(detail::concat(std::forward<Parts>(parts)...));
}

}  // namespace netgrow
