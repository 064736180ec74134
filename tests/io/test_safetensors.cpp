// Tests io/safetensors.hpp: round trips of every dtype and shape through memory and files, the exact
// layout the format prescribes, typed access, and that every class of malformed input raises IoError
// naming the file and the tensor (truncations and random corruptions included), never a crash.
#include <doctest/doctest.h>

#include "netgrow/io/safetensors.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "io/io_support.hpp"

using namespace netgrow;
using namespace netgrow::io;

namespace {

// A file from a header text and data bytes (the header is not padded).
std::vector<std::byte> make_file(const std::string& header, std::size_t data_bytes = 0, std::uint64_t length = 0) {
  std::vector<std::byte> out(8);
  const std::uint64_t n = length ? length : header.size();
  std::memcpy(out.data(), &n, 8);
  for (const char c : header) out.push_back(static_cast<std::byte>(c));
  out.resize(out.size() + data_bytes, std::byte{0x11});
  return out;
}

SafeTensor raw_tensor(Dtype d, std::vector<std::int64_t> shape, Rng& rng) {
  SafeTensor t;
  t.dtype = d;
  t.shape = std::move(shape);
  t.data.resize(static_cast<std::size_t>(t.numel()) * dtype_size(d));
  for (auto& b : t.data) b = static_cast<std::byte>(d == Dtype::BOOL ? rng.uniform_int(2) : rng.uniform_int(256));
  return t;
}

Safetensors sample_file() {
  Rng rng(1);
  Safetensors st;
  for (const Dtype d : all_dtypes) st.tensors["t_" + std::string(dtype_name(d))] = raw_tensor(d, {2, 3}, rng);
  st.tensors["scalar"] = raw_tensor(Dtype::F32, {}, rng);
  st.tensors["empty"] = raw_tensor(Dtype::F64, {0}, rng);
  st.tensors["empty2d"] = raw_tensor(Dtype::I16, {3, 0}, rng);
  st.tensors["rank5"] = raw_tensor(Dtype::F64, {1, 2, 1, 2, 3}, rng);
  st.tensors["odd"] = raw_tensor(Dtype::U8, {7}, rng);  // leaves later tensors unaligned: still fine
  st.metadata["epoch"] = "3";
  st.metadata["note"] = "UTF-8: Größe";
  return st;
}

void check_same(const Safetensors& a, const Safetensors& b) {
  CHECK(a.metadata == b.metadata);
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (const auto& entry : a.tensors) {
    const auto& [name, t] = entry;
    CAPTURE(entry.first);
    REQUIRE(b.contains(name));
    CHECK(b.at(name) == t);
  }
}

// parse_safetensors of `bytes` throws IoError whose message holds "bad.safetensors" and `needle`.
void check_rejected(const std::vector<std::byte>& bytes, const std::string& needle) {
  CAPTURE(needle);
  try {
    parse_safetensors(bytes, "bad.safetensors");
    FAIL("accepted a malformed file");
  } catch (const IoError& e) {
    const std::string what = e.what();
    CAPTURE(what);
    CHECK(what.find("bad.safetensors") != std::string::npos);
    CHECK(what.find(needle) != std::string::npos);
  }
}

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape, std::uint64_t begin,
                  std::uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(begin) + "," + std::to_string(end) + "]}";
}

}  // namespace

TEST_CASE("every dtype and shape (scalar, empty, rank 5) round trips through memory") {
  const Safetensors st = sample_file();
  const std::vector<std::byte> bytes = serialize_safetensors(st);
  check_same(st, parse_safetensors(bytes));
}

TEST_CASE("every dtype and shape round trips through a file, written atomically") {
  test::TempDir dir;
  const Safetensors st = sample_file();
  write_safetensors(dir / "a.safetensors", st);
  const Safetensors back = read_safetensors(dir / "a.safetensors");
  check_same(st, back);
  CHECK(back.source == (dir / "a.safetensors").string());
  CHECK(dir.entries() == std::vector<std::string>{"a.safetensors"});
  // The file holds exactly the serialised bytes.
  std::ifstream in(dir / "a.safetensors", std::ios::binary);
  const std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::vector<std::byte> expected = serialize_safetensors(st);
  REQUIRE(raw.size() == expected.size());
  CHECK(std::memcmp(raw.data(), expected.data(), raw.size()) == 0);
}

