#include "store_fixtures.h"

#include <sqlite3.h>

#include <optional>
#include <random>

#include "synth.h"

namespace spkid::test {

FeatureMatrix random_features(int num_frames, unsigned seed, const FeatureOptions& options) {
  FeatureMatrix features;
  features.num_frames = num_frames;
  features.num_features = options.num_features();
  features.data.resize(static_cast<std::size_t>(num_frames) * features.num_features);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& x : features.data) x = normal(rng);
  return features;
}

Enrollment make_enrollment(const std::string& speaker, unsigned seed, int num_clips,
                           const FeatureOptions& options) {
  Voice voice;
  voice.pitch_hz = 100 + seed;
  Enrollment enrollment;
  enrollment.speaker = speaker;
  enrollment.speech = speech_like(voice, 10.0, options.sample_rate_hz, seed);
  enrollment.recording.source_path = speaker + "-" + std::to_string(seed) + ".wav";
  enrollment.recording.sha256 = sha256_of_samples(enrollment.speech);
  enrollment.recording.duration_seconds = 12.5;
  enrollment.recording.speech_seconds = 10.0;
  enrollment.feature_options = options;
  for (int i = 0; i < num_clips; ++i) {
    enrollment.clip_features.push_back(random_features(40, seed * 100 + i, options));
  }
  return enrollment;
}

void run_sql(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "");
  sqlite3_free(message);
  sqlite3_close(db);
}

std::string query_text(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr), SQLITE_OK) << sql;
  EXPECT_EQ(sqlite3_step(statement), SQLITE_ROW) << sql;
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
  std::string value = text ? text : "";
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return value;
}

void expect_error(const std::function<void()>& call, ErrorCode code, const std::string& fragment) {
  const std::optional<Error> error = thrown_error(call);
  ASSERT_TRUE(error.has_value()) << "no error; expected one containing \"" << fragment << "\"";
  EXPECT_EQ(error_code_name(error->code()), std::string(error_code_name(code))) << error->what();
  EXPECT_NE(std::string(error->what()).find(fragment), std::string::npos) << error->what();
}

int64_t query_int(const std::string& db_path, const std::string& sql) {
  return std::stoll(query_text(db_path, sql));
}

}  // namespace spkid::test
