// Speaker names: which are accepted, the one form they are kept in, and look-alikes refused.
#include "spkid/speaker_name.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "spkid/error.h"
#include "spkid/scoring.h"
#include "spkid/store.h"
#include "store_fixtures.h"
#include "synth.h"

namespace spkid {
namespace {

using test::expect_error;
using test::make_enrollment;
using test::TempDir;

// "é" as one code point (NFC) and as "e" and a combining acute accent (NFD).
const std::string kRenePrecomposed = "Ren\u00e9";
const std::string kReneDecomposed = "Rene\u0301";

struct BadName {
  std::string name;
  std::string reason;  // a fragment of the error message
};

TEST(SpeakerName, AcceptsOrdinaryNamesAndRefusesBadOnesWithTheReason) {
  const auto repeat = [](const std::string& piece, int times) {
    std::string out;
    for (int i = 0; i < times; ++i) out += piece;
    return out;
  };
  for (const std::string& good :
       std::vector<std::string>{"alice", "Mary Ann", "o'brien", "Ødegård", "李雷", "x.y", "...",
                                "unknown-speaker", std::string(64, 'a'), "a" + repeat("李", 21)}) {
    EXPECT_NO_THROW(validate_speaker_name(good)) << good;
  }
  const std::vector<BadName> bad = {
      {"", "empty"},
      {std::string(65, 'a'), "65 bytes long"},
      {"aa" + repeat("李", 21), "65 bytes long"},  // 23 characters, but 65 bytes
      {"a/b", "'/' or '\\'"},
      {"a\\b", "'/' or '\\'"},
      {"/", "'/' or '\\'"},
      {".", "'.' and '..'"},
      {"..", "'.' and '..'"},
      {" alice", "whitespace"},
      {"alice ", "whitespace"},
      {"alice\u00a0", "whitespace"},
      {"tab\there", "control"},
      {"line\nbreak", "control"},
      {std::string("nul\0byte", 8), "control"},
      {"del\x7f", "control"},
      {"c1\u0085", "control"},
      {"evil\u202eod", "text-direction"},
      {"bad\xff", "not valid UTF-8"},
      {"overlong\xc0\xaf", "not valid UTF-8"},
      {"surrogate\xed\xa0\x80", "not valid UTF-8"},
      {"cut\xe6\x9d", "not valid UTF-8"},
      {"unknown", "identify prints"},
      {"Unknown", "identify prints"},
  };
  for (const BadName& b : bad) {
    expect_error([&] { validate_speaker_name(b.name); }, ErrorCode::kInvalidArgument, b.reason);
  }
}

TEST(SpeakerName, QuotesNamesWithoutPassingControlBytesToTheTerminal) {
  EXPECT_EQ(quote_speaker_name("Ødegård"), "'Ødegård'");
  EXPECT_EQ(quote_speaker_name("a\x1b[2Jb"), "'a\\x1B[2Jb'");
  EXPECT_EQ(quote_speaker_name("bad\xff"), "'bad\\xFF'");
}

TEST(SpeakerName, NamesAreKeptInNfcSoEitherSpellingOfAnAccentIsOneName) {
  EXPECT_NE(kRenePrecomposed, kReneDecomposed);
  EXPECT_EQ(canonical_speaker_name(kReneDecomposed), kRenePrecomposed);
  EXPECT_EQ(canonical_speaker_name(kRenePrecomposed), kRenePrecomposed);
  EXPECT_EQ(canonical_speaker_name("alice"), "alice");
  EXPECT_EQ(canonical_speaker_name("bad\xff"), "bad\xff");  // left for validation to refuse
}

TEST(SpeakerName, LookAlikesShareAKeyAndDifferentNamesDoNot) {
  const std::string alice = speaker_name_lookalike_key("alice");
  EXPECT_EQ(speaker_name_lookalike_key("Alice"), alice);
  EXPECT_EQ(speaker_name_lookalike_key("ALICE"), alice);
  EXPECT_EQ(speaker_name_lookalike_key("\uff41\uff4c\uff49\uff43\uff45"), alice);  // fullwidth
  EXPECT_EQ(speaker_name_lookalike_key("\u0430lice"), alice);                      // Cyrillic a
  EXPECT_EQ(speaker_name_lookalike_key("al\u200bice"), alice);  // zero-width space
  EXPECT_EQ(speaker_name_lookalike_key(kReneDecomposed),
            speaker_name_lookalike_key(kRenePrecomposed));
  EXPECT_NE(speaker_name_lookalike_key("alicia"), alice);
  EXPECT_NE(speaker_name_lookalike_key("bob"), alice);
  EXPECT_NE(speaker_name_lookalike_key("\u674e\u96f7"), speaker_name_lookalike_key("\u674e\u660e"));
}

TEST(SpeakerName, NewNamesMayNotBeInvisibleOrLookLikeUnknown) {
  for (const std::string& good : {"alice", "Ødegård", "李雷", "unknown-speaker", "unknow"}) {
    EXPECT_NO_THROW(validate_new_speaker_name(good)) << good;
  }
  const std::vector<BadName> bad = {
      {"al\u200bice", "invisible character U+200B"},                           // zero-width space
      {"al\u200dice", "invisible character U+200D"},                           // zero-width joiner
      {"al\u00adice", "invisible character U+00AD"},                           // soft hyphen
      {"\u2060alice", "invisible character U+2060"},                           // word joiner
      {"\uff55\uff4e\uff4b\uff4e\uff4f\uff57\uff4e", "looks like 'unknown'"},  // fullwidth
      {"unkn\u043ewn", "looks like 'unknown'"},                                // Cyrillic o
      {"UNKNOWN", "identify prints"},
      {"a/b", "'/' or '\\'"},  // and every rule of validate_speaker_name()
  };
  for (const BadName& b : bad) {
    expect_error([&] { validate_new_speaker_name(b.name); }, ErrorCode::kInvalidArgument, b.reason);
  }
}

TEST(SpeakerNameInStore, EitherSpellingOfAnAccentFindsTheSameSpeaker) {
  TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  EXPECT_TRUE(store.add_enrollment(make_enrollment(kReneDecomposed, 1)).new_speaker);
  const EnrollmentResult second = store.add_enrollment(make_enrollment(kRenePrecomposed, 2));
  EXPECT_FALSE(second.new_speaker);
  EXPECT_EQ(second.speaker.num_recordings, 2);
  const std::vector<SpeakerSummary> speakers = store.list_speakers();
  ASSERT_EQ(speakers.size(), 1u);
  EXPECT_EQ(speakers[0].name, kRenePrecomposed);  // stored in NFC whatever was typed
  EXPECT_EQ(store.speaker_details(kReneDecomposed).recordings.size(), 2u);
  ClipQuery query;
  query.speaker = kReneDecomposed;
  EXPECT_EQ(store.clips(query).size(), 4u);
  EXPECT_EQ(store.recording_speech(kReneDecomposed).size(), 2u);
  store.rename_speaker(kReneDecomposed, "rene");
  store.rename_speaker("rene", kReneDecomposed);
  EXPECT_EQ(store.list_speakers()[0].name, kRenePrecomposed);
  EXPECT_EQ(store.remove_speaker(kReneDecomposed).num_recordings, 2);
  EXPECT_TRUE(store.list_speakers().empty());
}

TEST(SpeakerNameInStore, ANameThatLooksLikeAnEnrolledOneIsRefusedAndChangesNothing) {
  TempDir temp;
  Store store = Store::open(temp.file("store"), StoreAccess::kCreate);
  store.add_enrollment(make_enrollment("alice", 1));
  store.add_enrollment(make_enrollment("bob", 2));
  for (const std::string& lookalike :
       {std::string("Alice"), std::string("\u0430lice"), std::string("\uff41lice")}) {
    expect_error([&] { store.add_enrollment(make_enrollment(lookalike, 3)); },
                 ErrorCode::kInvalidArgument, "looks the same as the enrolled speaker 'alice'");
    expect_error([&] { store.rename_speaker("bob", lookalike); }, ErrorCode::kInvalidArgument,
                 "looks the same as the enrolled speaker 'alice'");
  }
  expect_error([&] { store.add_enrollment(make_enrollment("al\u200bice", 3)); },
               ErrorCode::kInvalidArgument, "invisible character");
  expect_error([&] { store.add_enrollment(make_enrollment("unkn\u043ewn", 3)); },
               ErrorCode::kInvalidArgument, "looks like 'unknown'");
  // A speaker may change the look of their own name.
  store.rename_speaker("alice", "Alice");
  const std::vector<SpeakerSummary> speakers = store.list_speakers();
  ASSERT_EQ(speakers.size(), 2u);
  EXPECT_EQ(speakers[0].name, "Alice");
  EXPECT_EQ(speakers[0].num_recordings, 1);
  EXPECT_EQ(speakers[1].name, "bob");
  EXPECT_EQ(speakers[1].num_recordings, 1);
}

TEST(SpeakerNameInStore, NamesStoredByEarlierVersionsStillLoadAndAreFound) {
  // Earlier versions stored names as typed: an NFD name, and one with a zero-width space that
  // a new enrollment would now refuse.
  TempDir temp;
  const std::string dir = temp.file("store");
  Store::open(dir, StoreAccess::kCreate).add_enrollment(make_enrollment("rene", 1));
  Store::open(dir, StoreAccess::kWrite).add_enrollment(make_enrollment("zoe", 2));
  test::run_sql(dir + "/spkid.db", "UPDATE speakers SET name = '" + kReneDecomposed +
                                       "' WHERE name = 'rene';"
                                       "UPDATE speakers SET name = 'zo\u200be' WHERE name = 'zoe'");
  Store store = Store::open(dir, StoreAccess::kWrite);
  EXPECT_EQ(store.speaker_details(kRenePrecomposed).summary.name, kReneDecomposed);
  EXPECT_EQ(store.speaker_details("zo\u200be").summary.num_recordings, 1);
  // More audio for them is theirs, not a new speaker.
  EXPECT_FALSE(store.add_enrollment(make_enrollment(kRenePrecomposed, 3)).new_speaker);
  EXPECT_FALSE(store.add_enrollment(make_enrollment("zo\u200be", 4)).new_speaker);
  SpeakerGallery gallery;
  for (const SpeakerSummary& speaker : store.list_speakers()) {
    gallery.add(speaker.name, {{1.0f, static_cast<float>(speaker.id)}});
  }
  EXPECT_TRUE(gallery.contains(kRenePrecomposed));
  EXPECT_TRUE(gallery.contains(kReneDecomposed));
  EXPECT_TRUE(gallery.contains("zo\u200be"));
  // Renaming to the clean form of their own name stores it so (README: rename cleans them).
  EXPECT_EQ(store.rename_speaker(kReneDecomposed, kRenePrecomposed), kRenePrecomposed);
  EXPECT_EQ(store.speaker_details(kRenePrecomposed).summary.name, kRenePrecomposed);
  EXPECT_EQ(store.speaker_details(kRenePrecomposed).summary.num_recordings, 2);
}

TEST(SpeakerNameInGallery, EitherSpellingOfAnAccentIsOneSpeaker) {
  SpeakerGallery gallery;
  gallery.add(kReneDecomposed, {{1.0f, 0.0f}});
  gallery.add(kRenePrecomposed, {{0.0f, 1.0f}});
  EXPECT_EQ(gallery.size(), 1u);
  EXPECT_EQ(gallery.num_embeddings(kReneDecomposed), 2u);
  EXPECT_EQ(gallery.speakers(), std::vector<std::string>{kRenePrecomposed});
  EXPECT_EQ(gallery.verify(kReneDecomposed, {1.0f, 1.0f}, 0.5).speaker, kRenePrecomposed);
  gallery.rename(kReneDecomposed, "rene");
  EXPECT_TRUE(gallery.contains("rene"));
  gallery.remove("rene");
  EXPECT_EQ(gallery.size(), 0u);
}

}  // namespace
}  // namespace spkid
