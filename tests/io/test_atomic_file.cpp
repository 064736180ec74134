// Tests io/atomic_file.hpp: a committed file replaces the target; an abandoned or failed write
// leaves the previous file intact and no temporary file behind.
#include <doctest/doctest.h>

#include "netgrow/io/atomic_file.hpp"

#include <cstddef>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "io/io_support.hpp"

using namespace netgrow;
using netgrow::io::AtomicFile;

namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::span<const std::byte> bytes(const std::string& s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

}  // namespace

TEST_CASE("a committed write creates or replaces the file, and leaves nothing else") {
  test::TempDir dir;
  const auto target = dir / "ckpt.safetensors";
  io::write_file_atomically(target, bytes("first"));
  CHECK(read_text(target) == "first");
  {
    AtomicFile f(target);
    CHECK(f.temporary_path().parent_path() == target.parent_path());
    CHECK(std::filesystem::exists(f.temporary_path()));
    f.write(bytes("sec"));
    f.write(bytes("ond"));
    CHECK(read_text(target) == "first");  // not replaced before commit
    f.commit();
  }
  CHECK(read_text(target) == "second");
  CHECK(dir.entries() == std::vector<std::string>{"ckpt.safetensors"});
}

TEST_CASE("a write abandoned before commit (an exception on the way) keeps the old file") {
  test::TempDir dir;
  const auto target = dir / "ckpt.safetensors";
  io::write_file_atomically(target, bytes("good"));
  try {
    AtomicFile f(target);
    f.write(bytes("half of a new fi"));
    throw std::runtime_error("simulated crash while writing");
  } catch (const std::runtime_error&) {
  }
  CHECK(read_text(target) == "good");
  CHECK(dir.entries() == std::vector<std::string>{"ckpt.safetensors"});
}

TEST_CASE("a failed commit throws IoError, keeps what was there and removes the temporary file") {
  test::TempDir dir;
  // The target is a non-empty directory: renaming a file over it fails.
  const auto target = dir / "ckpt";
  std::filesystem::create_directories(target / "inside");
  AtomicFile f(target);
  f.write(bytes("data"));
  CHECK_THROWS_WITH_AS(f.commit(), doctest::Contains("cannot replace"), IoError);
  CHECK(std::filesystem::is_directory(target / "inside"));
  // The temporary file goes with the AtomicFile.
  CHECK(std::filesystem::exists(f.temporary_path()));
}

TEST_CASE("after a failed commit nothing but the original entries remain") {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "ckpt" / "inside");
  CHECK_THROWS_AS(io::write_file_atomically(dir / "ckpt", bytes("data")), IoError);
  CHECK(dir.entries() == std::vector<std::string>{"ckpt"});
}

TEST_CASE("a target in a missing directory, or naming no file, throws IoError naming it") {
  test::TempDir dir;
  CHECK_THROWS_WITH_AS(AtomicFile(dir / "missing" / "x.safetensors"), doctest::Contains("missing"), IoError);
  CHECK_THROWS_AS(AtomicFile(dir.path() / ""), IoError);
  CHECK(dir.entries().empty());
}

TEST_CASE("writing after commit is a StateError") {
  test::TempDir dir;
  AtomicFile f(dir / "a");
  f.commit();
  CHECK_THROWS_AS(f.write(bytes("x")), StateError);
  CHECK_THROWS_AS(f.commit(), StateError);
  CHECK(read_text(dir / "a").empty());
}
