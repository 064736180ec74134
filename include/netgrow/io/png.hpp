/// \file
/// netgrow/io/png.hpp: writing 8-bit grayscale PNG images (sample grids of a generator), with no
/// library: the image data goes into zlib "stored" (uncompressed) deflate blocks, so any PNG reader
/// decodes it; files are a few bytes larger than the pixels. Written atomically (io/atomic_file.hpp).
///
/// ~~~
///   io::write_png_gray("samples.png", width, height, pixels);   // pixels: height x width bytes, row-major
///   io::write_png_gray("grid.png", io::image_grid(images, 8));  // images (N, 1, H, W) in [-1, 1]
/// ~~~
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "netgrow/core/error.hpp"
#include "netgrow/core/tensor.hpp"
#include "netgrow/io/atomic_file.hpp"

namespace netgrow::io {

/// A grayscale image: height x width bytes, row-major.
struct GrayImage {
  Index width = 0, height = 0;
  std::vector<std::uint8_t> pixels;
};

namespace detail {

// CRC-32 (ISO 3309, polynomial 0xEDB88320 reflected), as PNG chunks need.
inline std::uint32_t crc32(std::span<const std::uint8_t> bytes, std::uint32_t crc = 0) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t n = 0; n < 256; ++n) {
      std::uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (std::uint8_t b : bytes) crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

// Adler-32 of zlib's trailer.
inline std::uint32_t adler32(std::span<const std::uint8_t> bytes) {
  std::uint32_t a = 1, b = 0;
  for (std::uint8_t x : bytes) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

inline void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}

inline void put_chunk(std::vector<std::uint8_t>& out, const char (&type)[5], const std::vector<std::uint8_t>& data) {
  put_u32(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put_u32(out, crc32(std::span<const std::uint8_t>(out.data() + start, out.size() - start)));
}

}  // namespace detail

/// The PNG file's bytes for `image` (8-bit grayscale, filter 0 on every row, stored deflate blocks).
inline std::vector<std::uint8_t> encode_png_gray(const GrayImage& image) {
  require(image.width > 0 && image.height > 0 && image.width < (Index{1} << 31) && image.height < (Index{1} << 31),
          "io::encode_png_gray: width and height must be positive, got ", image.width, " x ", image.height);
  require<ShapeError>(static_cast<Index>(image.pixels.size()) == image.width * image.height, "io::encode_png_gray: ",
                      image.pixels.size(), " pixels for ", image.width, " x ", image.height);
  std::vector<std::uint8_t> raw;  // each row: filter byte 0, then the row
  raw.reserve(static_cast<std::size_t>((image.width + 1) * image.height));
  for (Index r = 0; r < image.height; ++r) {
    raw.push_back(0);
    const auto* row = image.pixels.data() + r * image.width;
    raw.insert(raw.end(), row, row + image.width);
  }
  std::vector<std::uint8_t> z{0x78, 0x01};  // zlib header: deflate, 32 KiB window, no dictionary
  for (std::size_t at = 0; at < raw.size() || at == 0;) {
    const std::size_t len = std::min<std::size_t>(65535, raw.size() - at);
    const bool last = at + len == raw.size();
    z.push_back(last ? 1 : 0);  // BFINAL, BTYPE 00 (stored)
    z.push_back(static_cast<std::uint8_t>(len & 0xFF));
    z.push_back(static_cast<std::uint8_t>(len >> 8));
    z.push_back(static_cast<std::uint8_t>(~len & 0xFF));
    z.push_back(static_cast<std::uint8_t>((~len >> 8) & 0xFF));
    z.insert(z.end(), raw.begin() + static_cast<std::ptrdiff_t>(at), raw.begin() + static_cast<std::ptrdiff_t>(at + len));
    at += len;
    if (last) break;
  }
  detail::put_u32(z, detail::adler32(raw));
  std::vector<std::uint8_t> png{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<std::uint8_t> ihdr;
  detail::put_u32(ihdr, static_cast<std::uint32_t>(image.width));
  detail::put_u32(ihdr, static_cast<std::uint32_t>(image.height));
  ihdr.insert(ihdr.end(), {8, 0, 0, 0, 0});  // 8 bits, grayscale, deflate, filter method 0, no interlace
  detail::put_chunk(png, "IHDR", ihdr);
  detail::put_chunk(png, "IDAT", z);
  detail::put_chunk(png, "IEND", {});
  return png;
}

/// Writes `image` as a PNG file at `path`, atomically.
inline void write_png_gray(const std::filesystem::path& path, const GrayImage& image) {
  const std::vector<std::uint8_t> bytes = encode_png_gray(image);
  AtomicFile out(path);
  out.write(std::as_bytes(std::span<const std::uint8_t>(bytes)));
  out.commit();
}

/// Images (N, 1, H, W) (or (N, H, W)) with values in [lo, hi] tiled `columns` per row with a 2-pixel
/// border, mapped linearly to 0..255 (values outside clamped).
template <class S>
GrayImage image_grid(ConstView<S, Cpu> images, Index columns, double lo = -1, double hi = 1) {
  require<ShapeError>((images.rank() == 4 && images.dim(1) == 1) || images.rank() == 3,
                      "io::image_grid: images must be (N, 1, H, W) or (N, H, W), got ", images.shape());
  require(columns >= 1 && hi > lo, "io::image_grid: columns must be positive and hi > lo");
  const Index n = images.dim(0), h = images.dim(images.rank() - 2), w = images.dim(images.rank() - 1);
  require(n >= 1, "io::image_grid: no images");
  const Index cols = std::min(columns, n), rows = (n + cols - 1) / cols, pad = 2;
  GrayImage g{pad + cols * (w + pad), pad + rows * (h + pad), {}};
  g.pixels.assign(static_cast<std::size_t>(g.width * g.height), 0);
  for (Index i = 0; i < n; ++i) {
    const Index top = pad + (i / cols) * (h + pad), left = pad + (i % cols) * (w + pad);
    for (Index r = 0; r < h; ++r)
      for (Index c = 0; c < w; ++c) {
        const double v = (static_cast<double>(images.data()[(i * h + r) * w + c]) - lo) / (hi - lo);
        g.pixels[static_cast<std::size_t>((top + r) * g.width + left + c)] =
            static_cast<std::uint8_t>(std::lround(255 * std::clamp(v, 0.0, 1.0)));
      }
  }
  return g;
}

}  // namespace netgrow::io
