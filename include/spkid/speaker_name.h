// Speaker names: what the store accepts as a name, checked in one place.
#pragma once

#include <string>

namespace spkid {

// Longest accepted name, in bytes of UTF-8.
inline constexpr std::size_t kMaxSpeakerNameBytes = 64;

// `identify` prints this when no enrolled speaker matches, so no speaker may be called so
// (in any letter case).
inline constexpr const char* kUnknownSpeaker = "unknown";

// Throws Error(kInvalidArgument) saying what is wrong with `name` and what to do: empty, longer
// than kMaxSpeakerNameBytes, not UTF-8, a '/' or '\', a control or text-direction character,
// "." or "..", whitespace at either end, or the reserved "unknown".
void validate_speaker_name(const std::string& name);

// `name` in single quotes with bytes that would garble a terminal (control characters, invalid
// UTF-8) escaped as \xNN, for messages about names typed by a user.
std::string quote_speaker_name(const std::string& name);

}  // namespace spkid
