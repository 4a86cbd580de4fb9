#include "spkid/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace spkid {
namespace {

TEST(Parallel, RunsEveryItemExactlyOnce) {
  for (int workers : {1, 2, 4, 0}) {
    std::vector<std::atomic<int>> runs(1000);
    parallel_for(runs.size(), workers, [&](std::size_t i) { runs[i].fetch_add(1); });
    for (std::size_t i = 0; i < runs.size(); ++i) {
      ASSERT_EQ(runs[i].load(), 1) << "item " << i << " with " << workers << " workers";
    }
  }
}

TEST(Parallel, NothingToDoCallsNothing) {
  bool called = false;
  parallel_for(0, 4, [&](std::size_t) { called = true; });
  EXPECT_FALSE(called);
}

TEST(Parallel, OneWorkerIsTheCallingThreadInOrder) {
  std::vector<std::size_t> order;
  std::set<std::thread::id> threads;
  parallel_for(50, 1, [&](std::size_t i) {
    order.push_back(i);
    threads.insert(std::this_thread::get_id());
  });
  ASSERT_EQ(order.size(), 50u);
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], i);
  EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST(Parallel, TwoWorkersRunItemsAtTheSameTime) {
  // The first two items wait for each other: only two threads at once let both finish.
  std::mutex mutex;
  std::condition_variable arrived;
  int inside = 0;
  bool met = true;
  parallel_for(2, 2, [&](std::size_t) {
    std::unique_lock<std::mutex> lock(mutex);
    ++inside;
    arrived.notify_all();
    met = arrived.wait_for(lock, std::chrono::seconds(30), [&] { return inside == 2; }) && met;
  });
  EXPECT_TRUE(met);
}

TEST(Parallel, RethrowsAndStopsHandingOutItems) {
  std::vector<int> done;
  try {
    parallel_for(100, 1, [&](std::size_t i) {
      if (i == 5) throw std::runtime_error("item 5 failed");
      done.push_back(static_cast<int>(i));
    });
    FAIL() << "the exception was swallowed";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "item 5 failed");
  }
  EXPECT_EQ(done, (std::vector<int>{0, 1, 2, 3, 4}));

  std::atomic<int> started{0};
  EXPECT_THROW(parallel_for(1000, 4,
                            [&](std::size_t) {
                              started.fetch_add(1);
                              throw std::logic_error("every item fails");
                            }),
               std::logic_error);
  EXPECT_LE(started.load(), 4);  // each worker stops after its first failure
}

TEST(Parallel, DefaultWorkerCountIsAtLeastOne) { EXPECT_GE(default_worker_count(), 1); }

}  // namespace
}  // namespace spkid
