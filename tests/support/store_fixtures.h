// What the store and enrollment tests build on: synthetic enrollments, SQL run on a store as
// another program would, and the check of a thrown spkid::Error.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>

#include "spkid/error.h"
#include "spkid/features.h"
#include "spkid/store.h"

namespace spkid::test {

// Features of a clip of `num_frames` frames, values drawn from `seed`.
FeatureMatrix random_features(int num_frames, unsigned seed,
                              const FeatureOptions& options = FeatureOptions{});

// An enrollment of a synthetic voice with 10 s of speech: `seed` picks both the audio (hence the
// digest) and the features, so two seeds give two different recordings.
Enrollment make_enrollment(const std::string& speaker, unsigned seed, int num_clips = 2,
                           const FeatureOptions& options = FeatureOptions{});

// Runs SQL on a database directly, as another program (or an older spkid) would.
void run_sql(const std::string& db_path, const std::string& sql);
// The first column of the first row of a query, as text.
std::string query_text(const std::string& db_path, const std::string& sql);
int64_t query_int(const std::string& db_path, const std::string& sql);

// Expects `call` to throw spkid::Error with `code` and a message containing `fragment`.
void expect_error(const std::function<void()>& call, ErrorCode code, const std::string& fragment);

}  // namespace spkid::test
