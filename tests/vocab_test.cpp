#include "io/vocab.h"

#include <gtest/gtest.h>

#include "io/data_error.h"
#include "io/word_table.h"
#include "test_util.h"

namespace engine::io {
namespace {

std::vector<std::pair<std::string, std::int64_t>> sample_counts() {
  return {{"the", 10}, {"cat", 3}, {"bat", 3}, {"rare", 1}, {"dog", 5}};
}

TEST(Vocab, SpecialsFirstThenByCountThenBytes) {
  const Vocab v = Vocab::build(sample_counts(), {});
  EXPECT_EQ(v.tokens(),
            (std::vector<std::string>{"<pad>", "<unk>", "the", "dog", "bat", "cat", "rare"}));
  EXPECT_EQ(v.id("the"), 2);
  EXPECT_EQ(v.id("never-seen"), Vocab::kUnkId);
  EXPECT_EQ(v.count(v.id("dog")), 5);
}

TEST(Vocab, MinFreqAndMaxSize) {
  EXPECT_EQ(Vocab::build(sample_counts(), {3, 0}).size(), 2 + 4);  // "rare" dropped
  const Vocab capped = Vocab::build(sample_counts(), {1, 4});      // specials + 2 words
  EXPECT_EQ(capped.tokens(), (std::vector<std::string>{"<pad>", "<unk>", "the", "dog"}));
  EXPECT_EQ(capped.id("cat"), Vocab::kUnkId);
}

TEST(Vocab, TokensSpelledLikeSpecialsAreNotDuplicated) {
  const Vocab v = Vocab::build({{"<unk>", 7}, {"a", 1}}, {});
  EXPECT_EQ(v.size(), 3);
  EXPECT_EQ(v.id("<unk>"), Vocab::kUnkId);
}

TEST(Vocab, Hdf5AndTextRoundTrip) {
  test::ScratchDir dir;
  const Vocab v = Vocab::build(sample_counts(), {});
  v.save_hdf5(dir.file("vocab.h5"));
  v.save_text(dir.file("vocab.txt"));
  const Vocab back = Vocab::load_hdf5(dir.file("vocab.h5"));
  EXPECT_EQ(back.tokens(), v.tokens());
  EXPECT_EQ(back.counts(), v.counts());
  EXPECT_EQ(test::read_file(dir.file("vocab.txt")).substr(0, 22), "0\t<pad>\t0\n1\t<unk>\t0\n2\t");
}

TEST(Vocab, RejectsMalformedTokenLists) {
  EXPECT_THROW(Vocab::from_tokens({"a", "b"}, {0, 0}, "x"), DataError);
  EXPECT_THROW(Vocab::from_tokens({"<pad>", "<unk>", "a", "a"}, {0, 0, 1, 1}, "x"), DataError);
}

TEST(WordTable, InternsInFirstSeenOrderAndCountsOnlyWhenAsked) {
  WordTable table;
  std::vector<std::string> words;
  for (int i = 0; i < 100000; ++i) {
    std::string word = "w";  // (not "w" + ...: GCC 12 warns falsely on that form)
    word += std::to_string(i * 7919 % 100003);
    words.push_back(word);
  }
  for (std::size_t i = 0; i < words.size(); ++i) {
    ASSERT_EQ(table.intern(words[i], true), static_cast<std::int32_t>(i));  // grows past 64Ki slots
  }
  for (std::size_t i = 0; i < words.size(); i += 997) {
    EXPECT_EQ(table.intern(words[i], i % 2 == 0), static_cast<std::int32_t>(i));
  }
  EXPECT_EQ(table.intern("a-very-long-word-beyond-eight-bytes", false), 100000);
  EXPECT_EQ(table.intern("a-very-long-word-beyond-eight-bytez", true), 100001);
  std::vector<std::int32_t> remap;
  const Vocab v = table.build_vocab({2, 0}, remap);  // only words seen twice in "train"
  EXPECT_EQ(v.size(), 2 + 51);                       // indices 0, 1994, ... (even multiples of 997)
  EXPECT_EQ(remap[100000], Vocab::kUnkId);           // never counted
  EXPECT_EQ(v.token(remap[0]), words[0]);
}

}  // namespace
}  // namespace engine::io
