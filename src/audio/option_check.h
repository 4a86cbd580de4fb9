// Shared wording for options validate(): the message names the struct, the field and the rule.
#pragma once

#include <sstream>
#include <string>

#include "spkid/error.h"

namespace spkid::detail {

// Throws Error(kInvalidArgument) "VadOptions.frame_shift_ms is 0; it must be more than 0".
inline void require_option(bool ok, const char* field, double value, const char* rule) {
  if (ok) return;
  std::ostringstream message;
  message << field << " is " << value << "; it must be " << rule;
  throw Error(ErrorCode::kInvalidArgument, message.str());
}

}  // namespace spkid::detail
