#pragma once
// A multipart/form-data request body (RFC 7578) that streams one file from disk: text fields
// first, then the file part. Only the part headers are held in memory; the file's bytes are read
// 64 KiB at a time while the request is written. No Boost here.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/http.hpp"

namespace rcgate::net {

struct FormField {
  std::string name;
  std::string value;
};

struct FormFile {
  std::string field = "file";  // the part's name
  std::string path;            // the file on disk
  std::string file_name;       // what the server is told (empty: the last part of path)
  std::string content_type = "application/octet-stream";
};

class MultipartFileBody final : public BodySource {
 public:
  // Opens the file now: its size (and so Content-Length) is fixed from here on, and a file
  // removed afterwards is still sent whole. nullptr with `error` set when it cannot be read
  // ("cannot read /x/y.jpg: No such file or directory"). boundary: empty for a random one.
  static std::shared_ptr<MultipartFileBody> open(std::vector<FormField> fields, FormFile file,
                                                 std::string& error, std::string boundary = {});
  ~MultipartFileBody() override;
  MultipartFileBody(const MultipartFileBody&) = delete;
  MultipartFileBody& operator=(const MultipartFileBody&) = delete;

  // "multipart/form-data; boundary=...": the request's Content-Type.
  std::string content_type() const;
  const std::string& boundary() const { return boundary_; }
  std::uint64_t file_size() const { return file_size_; }
  const std::string& file_name() const { return file_name_; }

  std::uint64_t size() const override;
  bool rewind(std::string& error) override;
  std::size_t read(char* buffer, std::size_t capacity, std::string& error) override;

 private:
  MultipartFileBody() = default;

  std::string boundary_;
  std::string path_;
  std::string file_name_;
  std::string head_;  // every text part, then the file part's header
  std::string tail_;  // the end of the file part and the closing boundary
  int fd_ = -1;
  std::uint64_t file_size_ = 0;
  std::uint64_t position_ = 0;  // in the whole body
};

// A quoted-string parameter value for a part header: '"' -> %22, CR -> %0D, LF -> %0A, as
// browsers write file names (HTML form submission algorithm).
std::string escape_form_name(const std::string& text);

}  // namespace rcgate::net
