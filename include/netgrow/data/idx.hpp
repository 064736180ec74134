// netgrow/data/idx.hpp: reader for the IDX format of MNIST and Fashion-MNIST, gzip-compressed or not.
//
// Layout: a 4-byte magic number (two zero bytes, a type code, the number of dimensions), then each
// dimension as a big-endian 32-bit integer, then the values. Only unsigned bytes (type 0x08), the
// type every (Fashion-)MNIST file uses, are accepted. The reader checks the magic number, the type,
// the rank (1 to 4), that every dimension is positive and the total size plausible, that exactly
// that many values follow and nothing else; any failure is an IoError naming the file and what was
// wrong. `.gz` files are decompressed on the fly (zlib); zlib also reads uncompressed files.
#pragma once

#include <zlib.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"

namespace netgrow {

struct IdxArray {
  std::vector<Index> dims;          // e.g. (60000, 28, 28)
  std::vector<std::uint8_t> values;  // row-major
};

namespace detail {

struct GzFile {
  gzFile file = nullptr;
  explicit GzFile(const std::string& path) : file(gzopen(path.c_str(), "rb")) {}
  ~GzFile() {
    if (file) gzclose(file);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
};

// Reads exactly n bytes or throws IoError saying how many were missing.
inline void read_exactly(GzFile& f, const std::string& path, void* out, std::size_t n, const char* what) {
  auto* p = static_cast<unsigned char*>(out);
  std::size_t got = 0;
  while (got < n) {
    const std::size_t chunk = std::min<std::size_t>(n - got, std::size_t{1} << 30);
    const int r = gzread(f.file, p + got, static_cast<unsigned>(chunk));
    if (r < 0) {
      int code = 0;
      const char* msg = gzerror(f.file, &code);
      throw IoError("IDX file " + path + ": corrupt data while reading the " + what + " (" + msg + ")");
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  if (got != n)
    throw IoError("IDX file " + path + ": truncated " + what + ": expected " + std::to_string(n) + " bytes, got " +
                  std::to_string(got));
}

}  // namespace detail

inline IdxArray read_idx(const std::string& path) {
  detail::GzFile f(path);
  if (!f.file) throw IoError("IDX file " + path + ": cannot open it");
  std::array<unsigned char, 4> magic{};
  detail::read_exactly(f, path, magic.data(), 4, "header");
  if (magic[0] != 0 || magic[1] != 0)
    throw IoError("IDX file " + path + ": bad magic number (the first two bytes must be zero); not an IDX file?");
  if (magic[2] != 0x08) {
    const char* hex = "0123456789abcdef";
    throw IoError("IDX file " + path + ": value type 0x" + hex[magic[2] >> 4] + hex[magic[2] & 15] +
                  " is not supported (only unsigned bytes, 0x08)");
  }
  const int rank = magic[3];
  if (rank < 1 || rank > 4) throw IoError("IDX file " + path + ": rank " + std::to_string(rank) + " outside 1..4");
  IdxArray a;
  std::uint64_t total = 1;
  for (int i = 0; i < rank; ++i) {
    std::array<unsigned char, 4> b{};
    detail::read_exactly(f, path, b.data(), 4, "dimensions");
    const std::uint32_t d = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
    if (d == 0) throw IoError("IDX file " + path + ": dimension " + std::to_string(i) + " is zero");
    total *= d;
    if (total > (std::uint64_t{1} << 34))
      throw IoError("IDX file " + path + ": implausible size (over 16 GiB of values); corrupt header?");
    a.dims.push_back(static_cast<Index>(d));
  }
  a.values.resize(static_cast<std::size_t>(total));
  detail::read_exactly(f, path, a.values.data(), a.values.size(), "values");
  unsigned char extra = 0;
  if (gzread(f.file, &extra, 1) > 0)
    throw IoError("IDX file " + path + ": trailing data after the " + std::to_string(total) + " values the header announces");
  return a;
}

}  // namespace netgrow
