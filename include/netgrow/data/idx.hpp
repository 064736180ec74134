/// \file
/// netgrow/data/idx.hpp: reader for the IDX format of MNIST and Fashion-MNIST, gzip-compressed or not.
///
/// Layout: a 4-byte magic number (two zero bytes, a type code, the number of dimensions), then each
/// dimension as a big-endian 32-bit integer, then the values. Only unsigned bytes (type 0x08), the
/// type every (Fashion-)MNIST file uses, are accepted. The reader checks the magic number, the type,
/// the rank (1 to 4), that every dimension is positive and the total size plausible, that exactly
/// that many values follow and nothing else; any failure is an IoError naming the file and what was
/// wrong.
///
/// Two entry points share one parser: read_idx(path) reads a file, read_idx_bytes(bytes) a buffer in
/// memory (what the fuzzer in fuzz/ drives); read_idx loads the file and calls read_idx_bytes, so both
/// see the same checks. Content starting with the gzip magic (1f 8b) is decompressed with zlib
/// (concatenated gzip members are read in turn, as gunzip does; the CRC of each member is checked);
/// anything else is read as raw IDX. Memory grows with the data actually decoded, never with what a
/// header merely announces, so a corrupt header cannot make the reader allocate gigabytes.
#pragma once

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "netgrow/core/config.hpp"
#include "netgrow/core/error.hpp"

namespace netgrow {

/// An IDX array of unsigned bytes: its dimensions and values.
struct IdxArray {
  std::vector<Index> dims;           ///< e.g. (60000, 28, 28)
  std::vector<std::uint8_t> values;  ///< row-major
};

namespace detail {

// The byte sources the IDX parser reads from. read(out, n) stores up to n bytes of the (decoded)
// content and returns how many: fewer than n only at its end. Corrupt data throws IoError.
// max_remaining() bounds how many decoded bytes can still come (the parser allocates no more at once).

// Raw IDX bytes.
class IdxRawBytes {
 public:
  explicit IdxRawBytes(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  std::size_t read(std::uint8_t* out, std::size_t n) {
    const std::size_t count = std::min(n, bytes_.size() - position_);
    if (count > 0) std::memcpy(out, bytes_.data() + position_, count);
    position_ += count;
    return count;
  }
  std::size_t max_remaining() const { return bytes_.size() - position_; }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t position_ = 0;
};

// gzip-compressed IDX bytes: one or more gzip members back to back; anything after the last member
// that is not another member is an error (reported when the parser reads that far).
class IdxGzipBytes {
 public:
  IdxGzipBytes(std::span<const std::uint8_t> bytes, const std::string& name) : bytes_(bytes), name_(name) {
    if (inflateInit2(&stream_, 15 + 16) != Z_OK)  // 15: largest window; +16: gzip wrapper only
      throw IoError("IDX file " + name_ + ": cannot initialise zlib");
  }
  ~IdxGzipBytes() { inflateEnd(&stream_); }
  IdxGzipBytes(const IdxGzipBytes&) = delete;
  IdxGzipBytes& operator=(const IdxGzipBytes&) = delete;

  std::size_t read(std::uint8_t* out, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
      if (member_done_) {
        if (position_ == bytes_.size()) break;  // the end of the content
        if (bytes_.size() - position_ < 2 || bytes_[position_] != 0x1f || bytes_[position_ + 1] != 0x8b)
          throw IoError("IDX file " + name_ + ": " + std::to_string(bytes_.size() - position_) +
                        " bytes after the end of the gzip stream that are not another gzip member");
        inflateReset(&stream_);
        member_done_ = false;
      }
      // zlib counts in 32-bit unsigned integers: feed at most 1 GiB at a time.
      constexpr std::size_t max_chunk = std::size_t{1} << 30;
      const std::size_t in_size = std::min(bytes_.size() - position_, max_chunk);
      const std::size_t out_size = std::min(n - got, max_chunk);
      stream_.next_in = const_cast<Bytef*>(bytes_.data() + position_);  // zlib does not write its input
      stream_.avail_in = static_cast<uInt>(in_size);
      stream_.next_out = out + got;
      stream_.avail_out = static_cast<uInt>(out_size);
      const int status = inflate(&stream_, Z_NO_FLUSH);
      const std::size_t consumed = in_size - stream_.avail_in, produced = out_size - stream_.avail_out;
      position_ += consumed;
      got += produced;
      if (status == Z_STREAM_END) {
        member_done_ = true;
      } else if (status == Z_BUF_ERROR || (status == Z_OK && consumed == 0 && produced == 0)) {
        // No progress: zlib wants more input and there is none.
        throw IoError("IDX file " + name_ + ": the gzip stream ends early (truncated .gz file?)");
      } else if (status != Z_OK) {
        throw IoError("IDX file " + name_ + ": corrupt gzip data (" +
                      (stream_.msg ? std::string(stream_.msg) : "zlib error " + std::to_string(status)) + ")");
      }
    }
    return got;
  }
  // Deflate expands at most 1032:1; zlib may also hold some decoded bytes not yet returned.
  std::size_t max_remaining() const {
    const std::size_t left = bytes_.size() - position_;
    return left > std::numeric_limits<std::size_t>::max() / 2048 ? std::numeric_limits<std::size_t>::max()
                                                                 : left * 1032 + (std::size_t{1} << 16);
  }

