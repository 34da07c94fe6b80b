#include "core/backoff.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace rcgate {
namespace {

using ms = std::chrono::milliseconds;

TEST(Backoff, DoublesUpToTheCapWithTheHighestJitter) {
  // random 0.999.. -> factor just under 1.0: the delay is just under the un-jittered value.
  Backoff backoff(ms{1000}, ms{30000}, [] { return 1.0; });
  std::vector<ms> delays;
  for (int i = 0; i < 8; ++i) delays.push_back(backoff.next());
  EXPECT_EQ(delays, (std::vector<ms>{ms{1000}, ms{2000}, ms{4000}, ms{8000}, ms{16000},
                                     ms{30000}, ms{30000}, ms{30000}}));
  EXPECT_EQ(backoff.attempt(), 8u);
}

TEST(Backoff, LowestJitterHalvesTheDelay) {
  Backoff backoff(ms{1000}, ms{30000}, [] { return 0.0; });
  EXPECT_EQ(backoff.next(), ms{500});
  EXPECT_EQ(backoff.next(), ms{1000});
  EXPECT_EQ(backoff.next(), ms{2000});
}

TEST(Backoff, MidJitter) {
  Backoff backoff(ms{1000}, ms{30000}, [] { return 0.5; });
  EXPECT_EQ(backoff.next(), ms{750});
  EXPECT_EQ(backoff.next(), ms{1500});
}

TEST(Backoff, ResetStartsOver) {
  Backoff backoff(ms{200}, ms{5000}, [] { return 1.0; });
  backoff.next();
  backoff.next();
  backoff.next();
  EXPECT_EQ(backoff.attempt(), 3u);
  backoff.reset();
  EXPECT_EQ(backoff.attempt(), 0u);
  EXPECT_EQ(backoff.next(), ms{200});
}

TEST(Backoff, StaysWithinBoundsForeverEvenWithABrokenRandomSource) {
  // A source that returns out-of-range values must not push delays outside the bounds.
  std::vector<double> values{-5.0, 0.0, 0.25, 0.75, 0.999, 1.0, 7.0};
  std::size_t i = 0;
  Backoff backoff(ms{300}, ms{60000}, [&] { return values[i++ % values.size()]; });
  for (int n = 0; n < 10000; ++n) {
    const ms d = backoff.next();
    ASSERT_GE(d, ms{150}) << "attempt " << n;
    ASSERT_LE(d, ms{60000}) << "attempt " << n;
  }
  EXPECT_EQ(backoff.attempt(), 10000u);
}

TEST(Backoff, DefaultRandomSourceStaysWithinBounds) {
  Backoff backoff(ms{100}, ms{1000});
  for (int n = 0; n < 1000; ++n) {
    const ms d = backoff.next();
    ASSERT_GE(d, ms{50});
    ASSERT_LE(d, ms{1000});
  }
}

TEST(Backoff, CapBelowInitialIsRaisedToInitial) {
  Backoff backoff(ms{1000}, ms{10}, [] { return 1.0; });
  EXPECT_EQ(backoff.cap(), ms{1000});
  EXPECT_EQ(backoff.next(), ms{1000});
  EXPECT_EQ(backoff.next(), ms{1000});
}

}  // namespace
}  // namespace rcgate
