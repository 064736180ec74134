/// \file
/// netgrow/data/char_corpus.hpp: character-level text for language models (Tiny Shakespeare): the text
/// as ids over its distinct bytes, the usual 90/10 split, and batches of next-character windows.
///
/// ~~~
///   const CharCorpus text = read_char_corpus(default_shakespeare_path());   // 65 characters
///   const auto [train, validation] = split_corpus(text, 0.9);
///   sample_windows(train, 32, 128, rng, inputs, targets);   // inputs (32, 128) ids, targets shifted by one
/// ~~~
/// Ids are positions in the sorted vocabulary; inputs hold them in the network's scalar type (what
/// layers/embedding.hpp takes), targets as std::int32_t (what SequenceCrossEntropy takes).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "netgrow/core/error.hpp"
#include "netgrow/core/rng.hpp"
#include "netgrow/core/tensor.hpp"

namespace netgrow {

/// A text as ids over its own vocabulary (see the file comment).
struct CharCorpus {
  std::string vocabulary;          ///< the distinct bytes, ascending; id i is vocabulary[i]
  std::vector<std::int32_t> ids;   ///< the text, one id per byte
  std::string source;              ///< where it came from (messages)

  Index vocab_size() const { return static_cast<Index>(vocabulary.size()); }  ///< number of distinct bytes
  Index size() const { return static_cast<Index>(ids.size()); }                ///< characters
  /// The text of ids (ArgumentError for an id outside the vocabulary).
  std::string decode(const std::vector<std::int32_t>& text) const {
    std::string out;
    out.reserve(text.size());
    for (const std::int32_t id : text) {
      require(id >= 0 && id < vocab_size(), "CharCorpus::decode: id ", id, " outside [0, ", vocab_size(), ")");
      out.push_back(vocabulary[static_cast<std::size_t>(id)]);
    }
    return out;
  }
};

/// The corpus of `text` (non-empty; `source` names it in messages).
inline CharCorpus char_corpus_from_text(const std::string& text, std::string source = "<text>") {
  require(!text.empty(), "char corpus ", source, ": the text is empty");
  std::array<bool, 256> seen{};
  for (const char c : text) seen[static_cast<unsigned char>(c)] = true;
  CharCorpus corpus;
  corpus.source = std::move(source);
  std::array<std::int32_t, 256> id{};
  for (int b = 0; b < 256; ++b)
    if (seen[static_cast<std::size_t>(b)]) {
      id[static_cast<std::size_t>(b)] = static_cast<std::int32_t>(corpus.vocabulary.size());
      corpus.vocabulary.push_back(static_cast<char>(b));
    }
  corpus.ids.reserve(text.size());
  for (const char c : text) corpus.ids.push_back(id[static_cast<unsigned char>(c)]);
  return corpus;
}

/// $NETGROW_SHAKESPEARE when set and not empty, else ../shared/data/tinyshakespeare.txt (relative to the
/// working directory: the project's root in the examples' instructions).
inline std::string default_shakespeare_path() {
  if (const char* env = std::getenv("NETGROW_SHAKESPEARE"); env && *env) return env;
  return "../shared/data/tinyshakespeare.txt";
}

/// The corpus of the file at `path`; IoError when it is missing, unreadable or empty. `expected_bytes`,
/// when positive, is checked (Tiny Shakespeare has 1,115,394), so a wrong or truncated file says so.
inline CharCorpus read_char_corpus(const std::string& path, Index expected_bytes = 0) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file)
    throw IoError("char corpus " + path + ": cannot open it (pass another path, or set NETGROW_SHAKESPEARE to "
                  "the Tiny Shakespeare text)");
  std::string text;
  char buffer[1 << 16];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, got);
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) throw IoError("char corpus " + path + ": read error");
  if (text.empty()) throw IoError("char corpus " + path + ": the file is empty");
  require<IoError>(expected_bytes <= 0 || static_cast<Index>(text.size()) == expected_bytes, "char corpus ", path,
                   ": ", text.size(), " bytes, expected ", expected_bytes, " (a different or truncated file)");
  return char_corpus_from_text(text, path);
}

/// The first `train_fraction` of the characters and the rest, both over the whole text's vocabulary.
inline std::pair<CharCorpus, CharCorpus> split_corpus(const CharCorpus& corpus, double train_fraction = 0.9) {
  require(train_fraction > 0 && train_fraction < 1, "split_corpus: the fraction must be in (0, 1), got ",
          train_fraction);
  const auto cut = static_cast<std::ptrdiff_t>(static_cast<double>(corpus.ids.size()) * train_fraction);
  CharCorpus train{corpus.vocabulary, {corpus.ids.begin(), corpus.ids.begin() + cut}, corpus.source + " (train)"};
  CharCorpus validation{corpus.vocabulary, {corpus.ids.begin() + cut, corpus.ids.end()}, corpus.source + " (validation)"};
  return {std::move(train), std::move(validation)};
}

/// The window of `context` characters starting at `start` into row `row` of inputs (N, T) and the next
/// characters into the same row of targets (N, T).
template <class S>
void put_window(const CharCorpus& corpus, Index start, Index row, Tensor<S, Cpu>& inputs,
                Tensor<std::int32_t, Cpu>& targets) {
  const Index t = inputs.dim(1);
  require(start >= 0 && start + t + 1 <= corpus.size(), "put_window: a window of ", t, " + 1 characters at ", start,
          " does not fit the ", corpus.size(), " characters of ", corpus.source);
  for (Index j = 0; j < t; ++j) {
    inputs.at(row, j) = static_cast<S>(corpus.ids[static_cast<std::size_t>(start + j)]);
    targets.at(row, j) = corpus.ids[static_cast<std::size_t>(start + j + 1)];
  }
}

/// `batch` windows of `context` characters at uniformly random starts: inputs (batch, context) and
/// targets (batch, context), the same text shifted by one.
template <class S>
void sample_windows(const CharCorpus& corpus, Index batch, Index context, Rng& rng, Tensor<S, Cpu>& inputs,
                    Tensor<std::int32_t, Cpu>& targets) {
  require(batch > 0 && context > 0, "sample_windows: batch and context must be positive, got ", batch, " and ",
          context);
  require(corpus.size() > context, "sample_windows: ", corpus.source, " has ", corpus.size(),
          " characters, too few for windows of ", context, " + 1");
  inputs.resize(Shape{batch, context});
  targets.resize(Shape{batch, context});
  const auto starts = static_cast<std::uint64_t>(corpus.size() - context);
  for (Index i = 0; i < batch; ++i) put_window(corpus, static_cast<Index>(rng.uniform_int(starts)), i, inputs, targets);
}

}  // namespace netgrow
