// Tests data/char_corpus.hpp on the first 4 KB of Tiny Shakespeare (tests/data/shakespeare_head.txt):
// the vocabulary and ids round-trip the text, the 90/10 split, next-character windows, and clear errors
// for a missing, empty or unexpected file.
#include <doctest/doctest.h>

#include "netgrow/data/char_corpus.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

using namespace netgrow;

namespace {

const std::string head_path = std::string(NETGROW_TEST_DATA_DIR) + "/shakespeare_head.txt";

}  // namespace

TEST_CASE("a text becomes ids over its sorted distinct characters and decodes back") {
  const CharCorpus text = read_char_corpus(head_path, 4096);
  CHECK(text.size() == 4096);
  CHECK(std::is_sorted(text.vocabulary.begin(), text.vocabulary.end()));
  CHECK(std::adjacent_find(text.vocabulary.begin(), text.vocabulary.end()) == text.vocabulary.end());
  CHECK(text.vocab_size() > 30);
  CHECK(text.decode(std::vector<std::int32_t>(text.ids.begin(), text.ids.begin() + 14)) == "First Citizen:");
  CHECK_THROWS_AS(text.decode({static_cast<std::int32_t>(text.vocab_size())}), ArgumentError);
  const CharCorpus small = char_corpus_from_text("banana");
  CHECK(small.vocabulary == "abn");
  CHECK(small.ids == std::vector<std::int32_t>{1, 0, 2, 0, 2, 0});
}

TEST_CASE("split_corpus: the first 90% and the rest over one vocabulary") {
  const CharCorpus text = read_char_corpus(head_path);
  const auto [train, validation] = split_corpus(text, 0.9);
  CHECK(train.size() == 3686);
  CHECK(train.size() + validation.size() == text.size());
  CHECK(train.vocabulary == text.vocabulary);
  CHECK(validation.ids.front() == text.ids[3686]);
  CHECK_THROWS_AS(split_corpus(text, 1.0), ArgumentError);
}

TEST_CASE("sample_windows gives inputs and the same text shifted by one") {
  const CharCorpus text = read_char_corpus(head_path);
  Rng rng(1);
  Tensor<float> inputs;
  Tensor<std::int32_t> targets;
  sample_windows(text, 5, 16, rng, inputs, targets);
  CHECK(inputs.shape() == Shape{5, 16});
  CHECK(targets.shape() == Shape{5, 16});
  for (Index i = 0; i < 5; ++i)
    for (Index j = 0; j + 1 < 16; ++j) CHECK(targets.at(i, j) == static_cast<std::int32_t>(inputs.at(i, j + 1)));
  Rng again(1);
  Tensor<float> inputs2;
  Tensor<std::int32_t> targets2;
  sample_windows(text, 5, 16, again, inputs2, targets2);
  CHECK(inputs2.to_vector() == inputs.to_vector());
  const CharCorpus tiny = char_corpus_from_text("abc");
  CHECK_THROWS_WITH_AS(sample_windows(tiny, 1, 3, rng, inputs, targets), doctest::Contains("too few"), ArgumentError);
}

TEST_CASE("a missing, empty or unexpected file is an IoError that says what to do") {
  CHECK_THROWS_WITH_AS(read_char_corpus("/nonexistent/tinyshakespeare.txt"), doctest::Contains("NETGROW_SHAKESPEARE"),
                       IoError);
  CHECK_THROWS_WITH_AS(read_char_corpus(head_path, 1115394), doctest::Contains("expected 1115394"), IoError);
  const std::string empty = std::string(NETGROW_TEST_DATA_DIR) + "/../../build/empty_corpus_test.txt";
  if (std::FILE* f = std::fopen(empty.c_str(), "wb")) {
    std::fclose(f);
    CHECK_THROWS_WITH_AS(read_char_corpus(empty), doctest::Contains("empty"), IoError);
    std::remove(empty.c_str());
  }
}
