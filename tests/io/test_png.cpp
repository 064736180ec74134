// Tests io/png.hpp by decoding what it writes with an independent reader written here: the signature,
// each chunk's CRC-32 (bitwise, not the table), IHDR's fields, the zlib stream's stored blocks and its
// Adler-32, and the pixels themselves; image_grid's layout and value mapping; bad input.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "netgrow/io/png.hpp"

using namespace netgrow;

namespace {

std::uint32_t read_u32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}

std::uint32_t bitwise_crc(const std::uint8_t* p, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// Decodes a grayscale 8-bit PNG whose IDAT holds stored deflate blocks; checks everything on the way.
io::GrayImage decode(const std::vector<std::uint8_t>& png) {
  REQUIRE(png.size() > 8);
  CHECK(std::vector<std::uint8_t>(png.begin(), png.begin() + 8) ==
        std::vector<std::uint8_t>{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
  io::GrayImage img;
  std::vector<std::uint8_t> z;
  bool end = false;
  for (std::size_t at = 8; at < png.size();) {
    const std::uint32_t len = read_u32(png, at);
    const std::string type(png.begin() + static_cast<std::ptrdiff_t>(at + 4), png.begin() + static_cast<std::ptrdiff_t>(at + 8));
    CHECK(read_u32(png, at + 8 + len) == bitwise_crc(png.data() + at + 4, len + 4));
    const std::uint8_t* data = png.data() + at + 8;
    if (type == "IHDR") {
      img.width = read_u32(png, at + 8);
      img.height = read_u32(png, at + 12);
      CHECK(data[8] == 8);  // bit depth
      CHECK(data[9] == 0);  // grayscale
    } else if (type == "IDAT") {
      z.insert(z.end(), data, data + len);
    } else if (type == "IEND") {
      end = true;
    }
    at += 12 + len;
  }
  CHECK(end);
  REQUIRE(z.size() >= 6);
  CHECK((z[0] * 256 + z[1]) % 31 == 0);  // zlib header check bits
  std::vector<std::uint8_t> raw;
  std::size_t at = 2;
  for (bool last = false; !last;) {
    last = z[at] & 1;
    CHECK((z[at] >> 1) == 0);  // stored
    const std::size_t len = z[at + 1] | (z[at + 2] << 8), nlen = z[at + 3] | (z[at + 4] << 8);
    CHECK(len == (~nlen & 0xFFFF));
    raw.insert(raw.end(), z.begin() + static_cast<std::ptrdiff_t>(at + 5), z.begin() + static_cast<std::ptrdiff_t>(at + 5 + len));
    at += 5 + len;
  }
  std::uint32_t a = 1, b = 0;
  for (std::uint8_t x : raw) a = (a + x) % 65521, b = (b + a) % 65521;
  CHECK(read_u32(z, at) == ((b << 16) | a));
  REQUIRE(static_cast<Index>(raw.size()) == (img.width + 1) * img.height);
  for (Index r = 0; r < img.height; ++r) {
    CHECK(raw[static_cast<std::size_t>(r * (img.width + 1))] == 0);  // filter: none
    for (Index c = 0; c < img.width; ++c) img.pixels.push_back(raw[static_cast<std::size_t>(r * (img.width + 1) + 1 + c)]);
  }
  return img;
}

}  // namespace

TEST_CASE("PNG: the written file decodes to the pixels, also across several stored blocks") {
  for (Index side : {3, 300}) {  // 300 x 301 rows of 301 bytes: two 64 KiB blocks
    io::GrayImage img{side, side, {}};
    for (Index i = 0; i < side * side; ++i) img.pixels.push_back(static_cast<std::uint8_t>((i * 37) % 256));
    const io::GrayImage back = decode(io::encode_png_gray(img));
    CHECK(back.width == side);
    CHECK(back.height == side);
    CHECK(back.pixels == img.pixels);
  }
  const auto path = std::filesystem::temp_directory_path() / "netgrow_test_png.png";
  io::write_png_gray(path, io::GrayImage{2, 1, {0, 255}});
  std::ifstream in(path, std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(decode(bytes).pixels == std::vector<std::uint8_t>{0, 255});
  std::filesystem::remove(path);
  CHECK_THROWS_AS(io::encode_png_gray(io::GrayImage{2, 2, {1, 2, 3}}), ShapeError);
  CHECK_THROWS_AS(io::encode_png_gray(io::GrayImage{0, 2, {}}), ArgumentError);
}

TEST_CASE("image_grid tiles images with a border and maps [-1, 1] to 0..255") {
  Tensor<float> images({3, 1, 2, 2});
  for (Index i = 0; i < 4; ++i) {
    images.data()[i] = -1.f;     // image 0: black
    images.data()[4 + i] = 1.f;  // image 1: white
    images.data()[8 + i] = 0.f;  // image 2: grey
  }
  const io::GrayImage g = io::image_grid<float>(images, 2);
  CHECK(g.width == 2 + 2 * 4);
  CHECK(g.height == 2 + 2 * 4);
  CHECK(g.pixels[static_cast<std::size_t>(2 * g.width + 2)] == 0);
  CHECK(g.pixels[static_cast<std::size_t>(2 * g.width + 6)] == 255);
  CHECK(g.pixels[static_cast<std::size_t>(6 * g.width + 2)] == 128);
  CHECK(g.pixels[0] == 0);  // border
  CHECK_THROWS_AS(io::image_grid<float>(Tensor<float>({3, 2, 2, 2}), 2), ShapeError);
}