 private:
  std::span<const std::uint8_t> bytes_;
  const std::string& name_;
  z_stream stream_{};
  std::size_t position_ = 0;
  bool member_done_ = false;
};

// Reads exactly n bytes or throws IoError saying how many were missing.
template <class Source>
void read_exactly(Source& source, const std::string& name, std::uint8_t* out, std::size_t n, const char* what) {
  const std::size_t got = source.read(out, n);
  if (got != n)
    throw IoError("IDX file " + name + ": truncated " + what + ": expected " + std::to_string(n) + " bytes, got " +
                  std::to_string(got));
}

template <class Source>
IdxArray parse_idx(Source& source, const std::string& name) {
  std::array<std::uint8_t, 4> magic{};
  read_exactly(source, name, magic.data(), 4, "header");
  if (magic[0] != 0 || magic[1] != 0)
    throw IoError("IDX file " + name + ": bad magic number (the first two bytes must be zero); not an IDX file?");
  if (magic[2] != 0x08) {
    const char* hex = "0123456789abcdef";
    throw IoError("IDX file " + name + ": value type 0x" + hex[magic[2] >> 4] + hex[magic[2] & 15] +
                  " is not supported (only unsigned bytes, 0x08)");
  }
  const int rank = magic[3];
  if (rank < 1 || rank > 4) throw IoError("IDX file " + name + ": rank " + std::to_string(rank) + " outside 1..4");
  IdxArray a;
  std::uint64_t total = 1;
  for (int i = 0; i < rank; ++i) {
    std::array<std::uint8_t, 4> b{};
    read_exactly(source, name, b.data(), 4, "dimensions");
    const std::uint32_t d =
        (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
    if (d == 0) throw IoError("IDX file " + name + ": dimension " + std::to_string(i) + " is zero");
    total *= d;  // at most (2^34) * (2^32 - 1) before the check below: no overflow
    if (total > (std::uint64_t{1} << 34))
      throw IoError("IDX file " + name + ": implausible size (over 16 GiB of values); corrupt header?");
    a.dims.push_back(static_cast<Index>(d));
  }
  // Allocate what the source can still deliver, then grow with the data that actually arrives
  // (doubling): a header announcing more than follows costs no more memory than the data.
  const auto expected = static_cast<std::size_t>(total);
  std::size_t have = 0;
  while (have < expected) {
    const std::size_t step = have == 0 ? std::max(source.max_remaining(), std::size_t{1} << 20) : have;
    const std::size_t chunk = std::min(expected - have, step);
    a.values.resize(have + chunk);
    const std::size_t got = source.read(a.values.data() + have, chunk);
    have += got;
    if (got < chunk)
      throw IoError("IDX file " + name + ": truncated values: expected " + std::to_string(expected) + " bytes, got " +
                    std::to_string(have));
  }
  std::uint8_t extra = 0;
  if (source.read(&extra, 1) > 0)
    throw IoError("IDX file " + name + ": trailing data after the " + std::to_string(total) +
                  " values the header announces");
  return a;
}

}  // namespace detail

/// Parses IDX content held in memory, raw or gzip-compressed (detected from the gzip magic 1f 8b).
/// `name` only labels error messages. Throws IoError for anything but a well-formed unsigned-byte IDX
/// array of rank 1 to 4 followed by nothing.
inline IdxArray read_idx_bytes(std::span<const std::uint8_t> bytes, const std::string& name = "<memory>") {
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) {
    detail::IdxGzipBytes source(bytes, name);
    return detail::parse_idx(source, name);
  }
  detail::IdxRawBytes source(bytes);
  return detail::parse_idx(source, name);
}

/// Reads an IDX file (.gz or not: the content decides) with read_idx_bytes; IoError when the file
/// cannot be read or its content is not a valid IDX array.
inline IdxArray read_idx(const std::string& path) {
  // C stdio and stat(): <fstream> and <filesystem> would cost every includer a third of a second of parsing.
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) throw IoError("IDX file " + path + ": is a directory");
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) throw IoError("IDX file " + path + ": cannot open it");
  std::vector<std::uint8_t> bytes;
  constexpr std::size_t chunk = std::size_t{1} << 20;
  for (;;) {
    const std::size_t have = bytes.size();
    bytes.resize(have + chunk);
    const std::size_t got = std::fread(bytes.data() + have, 1, chunk, file);
    bytes.resize(have + got);
    if (got < chunk) break;
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) throw IoError("IDX file " + path + ": read error");
  return read_idx_bytes(bytes, path);
}

}  // namespace netgrow
