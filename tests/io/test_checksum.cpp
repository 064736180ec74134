// Tests io/checksum.hpp: hash64 is deterministic, depends on the seed and the length, and changes
// when any single bit of its input flips (every position, across the lanes, the leftover words and the
// tail); its value is pinned, because checkpoints store it; tensors_checksum covers each tensor's name,
// dtype, shape and bytes; the hexadecimal form round-trips and malformed text is refused.
#include <doctest/doctest.h>

#include "netgrow/io/checksum.hpp"

#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

using namespace netgrow;

namespace checksum_test {

std::vector<std::byte> counting_bytes(std::size_t n) {
  std::vector<std::byte> b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::byte>(i * 7 + 3);
  return b;
}

std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span<const char>(s));
}

io::Safetensors two_tensors() {
  io::Safetensors st;
  st.tensors["a"] = io::SafeTensor::from_values<float>({2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6});
  st.tensors["b"] = io::SafeTensor::from_values<std::int64_t>({2}, std::vector<std::int64_t>{7, 8});
  return st;
}

}  // namespace checksum_test

using namespace checksum_test;

TEST_CASE("hash64: every single flipped bit changes it, for lengths that exercise lanes, leftover words and tails") {
  for (const std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{31}, std::size_t{32},
                              std::size_t{45}, std::size_t{100}}) {
    CAPTURE(n);
    std::vector<std::byte> b = counting_bytes(n);
    const std::uint64_t h = io::hash64(b);
    CHECK(io::hash64(b) == h);
    std::set<std::uint64_t> seen{h};
    for (std::size_t bit = 0; bit < 8 * n; ++bit) {
      b[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
      seen.insert(io::hash64(b));
      b[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
    }
    CHECK(seen.size() == 8 * n + 1);  // all distinct
  }
}

TEST_CASE("hash64: the length, the seed and the empty input count; the value is pinned") {
  const std::vector<std::byte> one(1, std::byte{0}), two(2, std::byte{0});
  CHECK(io::hash64(one) != io::hash64(two));  // zero padding of the tail does not hide the length
  CHECK(io::hash64({}) != io::hash64({}, 1));
  CHECK(io::hash64(bytes_of("netgrow")) != io::hash64(bytes_of("netgrow"), 1));
  // Checkpoints store these values: a change here makes every saved checkpoint fail its checksum. (They
  // were cross-checked against a separate implementation of the file comment's description.)
  CHECK(io::checksum_hex(io::hash64({})) == "c5ca2088939b7753");
  CHECK(io::checksum_hex(io::hash64(bytes_of("netgrow checkpoint checksum, 37 bytes"))) == "fb78dc22fa3a0bb9");
  CHECK(io::checksum_hex(io::tensors_checksum(two_tensors())) == "daa0eaa3a534b72c");
}

TEST_CASE("tensors_checksum covers names, dtypes, shapes and bytes, in name order") {
  const io::Safetensors st = two_tensors();
  const std::uint64_t h = io::tensors_checksum(st);
  CHECK(io::tensors_checksum(io::Safetensors{}) == 0);
  io::Safetensors renamed = st;
  renamed.tensors["c"] = renamed.tensors["b"];
  renamed.tensors.erase("b");
  CHECK(io::tensors_checksum(renamed) != h);
  io::Safetensors reshaped = st;
  reshaped.tensors["a"].shape = {3, 2};
  CHECK(io::tensors_checksum(reshaped) != h);
  io::Safetensors retyped = st;
  retyped.tensors["a"].dtype = io::Dtype::I32;  // same bytes, another dtype
  CHECK(io::tensors_checksum(retyped) != h);
  io::Safetensors changed = st;
  changed.tensors["b"].data[3] ^= std::byte{0x10};
  CHECK(io::tensors_checksum(changed) != h);
  io::Safetensors with_metadata = st;
  with_metadata.metadata["note"] = "metadata is not covered";
  CHECK(io::tensors_checksum(with_metadata) == h);
  // Bytes moving from one tensor's end to the next one's start change it (names and shapes delimit them).
  io::Safetensors split;
  split.tensors["x"] = io::SafeTensor::from_values<std::uint8_t>({2}, std::vector<std::uint8_t>{1, 2});
  split.tensors["y"] = io::SafeTensor::from_values<std::uint8_t>({1}, std::vector<std::uint8_t>{3});
  io::Safetensors moved;
  moved.tensors["x"] = io::SafeTensor::from_values<std::uint8_t>({1}, std::vector<std::uint8_t>{1});
  moved.tensors["y"] = io::SafeTensor::from_values<std::uint8_t>({2}, std::vector<std::uint8_t>{2, 3});
  CHECK(io::tensors_checksum(split) != io::tensors_checksum(moved));
}

TEST_CASE("checksum_hex and parse_checksum_hex: 16 hexadecimal digits, round trip, malformed text refused") {
  CHECK(io::checksum_hex(0) == "0000000000000000");
  CHECK(io::checksum_hex(0x0123456789ABCDEFULL) == "0123456789abcdef");
  for (const std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, ~std::uint64_t{0}, std::uint64_t{0xDEADBEEF}})
    CHECK(io::parse_checksum_hex(io::checksum_hex(v)) == v);
  CHECK(io::parse_checksum_hex("0123456789ABCDEF") == 0x0123456789ABCDEFULL);
  for (const char* bad : {"", "0", "0123456789abcde", "0123456789abcdef0", "0123456789abcdeg", "0x23456789abcdef",
                          " 123456789abcdef", "-123456789abcdef"})
    CHECK_FALSE(io::parse_checksum_hex(bad).has_value());
}
