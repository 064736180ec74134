/// \file
/// netgrow/io/atomic_file.hpp: writing a file so that readers see either the old file or the complete
/// new one, never a half-written one (checkpoints: a crash or a full disk mid-write keeps the last
/// good checkpoint).
///
/// ~~~
/// AtomicFile out(path);          // writes go to a temporary file beside `path`
/// out.write(header); out.write(body);
/// out.commit();                  // fsync, then rename over `path` (atomic on POSIX file systems)
/// ~~~
///
/// Without commit() (an exception on the way, or a failed commit) the destructor removes the
/// temporary file and `path` is untouched. The temporary lives in the target's directory, so the
/// rename never crosses file systems; it is named ".<file name>.tmp-<pid>-<n>". POSIX only (open,
/// write, fsync).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>
#include <utility>

#include "netgrow/core/error.hpp"

namespace netgrow::io {

/// One file written atomically: a temporary file beside the target, renamed over it by commit() (see the
/// file comment). Not copyable.
class AtomicFile {
 public:
  /// Creates the temporary file next to `target`; throws IoError when it cannot (missing directory,
  /// no permission).
  explicit AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
    require<IoError>(!target_.filename().empty(), "AtomicFile: '", target_.string(), "' names no file");
    static std::atomic<unsigned long> counter{0};
    std::string name = ".";
    name += target_.filename().string();
    name += ".tmp-";
    name += std::to_string(::getpid());
    name += "-";
    name += std::to_string(counter.fetch_add(1));
    temporary_ = target_.parent_path() / name;
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0) {
      const int err = errno;
      fail(err, "cannot create the temporary file '" + temporary_.string() + "'");
    }
  }

  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Without a successful commit(): closes and removes the temporary file.
  ~AtomicFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) {
      std::error_code ignored;
      std::filesystem::remove(temporary_, ignored);
    }
  }

  /// Appends bytes to the temporary file; throws IoError (disk full, I/O error).
  void write(std::span<const std::byte> bytes) {
    require<StateError>(fd_ >= 0 && !committed_, "AtomicFile::write: '", target_.string(), "' is already committed");
    const std::byte* p = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
      const ::ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        const int err = errno;
        if (err == EINTR) continue;
        fail(err, "cannot write '" + temporary_.string() + "'");
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }

  /// Flushes the data to the device, then renames the temporary file over the target. Throws IoError
  /// (the temporary file is then removed by the destructor and the target is untouched).
  void commit() {
    require<StateError>(fd_ >= 0 && !committed_, "AtomicFile::commit: '", target_.string(), "' is already committed");
    if (::fsync(fd_) != 0) {
      const int err = errno;
      fail(err, "cannot flush '" + temporary_.string() + "' to disk");
    }
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) {
      const int err = errno;
      fail(err, "cannot close '" + temporary_.string() + "'");
    }
    std::error_code ec;
    std::filesystem::rename(temporary_, target_, ec);
    require<IoError>(!ec, "cannot replace '", target_.string(), "' by '", temporary_.string(), "': ", ec.message());
    committed_ = true;
    sync_directory();
  }

  const std::filesystem::path& target() const { return target_; }             ///< the file commit() replaces
  const std::filesystem::path& temporary_path() const { return temporary_; }  ///< where writes go until then

 private:
  /// err: the errno of the failed call, read before anything else could change it.
  [[noreturn]] static void fail(int err, const std::string& what) {
    throw IoError(what + ": " + std::error_code(err, std::generic_category()).message());
  }

  /// Makes the rename itself durable; best effort (some file systems refuse fsync on directories).
  void sync_directory() const {
    const std::filesystem::path dir = target_.parent_path().empty() ? "." : target_.parent_path();
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)::fsync(fd);
    ::close(fd);
  }

  std::filesystem::path target_;
  std::filesystem::path temporary_;
  int fd_ = -1;
  bool committed_ = false;
};

/// Replaces the file at `path` by `bytes` atomically (see AtomicFile).
inline void write_file_atomically(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

}  // namespace netgrow::io
