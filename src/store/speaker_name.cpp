#include "spkid/speaker_name.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uspoof.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <vector>

#include "spkid/error.h"

namespace spkid {

namespace {

// Decodes strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF); nullopt when
// the bytes are not UTF-8.
std::optional<std::vector<char32_t>> decode_utf8(const std::string& text) {
  std::vector<char32_t> code_points;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    int length = 0;
    char32_t cp = 0;
    char32_t min_cp = 0;
    if (lead < 0x80) {
      length = 1;
      cp = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      cp = lead & 0x1Fu;
      min_cp = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      cp = lead & 0x0Fu;
      min_cp = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      cp = lead & 0x07u;
      min_cp = 0x10000;
    } else {
      return std::nullopt;
    }
    if (i + length > text.size()) return std::nullopt;
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (next & 0x3Fu);
    }
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    code_points.push_back(cp);
    i += length;
  }
  return code_points;
}

// C0, DEL and C1 controls, plus line/paragraph separators and the bidirectional marks,
// embeddings, overrides and isolates, which break or reorder the lines `list` prints.
bool is_control_or_direction(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

bool is_space(char32_t cp) {
  return cp == 0x20 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

bool equals_ignoring_ascii_case(const std::string& a, const char* b) {
  std::size_t i = 0;
  for (; i < a.size() && b[i] != '\0'; ++i) {
    const auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return i == a.size() && b[i] == '\0';
}

void check_icu(UErrorCode status, const char* what) {
  if (U_FAILURE(status)) {
    throw Error(ErrorCode::kInternal, std::string("ICU could not ") + what + ": " +
                                          u_errorName(status) + "; reinstall libicu72");
  }
}

std::string to_utf8(const icu::UnicodeString& text) {
  std::string utf8;
  text.toUTF8String(utf8);
  return utf8;
}

bool is_ascii(const std::string& text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// The confusables data of UTS #39, opened once; ICU's checking functions may be called from
// several threads on one configured checker.
const USpoofChecker& spoof_checker() {
  static const USpoofChecker* const checker = [] {
    UErrorCode status = U_ZERO_ERROR;
    USpoofChecker* opened = uspoof_open(&status);
    check_icu(status, "load its confusable characters");
    return opened;
  }();
  return *checker;
}

[[noreturn]] void reject(const std::string& name, const std::string& reason) {
  throw Error(ErrorCode::kInvalidArgument,
              "bad speaker name " + quote_speaker_name(name) + ": " + reason);
}

}  // namespace

void validate_speaker_name(const std::string& name) {
  if (name.empty()) {
    throw Error(ErrorCode::kInvalidArgument,
                "the speaker name is empty: give a name, e.g. --name alice");
  }
  if (name.size() > kMaxSpeakerNameBytes) {
    // Only the start is shown: the whole name may be any length.
    throw Error(ErrorCode::kInvalidArgument,
                "bad speaker name " + quote_speaker_name(name.substr(0, kMaxSpeakerNameBytes)) +
                    "...: it is " + std::to_string(name.size()) + " bytes long; use at most " +
                    std::to_string(kMaxSpeakerNameBytes) + " bytes of UTF-8");
  }
  const auto code_points = decode_utf8(name);
  if (!code_points) reject(name, "it is not valid UTF-8; type the name in a UTF-8 terminal");
  for (char32_t cp : *code_points) {
    if (cp == '/' || cp == '\\') {
      reject(name, "it contains '/' or '\\'; names must not look like paths, use '-' or '_'");
    }
    if (is_control_or_direction(cp)) {
      reject(name, "it contains a control or text-direction character; use visible characters");
    }
  }
  if (name == "." || name == "..") reject(name, "'.' and '..' name folders; choose another name");
  if (is_space(code_points->front()) || is_space(code_points->back())) {
    reject(name, "it starts or ends with whitespace; remove the leading and trailing spaces");
  }
  if (equals_ignoring_ascii_case(name, kUnknownSpeaker)) {
    reject(name, "'unknown' is what identify prints when nobody matches; choose another name");
  }
}

std::string canonical_speaker_name(const std::string& name) {
  if (is_ascii(name) || !decode_utf8(name)) return name;
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  check_icu(status, "load Unicode normalization");
  const icu::UnicodeString normalized = nfc->normalize(icu::UnicodeString::fromUTF8(name), status);
  check_icu(status, "normalize a name to NFC");
  return to_utf8(normalized);
}

std::string speaker_name_lookalike_key(const std::string& name) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* fold = icu::Normalizer2::getNFKCCasefoldInstance(status);
  check_icu(status, "load Unicode case folding");
  const icu::UnicodeString folded = fold->normalize(icu::UnicodeString::fromUTF8(name), status);
  check_icu(status, "fold a name's case");
  icu::UnicodeString skeleton;
  uspoof_getSkeletonUnicodeString(&spoof_checker(), 0, folded, skeleton, &status);
  check_icu(status, "compute a name's confusable skeleton");
  return to_utf8(skeleton);
}

void validate_new_speaker_name(const std::string& name) {
  validate_speaker_name(name);
  const std::vector<char32_t> code_points = *decode_utf8(name);
  for (char32_t cp : code_points) {
    if (u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) {
      char code[16];
      std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(cp));
      reject(name, std::string("it contains the invisible character ") + code +
                       "; type the name again without it");
    }
  }
  static const std::string unknown_key = speaker_name_lookalike_key(kUnknownSpeaker);
  if (speaker_name_lookalike_key(name) == unknown_key) {
    reject(name,
           "it looks like 'unknown', what identify prints when nobody matches; choose another "
           "name");
  }
}

std::string quote_speaker_name(const std::string& name) {
  std::string quoted = "'";
  std::size_t i = 0;
  while (i < name.size()) {
    // Copies each well-formed, printable UTF-8 sequence whole and escapes every other byte.
    std::size_t length = 1;
    const auto lead = static_cast<unsigned char>(name[i]);
    if (lead >= 0xC0) length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    const auto piece = decode_utf8(name.substr(i, length));
    if (piece && !is_control_or_direction(piece->front())) {
      quoted.append(name, i, length);
      i += length;
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02X", lead);
      quoted += escaped;
      ++i;
    }
  }
  return quoted + "'";
}

}  // namespace spkid
