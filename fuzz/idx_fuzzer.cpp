// fuzz/idx_fuzzer.cpp: libFuzzer target for the IDX reader (netgrow/data/idx.hpp).
//
// Contract checked: any bytes either parse into a consistent array (rank 1 to 4, as many values as
// the dimensions multiply to) or raise netgrow::IoError. A crash, a sanitizer report, a leak, a
// timeout, an allocation over libFuzzer's limit or any other exception is a finding.
#include <cstddef>
#include <cstdint>
#include <span>

#include "netgrow/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const netgrow::IdxArray a = netgrow::read_idx_bytes(std::span<const std::uint8_t>(data, size));
    std::size_t total = 1;
    for (const netgrow::Index d : a.dims) total *= static_cast<std::size_t>(d);
    if (a.dims.empty() || a.dims.size() > 4 || total != a.values.size()) __builtin_trap();
  } catch (const netgrow::IoError&) {
    // the documented outcome for malformed input
  }
  return 0;
}
