// Tests data/idx.hpp: reading good files (gzip and raw), and clear errors for truncated, corrupt,
// wrong-magic, wrong-type and wrong-length files.
#include <doctest/doctest.h>

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "netgrow/data/idx.hpp"

using namespace netgrow;

namespace {

std::vector<unsigned char> idx_bytes(std::vector<std::uint32_t> dims, std::size_t values, unsigned char type = 0x08) {
  std::vector<unsigned char> b = {0, 0, type, static_cast<unsigned char>(dims.size())};
  for (auto d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(d >> s));
  for (std::size_t i = 0; i < values; ++i) b.push_back(static_cast<unsigned char>(i * 7));
  return b;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("netgrow_test_idx_" + name)).string();
}

std::string write_raw(const std::string& name, const std::vector<unsigned char>& bytes) {
  const std::string p = temp_path(name);
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return p;
}

std::string write_gz(const std::string& name, const std::vector<unsigned char>& bytes) {
  const std::string p = temp_path(name + ".gz");
  gzFile f = gzopen(p.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
  return p;
}

}  // namespace

TEST_CASE("a well-formed IDX file reads back, compressed or not") {
  const auto bytes = idx_bytes({3, 2, 4}, 24);
  for (const std::string& p : {write_raw("good", bytes), write_gz("good", bytes)}) {
    const IdxArray a = read_idx(p);
    CHECK(a.dims == std::vector<Index>{3, 2, 4});
    REQUIRE(a.values.size() == 24);
    CHECK(a.values[5] == 35);
    std::filesystem::remove(p);
  }
}

TEST_CASE("bad IDX files give IoError naming the file and the problem") {
  struct Case {
    std::string name;
    std::vector<unsigned char> bytes;
    std::string message;
  };
  auto truncated = idx_bytes({10}, 10);
  truncated.resize(truncated.size() - 3);
  auto bad_magic = idx_bytes({4}, 4);
  bad_magic[0] = 0x1f;
  auto trailing = idx_bytes({4}, 4);
  trailing.push_back(1);
  auto zero_dim = idx_bytes({4, 0}, 0);
  const std::vector<Case> cases = {
      {"truncated", truncated, "truncated values: expected 10 bytes, got 7"},
      {"short_header", {0, 0}, "truncated header"},
      {"magic", bad_magic, "bad magic number"},
      {"type", idx_bytes({4}, 4, 0x0d), "not supported"},
      {"rank", idx_bytes({1, 1, 1, 1, 1}, 1), "rank 5"},
      {"trailing", trailing, "trailing data"},
      {"zero_dim", zero_dim, "dimension 1 is zero"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    for (const std::string& p : {write_raw(c.name, c.bytes), write_gz(c.name, c.bytes)}) {
      CHECK_THROWS_WITH_AS(read_idx(p), doctest::Contains(c.message.c_str()), IoError);
      CHECK_THROWS_WITH_AS(read_idx(p), doctest::Contains(p.c_str()), IoError);
      std::filesystem::remove(p);
    }
  }
  CHECK_THROWS_WITH_AS(read_idx(temp_path("does_not_exist")), doctest::Contains("cannot open"), IoError);
}

TEST_CASE("a corrupt gzip stream is reported, not read as data") {
  auto gz = write_gz("corrupt", idx_bytes({100}, 100));
  std::vector<char> bytes;
  {
    std::ifstream in(gz, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (std::size_t i = 12; i < bytes.size() - 8; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  std::ofstream(gz, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  CHECK_THROWS_AS(read_idx(gz), IoError);
  std::filesystem::remove(gz);
}