TEST_CASE("the layout is the format's: length, JSON header padded to 8 bytes, tensors in name order") {
  Safetensors st;
  st.tensors["b"] = SafeTensor::from_values<float>({2}, std::vector<float>{1.5f, -2.0f});
  st.tensors["a"] = SafeTensor::from_values<std::int32_t>({}, std::vector<std::int32_t>{7});
  st.metadata["k"] = "v";
  const std::vector<std::byte> bytes = serialize_safetensors(st);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);
  const std::string header(reinterpret_cast<const char*>(bytes.data() + 8), n);
  const std::string json = R"({"__metadata__":{"k":"v"},"a":{"data_offsets":[0,4],"dtype":"I32","shape":[]},)"
                           R"("b":{"data_offsets":[4,12],"dtype":"F32","shape":[2]}})";
  CHECK(header.substr(0, json.size()) == json);
  CHECK(header.find_first_not_of(' ', json.size()) == std::string::npos);
  REQUIRE(bytes.size() == 8 + n + 12);
  std::int32_t a = 0;
  float b[2] = {};
  std::memcpy(&a, bytes.data() + 8 + n, 4);
  std::memcpy(b, bytes.data() + 8 + n + 4, 8);
  CHECK(a == 7);
  CHECK(b[0] == 1.5f);
  CHECK(b[1] == -2.0f);
}

TEST_CASE("a file written elsewhere parses: keys in any order, spaces, metadata first or absent") {
  const std::string header = R"(  {"__metadata__": {"format": "pt"}, "w": {"shape": [2, 2], "data_offsets": [8, 24],)"
                             R"( "dtype": "F32"}, "b": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}   )";
  // A leading space is not '{': the format requires the header to start with it.
  CHECK_THROWS_AS(parse_safetensors(make_file(header, 24)), IoError);
  const Safetensors st = parse_safetensors(make_file(header.substr(2), 24));
  CHECK(st.metadata.at("format") == "pt");
  CHECK(st.at("w").shape == std::vector<std::int64_t>{2, 2});
  CHECK(st.at("w").data.size() == 16);
  CHECK(st.at("b").dtype == Dtype::F64);
  const auto plain = parse_safetensors(make_file("{}"));
  CHECK(plain.tensors.empty());
  CHECK(plain.metadata.empty());
}

TEST_CASE("typed access: values, netgrow tensors, and their checks") {
  const std::vector<double> v{1, 2, 3, 4, 5, 6};
  const SafeTensor t = SafeTensor::from_values<double>({2, 3}, v);
  CHECK(t.numel() == 6);
  CHECK(t.values<double>() == v);
  const Tensor<double> tensor = t.to_tensor<double>();
  CHECK(tensor.shape() == Shape{2, 3});
  CHECK(tensor.at(1, 2) == 6);
  CHECK_THROWS_WITH_AS(t.values<float>("w"), doctest::Contains("tensor 'w' holds F64, not F32"), IoError);
  CHECK_THROWS_AS(SafeTensor::from_values<double>({4}, v), ShapeError);

  Tensor<float> source({2, 2});
  for (Index i = 0; i < 4; ++i) source[i] = static_cast<float>(i) / 3;
  const SafeTensor f = SafeTensor::from(source);
  CHECK(f.dtype == Dtype::F32);
  CHECK(f.shape == std::vector<std::int64_t>{2, 2});
  CHECK(f.values<float>() == source.to_vector());

  SafeTensor rank5;
  rank5.dtype = Dtype::U8;
  rank5.shape = {1, 1, 1, 1, 2};
  rank5.data.resize(2);
  CHECK(rank5.values<std::uint8_t>().size() == 2);
  CHECK_THROWS_WITH_AS(rank5.to_tensor<std::uint8_t>("r"), doctest::Contains("rank 5"), ShapeError);

  SafeTensor b;
  b.dtype = Dtype::BOOL;
  b.shape = {3};
  b.data = {std::byte{1}, std::byte{0}, std::byte{1}};
  CHECK(b.values<bool>() == std::vector<bool>{true, false, true});
  b.data[1] = std::byte{2};
  CHECK_THROWS_WITH_AS(b.values<bool>("flags"), doctest::Contains("neither 0 nor 1"), IoError);
}

