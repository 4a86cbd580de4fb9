// Independent work items (files of a batch, clips of a speaker) spread over the machine's cores.
#pragma once

#include <cstddef>
#include <functional>

namespace spkid {

// The number of workers when the user asks for none: the hardware's concurrency, at least 1.
int default_worker_count() noexcept;

// Calls body(i) for every i in [0, count) on up to `num_workers` threads, the calling thread being
// one of them (num_workers <= 0 means default_worker_count()). Items are handed out one at a time
// in order, so slow items do not hold back a fixed share of the others. Returns when every started
// item has finished. When a body throws, no further items start and the first exception caught is
// rethrown here; a body that must not stop the batch catches its own errors.
void parallel_for(std::size_t count, int num_workers, const std::function<void(std::size_t)>& body);

}  // namespace spkid
