// rcgate's RestClient against the rcgate-sim process: history pages are background requests, so
// a catch-up reading a busy room does not hold up the messages posted meanwhile.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "core/url.hpp"
#include "net/loop.hpp"
#include "rocketchat/rest_client.hpp"
#include "harness.hpp"
#include "support/process.hpp"
#include "support/run_loop.hpp"

namespace rcgate::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kCameraAlerts = "c3f8a6a80a707dc9ce744b9d";

TEST(RestClient, MessagesPostedDuringACatchUpGoBeforeItsRemainingPages) {
  Sim sim;
  net::Loop loop;
  rc::RestClient rest(loop, *parse_url(sim.url()), net::TlsClientOptions{});
  rest.set_credentials(kBotId, kBotPat);
  std::vector<std::string> answered;
  constexpr int kPages = 4;
  constexpr int kSends = 3;
  for (int i = 0; i < kPages; ++i) {
    rest.history("p", kCameraAlerts, {}, [&answered, i](rc::RestResult r) {
      EXPECT_TRUE(r.ok()) << r.error;
      answered.push_back("page " + std::to_string(i));
    });
  }
  for (int i = 0; i < kSends; ++i) {
    rest.send_message({{"rid", kCameraAlerts}, {"msg", "alert " + std::to_string(i)}},
                      [&answered, i](rc::RestResult r) {
                        EXPECT_TRUE(r.ok()) << r.error;
                        answered.push_back("send " + std::to_string(i));
                      });
  }
  ASSERT_TRUE(run_until(loop, [&] { return answered.size() == kPages + kSends; }));
  // The first page went out while nothing else waited; the sends overtook the other pages, and
  // the pages kept their order.
  EXPECT_EQ(answered, (std::vector<std::string>{"page 0", "send 0", "send 1", "send 2", "page 1",
                                                "page 2", "page 3"}));
}

// The queue posts a room's next message when the previous one is answered: a flood keeps one
// request waiting at all times. A page still goes after kForegroundBurst of them.
TEST(RestClient, AFloodOfMessagesDoesNotStarveTheCatchUp) {
  Sim sim;
  net::Loop loop;
  rc::RestClient rest(loop, *parse_url(sim.url()), net::TlsClientOptions{});
  rest.set_credentials(kBotId, kBotPat);
  std::vector<std::string> answered;
  for (const char* page : {"page 0", "page 1"}) {
    rest.history("p", kCameraAlerts, {}, [&answered, page](rc::RestResult r) {
      EXPECT_TRUE(r.ok()) << r.error;
      answered.push_back(page);
    });
  }
  constexpr int kSends = 3 * rc::RestClient::kForegroundBurst;
  std::function<void(int)> send = [&](int i) {
    rest.send_message({{"rid", kCameraAlerts}, {"msg", "alert " + std::to_string(i)}},
                      [&, i](rc::RestResult r) {
                        EXPECT_TRUE(r.ok()) << r.error;
                        answered.push_back("send");
                        if (i + 1 < kSends) send(i + 1);
                      });
  };
  send(0);
  ASSERT_TRUE(run_until(loop, [&] { return answered.size() == 2 + kSends; }));
  ASSERT_EQ(answered.front(), "page 0");
  const long page1 = std::find(answered.begin(), answered.end(), "page 1") - answered.begin();
  EXPECT_GE(page1, 1 + rc::RestClient::kForegroundBurst) << "the flood goes first";
  EXPECT_LE(page1, 2 + rc::RestClient::kForegroundBurst)
      << "but the second page goes after a burst of them, not after all";
}

}  // namespace
}  // namespace rcgate::test
