// Speaker names: what the store accepts as a name, checked in one place.
#pragma once

#include <string>

namespace spkid {

// Longest accepted name, in bytes of UTF-8.
inline constexpr std::size_t kMaxSpeakerNameBytes = 64;

// `identify` prints this when no enrolled speaker matches, so no speaker may be called so
// (in any letter case, or in letters that look the same).
inline constexpr const char* kUnknownSpeaker = "unknown";

// Throws Error(kInvalidArgument) saying what is wrong with `name` and what to do: empty, longer
// than kMaxSpeakerNameBytes, not UTF-8, a '/' or '\', a control or text-direction character,
// "." or "..", whitespace at either end, or the reserved "unknown". Every name a store holds
// passes it, including those enrolled by earlier versions.
void validate_speaker_name(const std::string& name);

// validate_speaker_name(), and the rules for a name given now: no invisible characters
// (zero-width spaces and joiners, soft hyphens: Unicode's default-ignorable code points), and
// nothing that looks like "unknown" (fullwidth letters, Cyrillic look-alikes).
void validate_new_speaker_name(const std::string& name);

// The form a name is stored and compared in: Unicode NFC, so "é" typed as one code point and
// "e" followed by a combining accent are one name. Bytes that are not UTF-8 come back unchanged
// (validate_speaker_name() refuses them).
std::string canonical_speaker_name(const std::string& name);

// Equal for names that look alike on screen: NFKC case folding (drops invisible characters,
// maps fullwidth and compatibility forms, folds case), then Unicode's confusable skeleton
// (UTS #39), so "Alice", "ａｌｉｃｅ" and "аlice" with a Cyrillic "а" share one key.
std::string speaker_name_lookalike_key(const std::string& name);

// `name` in single quotes with bytes that would garble a terminal (control characters, invalid
// UTF-8) escaped as \xNN, for messages about names typed by a user.
std::string quote_speaker_name(const std::string& name);

}  // namespace spkid
