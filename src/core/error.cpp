#include "spkid/error.h"

namespace spkid {

const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kIo: return "io";
    case ErrorCode::kUnsupportedFormat: return "unsupported_format";
    case ErrorCode::kCorruptAudio: return "corrupt_audio";
    case ErrorCode::kEmptyAudio: return "empty_audio";
    case ErrorCode::kNonFiniteAudio: return "non_finite_audio";
    case ErrorCode::kAudioTooLong: return "audio_too_long";
    case ErrorCode::kAudioTooShort: return "audio_too_short";
    case ErrorCode::kNoSpeech: return "no_speech";
    case ErrorCode::kStore: return "store";
    case ErrorCode::kModel: return "model";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

}  // namespace spkid
