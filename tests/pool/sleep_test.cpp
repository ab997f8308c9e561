// sleep_until: a job's wait that ends at its time or at a stop, whichever is first.
#include "pool/sleep.hpp"

#include <gtest/gtest.h>
#include <sys/types.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <stop_token>
#include <string>
#include <thread>

#include "test_support.hpp"

namespace jobd::pool {
namespace {

using namespace std::chrono_literals;
using testing::must_happen_within;

// Whether thread `tid` of this process is blocked in the kernel (state S), read from /proc.
bool blocked(pid_t tid) {
  std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto after_name = line.rfind(')');
  return after_name != std::string::npos && line.compare(after_name, 3, ") S") == 0;
}

TEST(SleepUntil, ReturnsFalseNoEarlierThanItsTime) {
  std::stop_source never;
  const auto until = clock::now() + 20ms;
  EXPECT_FALSE(sleep_until(never.get_token(), until));
  EXPECT_GE(clock::now(), until);
}

TEST(SleepUntil, ATimeAlreadyPastReturnsAtOnce) {
  std::stop_source never;
  EXPECT_FALSE(sleep_until(never.get_token(), clock::now() - 1s));
  // Before the clock's epoch: must not be handed to the kernel as a negative time.
  EXPECT_FALSE(sleep_until(never.get_token(), clock::time_point::min()));
}

TEST(SleepUntil, AnAlreadyStoppedTokenReturnsTrueWithoutWaiting) {
  std::stop_source stopped;
  stopped.request_stop();
  EXPECT_TRUE(sleep_until(stopped.get_token(), clock::time_point::max()));
  const auto until = clock::now() + must_happen_within;
  EXPECT_TRUE(sleep_until(stopped.get_token(), until));
  EXPECT_LT(clock::now(), until);
}

TEST(SleepUntil, AStopFromAnotherThreadEndsTheWait) {
  for (const bool bounded : {true, false}) {
    std::stop_source source;
    std::promise<pid_t> sleeper;
    // Bounded, a wait that missed the stop returns false at the bound instead of hanging.
    const auto until = bounded ? clock::now() + must_happen_within : clock::time_point::max();
    auto slept = std::async(std::launch::async, [&] {
      sleeper.set_value(gettid());
      return sleep_until(source.get_token(), until);
    });
    // The stop must find the sleeper inside its wait, not on its way in.
    const pid_t tid = sleeper.get_future().get();
    const auto give_up = clock::now() + must_happen_within;
    while (!blocked(tid) && clock::now() < give_up) std::this_thread::yield();
    ASSERT_TRUE(blocked(tid));
    source.request_stop();
    EXPECT_TRUE(slept.get()) << (bounded ? "bounded" : "unbounded");
    // A wake that went missing would leave the unbounded wait hanging: stop at the first failure.
    if (HasFailure()) return;
    if (bounded) {
      EXPECT_LT(clock::now(), until);
    }
  }
}

TEST(SleepUntil, ATokenWithoutAStopStateWaitsForTheTime) {
  const auto until = clock::now() + 5ms;
  EXPECT_FALSE(sleep_until(std::stop_token{}, until));
  EXPECT_GE(clock::now(), until);
}

}  // namespace
}  // namespace jobd::pool
