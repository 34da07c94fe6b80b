#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/devices.hpp"

namespace rcgate::core {
namespace {

struct GoodCase {
  std::string input;
  SendOptions expected;
};

TEST(SendOptions, AcceptedStrings) {
  const std::vector<GoodCase> cases = {
      {"", {}},
      {"   ", {}},
      {"file=/path/to/image.jpg description=\"Front door\" title=Alert color=#ff0000 thread=abc",
       {"", "/path/to/image.jpg", "Front door", "Alert", "#ff0000", "abc"}},
      {"text=hello", {"hello", "", "", "", "", ""}},
      {"text=\"Hello, world\"", {"Hello, world", "", "", "", "", ""}},
      {"title='single quoted \\n stays'", {"", "", "", "single quoted \\n stays", "", ""}},
      {"title=\"say \\\"hi\\\" \\\\ twice\"", {"", "", "", "say \"hi\" \\ twice", "", ""}},
      {"text=\"two\\nlines\\tand a tab\"", {"two\nlines\tand a tab", "", "", "", "", ""}},
      {"file=\"C:\\dir\\photo.jpg\"", {"", "C:\\dir\\photo.jpg", "", "", "", ""}},
      {"  file=/a.jpg\t\ttitle=x \n", {"", "/a.jpg", "", "x", "", ""}},
      {"title=\"\"", {}},
      {"text=a=b", {"a=b", "", "", "", "", ""}},
      {"title=Front\"door", {"", "", "", "Front\"door", "", ""}},
      {"color=#f00", {"", "", "", "", "#f00", ""}},
      {"color=#ff000080", {"", "", "", "", "#ff000080", ""}},
      {"color=red", {"", "", "", "", "red", ""}},
      {"description=\"Caméra d'entrée\" file=/x.jpg",
       {"", "/x.jpg", "Caméra d'entrée", "", "", ""}},
  };
  for (const auto& c : cases) {
    std::string error;
    const auto parsed = parse_send_options(c.input, &error);
    ASSERT_TRUE(parsed.has_value()) << c.input << ": " << error;
    EXPECT_EQ(*parsed, c.expected) << c.input;
  }
}

struct BadCase {
  std::string input;
  std::string error;
};

TEST(SendOptions, RefusedStrings) {
  const std::vector<BadCase> cases = {
      {"colour=#ff0000",
       "unknown option 'colour' (did you mean 'color'?); known options: text, file, description, "
       "title, color, thread"},
      {"file=/a.jpg foo=1 Title=x",
       "unknown options 'foo', 'Title' (did you mean 'title'?); known options: text, file, "
       "description, title, color, thread"},
      {"hello", "expected key=value, got 'hello'"},
      {"hello world title=x", "expected key=value, got 'hello'; expected key=value, got 'world'"},
      {"=x", "expected key=value, got '=x'"},
      {"description=\"Front door", "the value of 'description' has no closing \""},
      {"title='abc", "the value of 'title' has no closing '"},
      {"title=\"a\"b", "expected a space after the quoted value of 'title', got 'b'"},
      {"title=a title=b", "'title' is given twice"},
      {"file=", "'file' needs a value"},
      {"thread=\"\"", "'thread' needs a value"},
      {"color=#ff000",
       "color must be #rgb, #rgba, #rrggbb, #rrggbbaa or a colour name, got '#ff000'"},
      {"color=#gg0000",
       "color must be #rgb, #rgba, #rrggbb, #rrggbbaa or a colour name, got '#gg0000'"},
      {"color=red1", "color must be #rgb, #rgba, #rrggbb, #rrggbbaa or a colour name, got 'red1'"},
  };
  for (const auto& c : cases) {
    std::string error;
    const auto parsed = parse_send_options(c.input, &error);
    EXPECT_FALSE(parsed.has_value()) << c.input;
    EXPECT_EQ(error, c.error) << c.input;
  }
  EXPECT_FALSE(parse_send_options("nonsense").has_value()) << "no error pointer needed";
}

TEST(SendOptions, ColorFourDigitsIsAccepted) {
  // #rgba is a CSS colour too.
  EXPECT_TRUE(parse_send_options("color=#f00a").has_value());
}

TEST(SendOptions, StructuredPayloads) {
  std::string error;
  auto text = send_options_from_json("just text", &error);
  ASSERT_TRUE(text) << error;
  EXPECT_EQ(text->text, "just text");

  auto fields = send_options_from_json(
      {{"text", "Motion"}, {"file", "/snap.jpg"}, {"options", "title=Alert color=#ff0000"}},
      &error);
  ASSERT_TRUE(fields) << error;
  EXPECT_EQ(*fields, (SendOptions{"Motion", "/snap.jpg", "", "Alert", "#ff0000", ""}));

  auto nulls =
      send_options_from_json({{"text", "x"}, {"title", nullptr}, {"options", nullptr}}, &error);
  ASSERT_TRUE(nulls) << error;
  EXPECT_EQ(nulls->title, "");
}

TEST(SendOptions, StructuredPayloadMistakes) {
  const std::vector<std::pair<nlohmann::json, std::string>> cases = {
      {42, "expected a text or an object with text, file, description, ... fields"},
      {{{"txt", "x"}},
       "unknown option 'txt' (did you mean 'text'?); known options: text, file, description, "
       "title, color, thread"},
      {{{"text", 5}}, "'text' must be a string"},
      {{{"options", 5}}, "'options' must be an option string such as file=/path title=Alert"},
      {{{"options", "bogus"}}, "options: expected key=value, got 'bogus'"},
      {{{"title", "a"}, {"options", "title=b"}}, "'title' is given both as a field and in options"},
      {{{"color", "#12"}},
       "color must be #rgb, #rgba, #rrggbb, #rrggbbaa or a colour name, got '#12'"},
  };
  for (const auto& [payload, expected] : cases) {
    std::string error;
    EXPECT_FALSE(send_options_from_json(payload, &error).has_value()) << payload.dump();
    EXPECT_EQ(error, expected) << payload.dump();
  }
}

}  // namespace
}  // namespace rcgate::core
