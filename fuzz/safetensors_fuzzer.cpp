// fuzz/safetensors_fuzzer.cpp: libFuzzer target for the checkpoint reader (netgrow/io/safetensors.hpp).
//
// Contract checked: any bytes either parse or raise netgrow::IoError; what parses survives a round
// trip (serialize_safetensors, then parse again) with the same metadata, names, dtypes, shapes and
// bytes. A crash, a sanitizer report, a leak, a timeout, an allocation over libFuzzer's limit, any
// other exception or a round-trip mismatch is a finding.
#include <cstddef>
#include <cstdint>
#include <span>

#include "netgrow/io/safetensors.hpp"

namespace {

bool same(const netgrow::io::Safetensors& a, const netgrow::io::Safetensors& b) {
  if (a.metadata != b.metadata || a.tensors.size() != b.tensors.size()) return false;
  for (const auto& [name, t] : a.tensors) {
    const auto it = b.tensors.find(name);
    if (it == b.tensors.end() || it->second.dtype != t.dtype || it->second.shape != t.shape ||
        it->second.data != t.data)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  netgrow::io::Safetensors parsed;
  try {
    parsed = netgrow::io::parse_safetensors(std::as_bytes(std::span<const std::uint8_t>(data, size)));
  } catch (const netgrow::IoError&) {
    return 0;  // the documented outcome for malformed input
  }
  const auto bytes = netgrow::io::serialize_safetensors(parsed);
  if (!same(parsed, netgrow::io::parse_safetensors(bytes))) __builtin_trap();
  return 0;
}
