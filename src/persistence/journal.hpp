#pragma once
// An append-only file of short records (one line each) that makes a change durable in
// microseconds, where rewriting a whole state file takes milliseconds: the owner appends a line
// when something must survive a crash, syncs once for a batch of lines before acting on them,
// and truncates the journal after it has written its full state file (which then holds everything
// the journal said). On start-up the owner reads the state file, then replays the journal.
//
// A crash can leave a torn last line: open() drops it (and cuts it off the file), so that the
// next append starts on a fresh line.
#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rcgate::persistence {

class Journal {
 public:
  explicit Journal(std::string path = {});
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  const std::string& path() const { return path_; }
  bool is_open() const { return fd_ >= 0; }
  // Lines in the journal: those open() found plus those appended since, until reset().
  std::size_t records() const { return records_; }

  // Opens (creating it, mode 0600) and returns the complete lines already in it, in order.
  // Empty string on success, otherwise what went wrong (the journal then stays closed and
  // append() reports the same error).
  std::string open(std::vector<std::string>& lines);

  // Adds one line (`line` must not contain '\n'). Written with write(2) at once: it survives
  // the process being killed; sync() makes it survive a power cut too. A write that fails part
  // way (a full disk) is cut off again, so that the next line does not continue a torn one.
  std::string append(std::string_view line);
  bool unsynced() const { return unsynced_; }
  // fdatasync when anything was appended since the last sync.
  std::string sync();
  // Empties the journal (after a state file holding every record was written durably).
  std::string reset();
  void close();

 private:
  std::string path_;
  int fd_ = -1;
  bool unsynced_ = false;
  std::size_t records_ = 0;
  off_t size_ = 0;  // bytes of complete lines
  std::string error_;  // why open() failed
};

}  // namespace rcgate::persistence
