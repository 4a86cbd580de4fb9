// Speaker names: which are accepted, and how they are shown.
#include "spkid/speaker_name.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "spkid/error.h"
#include "store_fixtures.h"

namespace spkid {
namespace {

using test::expect_error;

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

}  // namespace
}  // namespace spkid
