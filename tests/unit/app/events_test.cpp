#include "app/events.hpp"

#include <gtest/gtest.h>

namespace rcgate::app {
namespace {

TEST(EventBus, HandlersGetOnlyTheTypesTheyAskedFor) {
  EventBus bus;
  EXPECT_FALSE(bus.wants("device")) << "nobody listens: nothing is built";
  std::vector<std::string> plugin, bridge;
  bus.subscribe([&](const Event& e) { plugin.push_back(e.type); }, {"device", "ask"});
  EXPECT_TRUE(bus.wants("device"));
  EXPECT_FALSE(bus.wants("message"));
  const auto all = bus.subscribe([&](const Event& e) { bridge.push_back(e.type); });
  EXPECT_TRUE(bus.wants("message")) << "no list: every type";
  for (const char* type : {"message", "device", "ask", "link"}) bus.publish({type, nullptr});
  EXPECT_EQ(plugin, (std::vector<std::string>{"device", "ask"}));
  EXPECT_EQ(bridge, (std::vector<std::string>{"message", "device", "ask", "link"}));
  bus.unsubscribe(all);
  EXPECT_FALSE(bus.wants("message"));
}

TEST(EventBus, AHandlerMaySubscribeWhileItRuns) {
  EventBus bus;
  int late = 0;
  bus.subscribe([&](const Event&) {
    bus.subscribe([&](const Event&) { ++late; });
  }, {"link"});
  bus.publish({"link", nullptr});
  EXPECT_EQ(late, 0) << "the new handler hears the next event, not this one";
  bus.publish({"device", nullptr});
  EXPECT_EQ(late, 1);
}

}  // namespace
}  // namespace rcgate::app
