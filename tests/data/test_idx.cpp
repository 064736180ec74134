// Tests data/idx.hpp: reading good files (gzip and raw), and clear errors for truncated, corrupt,
// wrong-magic, wrong-type and wrong-length files; the in-memory entry point the file reader and the
// fuzzer share (concatenated gzip members, bytes after the gzip stream, truncated streams, headers
// announcing more than follows).
#include <doctest/doctest.h>

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
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

// gzip of `bytes` in memory (one member).
std::vector<std::uint8_t> gzip_bytes(const std::vector<unsigned char>& bytes) {
  z_stream s{};
  REQUIRE(deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<std::uint8_t> out(deflateBound(&s, static_cast<uLong>(bytes.size())));
  s.next_in = const_cast<Bytef*>(bytes.data());
  s.avail_in = static_cast<uInt>(bytes.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&s, Z_FINISH) == Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
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

TEST_CASE("read_idx_bytes reads raw and gzip content from memory") {
  const auto raw = idx_bytes({2, 3}, 6);
  for (const auto& bytes : {std::vector<std::uint8_t>(raw.begin(), raw.end()), gzip_bytes(raw)}) {
    const IdxArray a = read_idx_bytes(bytes);
    CHECK(a.dims == std::vector<Index>{2, 3});
    CHECK(a.values == std::vector<std::uint8_t>{0, 7, 14, 21, 28, 35});
  }
  CHECK_THROWS_WITH_AS(read_idx_bytes(std::vector<std::uint8_t>{}, "empty.idx"),
                       doctest::Contains("IDX file empty.idx: truncated header"), IoError);
}

TEST_CASE("gzip members are read in turn; other bytes after the stream are an error") {
  const auto raw = idx_bytes({8}, 8);
  // Split the content across two members, as `cat a.gz b.gz` would.
  auto two = gzip_bytes({raw.begin(), raw.begin() + 6});
  const auto second = gzip_bytes({raw.begin() + 6, raw.end()});
  two.insert(two.end(), second.begin(), second.end());
  CHECK(read_idx_bytes(two).values.size() == 8);

  auto garbage = gzip_bytes(raw);
  garbage.push_back(0);
  CHECK_THROWS_WITH_AS(read_idx_bytes(garbage), doctest::Contains("not another gzip member"), IoError);
}

TEST_CASE("a truncated gzip stream is an error at every cut") {
  const auto gz = gzip_bytes(idx_bytes({50}, 50));
  for (std::size_t cut = 2; cut < gz.size(); ++cut) {
    INFO("cut at ", cut, " of ", gz.size());
    CHECK_THROWS_AS(read_idx_bytes(std::span(gz.data(), cut)), IoError);
  }
}

TEST_CASE("a header announcing gigabytes that do not follow fails without allocating them") {
  // 60000 x 60000 x 4 values (14.4 GB, under the 16 GiB plausibility cap) but no values at all.
  const auto raw = idx_bytes({60000, 60000, 4}, 0);
  for (const auto& bytes : {std::vector<std::uint8_t>(raw.begin(), raw.end()), gzip_bytes(raw)})
    CHECK_THROWS_WITH_AS(read_idx_bytes(bytes),
                         doctest::Contains("truncated values: expected 14400000000 bytes, got 0"), IoError);
  CHECK_THROWS_WITH_AS(read_idx_bytes(idx_bytes({65536, 65536, 5}, 0)), doctest::Contains("implausible size"), IoError);
}