TEST_CASE("writing an inconsistent tensor or a reserved or invalid name is refused") {
  Safetensors st;
  st.tensors["x"] = SafeTensor::from_values<float>({2}, std::vector<float>{1, 2});
  st.tensors["x"].data.pop_back();
  CHECK_THROWS_WITH_AS(serialize_safetensors(st), doctest::Contains("tensor 'x' has 7 bytes"), ShapeError);
  st.tensors.clear();
  st.tensors["__metadata__"] = SafeTensor::from_values<float>({1}, std::vector<float>{1});
  CHECK_THROWS_AS(serialize_safetensors(st), ArgumentError);
  st.tensors.clear();
  st.metadata["bad"] = std::string("\xff\xfe");
  CHECK_THROWS_WITH_AS(serialize_safetensors(st), doctest::Contains("UTF-8"), ArgumentError);
  test::TempDir dir;
  CHECK_THROWS_AS(write_safetensors(dir / "x.safetensors", st), ArgumentError);
  CHECK(dir.entries().empty());
}

TEST_CASE("each class of malformed file raises IoError naming the file, the tensor and the fault") {
  check_rejected({}, "shorter than the 8-byte header length");
  check_rejected(std::vector<std::byte>(7), "shorter than the 8-byte header length");
  check_rejected(make_file("{}", 0, std::uint64_t{1} << 40), "exceeds the limit");
  check_rejected(make_file("{}", 0, ~std::uint64_t{0}), "exceeds the limit");
  check_rejected(make_file("{}", 0, 100), "exceeds the 2 bytes after the length field");
  check_rejected(make_file("[]"), "does not start with '{'");
  check_rejected(make_file(" {}"), "does not start with '{'");
  check_rejected(make_file("{\"a\": "), "not valid JSON");
  check_rejected(make_file("{\"a\":1} x"), "not valid JSON");
  check_rejected(make_file(std::string("{}\0\0", 4)), "NUL byte");
  check_rejected(make_file("{\"\xff\":1}"), "not valid JSON");  // invalid UTF-8
  check_rejected(make_file("{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("a", "F32", "[1]", 4, 8) + "}", 8),
                 "repeats the key 'a'");
  check_rejected(make_file("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\"}}"), "repeats the key 'dtype'");
  check_rejected(make_file("{\"a\":{\"shape\":[[[1]]]}}"), "nests JSON deeper");
  check_rejected(make_file("{\"a\":[[[[[[[[[[[[[]]]]]]]]]]]]]}"), "nests JSON deeper");
  check_rejected(make_file("{\"a\":1}"), "tensor 'a': its entry is not a JSON object");
  check_rejected(make_file("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "tensor 'a': missing \"dtype\"");
  check_rejected(make_file("{" + entry("a", "F33", "[1]", 0, 4) + "}", 4), "tensor 'a': unknown dtype 'F33'");
  check_rejected(make_file("{" + entry("a", "f32", "[1]", 0, 4) + "}", 4), "unknown dtype 'f32'");
  check_rejected(make_file("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "tensor 'a': missing \"shape\"");
  check_rejected(make_file("{" + entry("a", "F32", "[-1]", 0, 4) + "}", 4), "not a list of non-negative integers");
  check_rejected(make_file("{" + entry("a", "F32", "[1.0]", 0, 4) + "}", 4), "not a list of non-negative integers");
  check_rejected(make_file("{" + entry("a", "F32", "[\"1\"]", 0, 4) + "}", 4), "not a list of non-negative integers");
  check_rejected(make_file("{" + entry("a", "F32", "[4611686018427387904,4611686018427387904]", 0, 4) + "}", 4),
                 "overflows 64-bit sizes");
  check_rejected(make_file("{" + entry("a", "F64", "[2305843009213693952]", 0, 4) + "}", 4), "overflows");
  check_rejected(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "\"data_offsets\" must be");
  check_rejected(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8),
                 "\"data_offsets\" must be");
  check_rejected(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4),
                 "\"data_offsets\" must be");
  check_rejected(make_file("{" + entry("a", "F32", "[1]", 0, 4) + ",\"extra\":0}", 4), "tensor 'extra'");
  check_rejected(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4),
                 "tensor 'a': unknown field 'x'");
  check_rejected(make_file("{" + entry("a", "F32", "[2]", 0, 8) + "}", 4),
                 "tensor 'a': data_offsets [0, 8] lie outside");
  check_rejected(make_file("{" + entry("a", "F32", "[2]", 8, 4) + "}", 8), "lie outside");
  check_rejected(make_file("{" + entry("a", "F32", "[2]", 0, 4) + "}", 4),
                 "span 4 bytes, but shape [2] of F32 needs 8");
  check_rejected(make_file("{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}", 12),
                 "overlaps tensor 'a'");
  check_rejected(make_file("{" + entry("a", "F32", "[1]", 4, 8) + "}", 8),
                 "bytes [0, 4) of the tensor data belong to no tensor");
  check_rejected(make_file("{" + entry("a", "F32", "[1]", 0, 4) + "}", 6), "2 bytes after the last tensor");
  check_rejected(make_file("{}", 1), "1 bytes after the last tensor");
  check_rejected(make_file("{\"__metadata__\":[]}"), "__metadata__ is not a JSON object");
  check_rejected(make_file("{\"__metadata__\":{\"k\":1}}"), "__metadata__ entry 'k' is not a string");
}

