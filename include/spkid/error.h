// Typed errors: the library throws spkid::Error; only apps/ turns them into exit codes.
#pragma once

#include <stdexcept>
#include <string>

namespace spkid {

enum class ErrorCode {
  kInvalidArgument,    // a bad option value or name given by the caller
  kNotFound,           // a path that does not exist
  kIo,                 // a file that exists but cannot be read or written
  kUnsupportedFormat,  // not audio, or a format libsndfile cannot decode
  kCorruptAudio,       // truncated or damaged audio data
  kEmptyAudio,         // zero samples
  kNonFiniteAudio,     // NaN or infinity in the samples
  kAudioTooLong,       // longer than AudioOptions::max_seconds
  kAudioTooShort,      // shorter than AudioOptions::min_seconds
  kNoSpeech,           // voice activity detection found (almost) nothing
  kStore,              // the enrollment store is missing, locked, corrupt or from a newer version
  kModel,              // a model file is missing, corrupt or does not match the features
  kInternal,           // a bug: please report it
};

// A short, stable name for the code ("no_speech", "unsupported_format", ...) for JSON output.
const char* error_code_name(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace spkid
