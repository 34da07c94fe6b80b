// libFuzzer target: the multipart/form-data upload path (PROTOCOL.md §7.3).
//   - The first input byte even: the simulator's parser (tests/sim/uploads.cpp) on an arbitrary
//     Content-Type (up to the first '\n') and body.
//   - Odd: a round trip. net::MultipartFileBody (what RestClient::upload sends) is built from
//     fuzzed fields, part name, file name, content type and file bytes, read out in fuzzed chunk
//     sizes, and parsed back by the simulator's parser: the same fields and bytes must come out.
// The file lives in a memfd, so nothing is written to disk.
#include <fuzzer/FuzzedDataProvider.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/multipart.hpp"
#include "uploads.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_multipart: %s\n", what);
  std::abort();
}

void parse_any(std::string_view input) {
  const auto eol = input.find('\n');
  const std::string_view content_type = input.substr(0, eol);
  const std::string_view body =
      eol == std::string_view::npos ? std::string_view{} : input.substr(eol + 1);
  std::string error;
  const auto parts = rcgate::sim::parse_multipart(content_type, body, error);
  if (!parts) {
    if (error.empty()) fail("the parser refused a body without saying why");
    return;
  }
  for (const auto& p : *parts) {
    if (p.data.data() < body.data() || p.data.data() + p.data.size() > body.data() + body.size())
      fail("a part's data points outside the body");
  }
}

// HTTP header values cannot hold line breaks (the content type comes from a file's extension or
// a camera's Content-Type header).
std::string header_value(std::string text) {
  for (char& c : text)
    if (c == '\r' || c == '\n') c = ' ';
  return text;
}

void round_trip(FuzzedDataProvider& in) {
  static const int fd = [] {
    const int f = memfd_create("rcgate-fuzz-upload", MFD_CLOEXEC);
    if (f < 0) fail("memfd_create failed");
    return f;
  }();
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const std::string boundary = "----rcgate-fuzzBoundary0123456789";

  std::vector<rcgate::net::FormField> fields(in.ConsumeIntegralInRange<std::size_t>(0, 3));
  for (auto& f : fields) {
    f.name = in.ConsumeRandomLengthString(40);
    f.value = in.ConsumeRandomLengthString(200);
  }
  rcgate::net::FormFile file;
  file.field = in.ConsumeRandomLengthString(20);
  file.file_name = in.ConsumeRandomLengthString(60);
  file.content_type = header_value(in.ConsumeRandomLengthString(40));
  file.path = path;
  const std::size_t chunk = in.ConsumeIntegralInRange<std::size_t>(1, 70000);
  const std::vector<char> bytes = in.ConsumeRemainingBytes<char>();
  const std::string content(bytes.begin(), bytes.end());

  // The boundary is random in rcgate (24 random characters): text that holds the delimiter is
  // out of this property's reach, as it is out of any multipart body's.
  const std::string delimiter = "\r\n--" + boundary;
  for (const auto& f : fields)
    if ((f.value + "\r\n").find(delimiter) != std::string::npos) return;
  if ((content + "\r\n").find(delimiter) != std::string::npos) return;
  // Names are written the way browsers write them ('"', CR, LF as %22, %0D, %0A): a name that
  // already holds such a sequence cannot be told apart, and a backslash is an escape inside a
  // quoted-string for the reader. rcgate never sends either: safe_file_name() drops
  // backslashes, part names are fixed words.
  auto representable = [](const std::string& name) {
    if (name.find('\\') != std::string::npos) return false;
    for (std::size_t i = name.find('%'); i != std::string::npos; i = name.find('%', i + 1)) {
      std::string hex = name.substr(i + 1, 2);
      for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (hex == "22" || hex == "0D" || hex == "0A") return false;
    }
    return true;
  };
  for (const auto& f : fields)
    if (!representable(f.name)) return;
  if (!representable(file.field) || !representable(file.file_name)) return;

  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, content.data(), content.size(), 0) !=
                                     static_cast<ssize_t>(content.size()))
    fail("cannot write the memfd");

  std::string error;
  const auto source = rcgate::net::MultipartFileBody::open(fields, file, error, boundary);
  if (!source) fail("MultipartFileBody::open failed on a readable file");
  if (!source->rewind(error)) fail("rewind failed");
  std::string body;
  std::vector<char> buffer(chunk);
  while (true) {
    const std::size_t n = source->read(buffer.data(), buffer.size(), error);
    if (n == 0) break;
    body.append(buffer.data(), n);
  }
  if (!error.empty()) fail("reading the body failed");
  if (body.size() != source->size()) fail("the body's length differs from size()");

  const auto parts = rcgate::sim::parse_multipart(source->content_type(), body, error);
  if (!parts) {
    std::fprintf(stderr, "parser: %s\n", error.c_str());
    fail("the body rcgate sends does not parse");
  }
  if (parts->size() != fields.size() + 1) fail("a different number of parts came back");
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto& p = (*parts)[i];
    if (p.is_file) fail("a text field came back as a file");
    if (p.name != fields[i].name) {
      std::fprintf(stderr, "sent name '%s', parsed '%s'\n", fields[i].name.c_str(), p.name.c_str());
      fail("a field's name came back different");
    }
    if (p.data != fields[i].value) fail("a field's value came back different");
  }
  const auto& f = parts->back();
  if (!f.is_file) fail("the file part came back as a text field");
  if (f.name != file.field) {
    std::fprintf(stderr, "sent part name '%s', parsed '%s'\n", file.field.c_str(), f.name.c_str());
    fail("the file part's name came back different");
  }
  if (f.file_name != source->file_name()) {
    std::fprintf(stderr, "sent file name '%s', parsed '%s'\n", source->file_name().c_str(),
                 f.file_name.c_str());
    fail("the file name came back different");
  }
  // Header values are read without their surrounding blanks, as every HTTP parser does.
  std::string_view type = file.content_type.empty() ? std::string_view("application/octet-stream")
                                                  : std::string_view(file.content_type);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  if (f.content_type != type) fail("the content type came back different");
  if (f.data != content) fail("the file's bytes came back different");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  if ((data[0] & 1) == 0) {
    parse_any(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
    return 0;
  }
  FuzzedDataProvider in(data + 1, size - 1);
  round_trip(in);
  return 0;
}