TEST_CASE("every truncation of a valid file is rejected") {
  const std::vector<std::byte> good = serialize_safetensors(sample_file());
  for (std::size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    const std::vector<std::byte> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK_THROWS_AS(parse_safetensors(cut), IoError);
  }
}

TEST_CASE("random corruption either parses into a consistent file or raises IoError") {
  const std::vector<std::byte> good = serialize_safetensors(sample_file());
  Rng rng(7);
  int rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<std::byte> bad = good;
    const int flips = 1 + static_cast<int>(rng.uniform_int(4));
    for (int f = 0; f < flips; ++f) {
      // Mostly the header, where the structure is.
      const std::size_t limit = rng.uniform_int(4) == 0 ? bad.size() : std::min<std::size_t>(bad.size(), 700);
      bad[rng.uniform_int(limit)] = static_cast<std::byte>(rng.uniform_int(256));
    }
    try {
      const Safetensors st = parse_safetensors(bad);
      std::size_t bytes = 0;
      for (const auto& [name, t] : st.tensors) {
        CHECK(t.data.size() == static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype));
        bytes += t.data.size();
      }
      std::uint64_t n = 0;
      std::memcpy(&n, bad.data(), 8);
      CHECK(8 + n + bytes == bad.size());
    } catch (const IoError&) {
      ++rejected;
    }
  }
  CHECK(rejected > 0);
}

TEST_CASE("read_safetensors: missing and truncated files raise IoError naming the path") {
  test::TempDir dir;
  CHECK_THROWS_WITH_AS(read_safetensors(dir / "none.safetensors"), doctest::Contains("none.safetensors"), IoError);
  const std::vector<std::byte> good = serialize_safetensors(sample_file());
  for (const std::size_t n : {std::size_t{3}, std::size_t{8}, std::size_t{100}, good.size() - 1}) {
    CAPTURE(n);
    {
      std::ofstream out(dir / "cut.safetensors", std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(good.data()), static_cast<std::streamsize>(n));
    }
    CHECK_THROWS_WITH_AS(read_safetensors(dir / "cut.safetensors"), doctest::Contains("cut.safetensors"), IoError);
  }
  CHECK_THROWS_AS(read_safetensors(dir.path()), IoError);  // a directory
}
