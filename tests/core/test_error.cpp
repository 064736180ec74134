// Tests core/error.hpp: the exception hierarchy and require<ErrorType> with its concatenated message.
#include <doctest/doctest.h>

#include "netgrow/core/error.hpp"

#include <ostream>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "netgrow/core/shape.hpp"

using netgrow::require;

namespace {

// Counts how often it is printed.
struct Probe {
  int* n;
  friend std::ostream& operator<<(std::ostream& os, const Probe& p) { return os << ++*p.n; }
};

}  // namespace

static_assert(std::is_base_of_v<std::runtime_error, netgrow::Error>);
static_assert(std::is_base_of_v<netgrow::Error, netgrow::ShapeError>);
static_assert(std::is_base_of_v<netgrow::Error, netgrow::ArgumentError>);
static_assert(std::is_base_of_v<netgrow::Error, netgrow::StateError>);
static_assert(std::is_base_of_v<netgrow::Error, netgrow::NumericError>);
static_assert(std::is_base_of_v<netgrow::Error, netgrow::IoError>);
static_assert(std::is_base_of_v<netgrow::Error, netgrow::ArchitectureError>);
static_assert(std::is_base_of_v<std::runtime_error, netgrow::ShapeError>);
static_assert(!std::is_base_of_v<netgrow::ShapeError, netgrow::ArgumentError>, "the error kinds are siblings");

TEST_CASE("require does nothing when the condition holds") {
  CHECK_NOTHROW(require(true, "never shown"));
  CHECK_NOTHROW(require<netgrow::ShapeError>(true, "never shown ", 42));
}

TEST_CASE("require throws ArgumentError by default") {
  CHECK_THROWS_AS(require(false, "bad argument"), netgrow::ArgumentError);
  CHECK_THROWS_WITH(require(false, "bad argument"), "bad argument");
}

TEST_CASE("require throws the requested error type") {
  CHECK_THROWS_AS(require<netgrow::ShapeError>(false, "s"), netgrow::ShapeError);
  CHECK_THROWS_AS(require<netgrow::ArgumentError>(false, "a"), netgrow::ArgumentError);
  CHECK_THROWS_AS(require<netgrow::StateError>(false, "st"), netgrow::StateError);
  CHECK_THROWS_AS(require<netgrow::NumericError>(false, "n"), netgrow::NumericError);
  CHECK_THROWS_AS(require<netgrow::IoError>(false, "io"), netgrow::IoError);
  CHECK_THROWS_AS(require<std::logic_error>(false, "any exception type with a string constructor"),
                  std::logic_error);
}

TEST_CASE("require concatenates every part of the message as a stream would") {
  CHECK_THROWS_WITH_AS(require<netgrow::StateError>(false, "layer ", 3, " expects ", 2.5, " got ", 'x', ' ',
                                                    std::string("(y)")),
                       "layer 3 expects 2.5 got x (y)", netgrow::StateError);
  CHECK_THROWS_WITH_AS(require<netgrow::ShapeError>(false, "bad shape ", netgrow::Shape{2, 3}),
                       "bad shape (2, 3)", netgrow::ShapeError);
}

TEST_CASE("every netgrow error can be caught as netgrow::Error and as std::runtime_error") {
  auto thrown_as_error = [](auto thrower) {
    try {
      thrower();
    } catch (const netgrow::Error& e) {
      return std::string(e.what());
    }
    return std::string("not caught");
  };
  CHECK(thrown_as_error([] { require<netgrow::ShapeError>(false, "shape"); }) == "shape");
  CHECK(thrown_as_error([] { require<netgrow::ArgumentError>(false, "argument"); }) == "argument");
  CHECK(thrown_as_error([] { require<netgrow::StateError>(false, "state"); }) == "state");
  CHECK(thrown_as_error([] { require<netgrow::NumericError>(false, "numeric"); }) == "numeric");
  CHECK(thrown_as_error([] { require<netgrow::IoError>(false, "io"); }) == "io");

  CHECK_THROWS_AS(require<netgrow::IoError>(false, "io"), std::runtime_error);
  CHECK_THROWS_AS(require<netgrow::NumericError>(false, "numeric"), netgrow::Error);
  CHECK_THROWS_AS(throw netgrow::Error("base"), std::runtime_error);
}

TEST_CASE("error types keep the message given to their constructor") {
  const netgrow::ShapeError e("widths 3 and 4 differ");
  CHECK(std::string(e.what()) == "widths 3 and 4 differ");
  const netgrow::Error& base = e;
  CHECK(std::string(base.what()) == "widths 3 and 4 differ");
}

TEST_CASE("require builds its message only when the check fails") {
  int built = 0;
  require(true, Probe{&built});
  CHECK(built == 0);
  CHECK_THROWS_WITH(require(false, "count ", Probe{&built}), "count 1");
  CHECK(built == 1);
}
