// FFTW's planner is not thread-safe (only fftwf_execute* is): every plan in spkid is made and
// destroyed under this one lock.
#pragma once

#include <mutex>

namespace spkid::detail {
std::mutex& fftw_planner_mutex();
}
