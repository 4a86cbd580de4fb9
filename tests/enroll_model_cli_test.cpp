// spkid enroll into a store that has a speaker model: spkid hands the enrollment to spkid-model,
// which embeds the new clips (and the speaker's earlier ones) with the store's current model.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "spkid/model.h"
#include "spkid/store.h"
#include "synth.h"

namespace spkid {
namespace {

using test::shell_quote;

constexpr int kRate = 16000;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(EnrollWithModel, TheStoresCurrentModelEmbedsTheClips) {
  test::TempDir temp;
  const std::string store_dir = temp.file("store");
  const auto spkid = [&](const std::string& arguments) {
    return test::run_command(shell_quote(SPKID_BINARY) + " --store " + shell_quote(store_dir) +
                             " " + arguments);
  };
  const test::Voice alice{110, {700, 1200, 2600}, 0.3};
  const test::Voice bob{190, {500, 1500, 2500}, 0.3};
  test::write_audio(temp.file("alice.wav"), test::speech_like(alice, 13, kRate, 1), kRate);
  test::write_audio(temp.file("alice-2.wav"), test::speech_like(alice, 10, kRate, 2), kRate);
  test::write_audio(temp.file("bob.wav"), test::speech_like(bob, 12, kRate, 3), kRate);
  ASSERT_EQ(spkid("enroll " + shell_quote(temp.file("alice.wav"))).exit_code, 0);

  // An untrained network stands in for one `spkid train` would register.
  NetworkOptions network;
  network.channels = {8, 16};
  network.dense_size = 32;
  network.embedding_size = 16;
  SpeakerModel(FeatureOptions{}, network, {"alice"}).save(temp.file("model.bin"));
  NewModel record;
  record.kind = "speaker-network";
  const int64_t model_id = Store::open(store_dir, StoreAccess::kWrite)
                               .register_model(record, read_bytes(temp.file("model.bin")))
                               .id;

  const test::CommandResult bob_enrolled = spkid("enroll " + shell_quote(temp.file("bob.wav")));
  ASSERT_EQ(bob_enrolled.exit_code, 0) << bob_enrolled.err;
  const std::vector<StoredEmbedding> bobs =
      Store::open(store_dir, StoreAccess::kRead).embeddings(model_id);
  ASSERT_EQ(bobs.size(), 2u);
  for (const StoredEmbedding& embedding : bobs) {
    EXPECT_EQ(embedding.speaker, "bob");
    EXPECT_EQ(embedding.embedding.size(), 16u);
  }
  // Alice's earlier clips are embedded when she enrolls again, to compare her voices.
  const test::CommandResult alice_again =
      spkid("enroll --name alice " + shell_quote(temp.file("alice-2.wav")));
  ASSERT_EQ(alice_again.exit_code, 0) << alice_again.err;
  const Store store = Store::open(store_dir, StoreAccess::kRead);
  EXPECT_EQ(store.embeddings(model_id).size(), store.clips().size());
}

}  // namespace
}  // namespace spkid
