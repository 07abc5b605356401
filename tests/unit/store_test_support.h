#pragma once
// A state database file in a fresh temporary directory, removed with the object (store and web tests).

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "store/migrations.h"

namespace cellblock::store::testing {

class TempStateDb {
 public:
  explicit TempStateDb(const std::string& prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) != nullptr) dir_ = pattern;
    path_ = (dir_ / "state.db").string();
  }
  ~TempStateDb() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  TempStateDb(const TempStateDb&) = delete;
  TempStateDb& operator=(const TempStateDb&) = delete;

  const std::string& path() const { return path_; }
  // Opens (and migrates) the database; call again after closing it to reopen the same file.
  Result<Database> open() const { return open_state_database(path_); }

  // Every byte the database has on disk: main file, WAL and shared memory.
  std::string disk_bytes() const {
    std::string all;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::ifstream in(path_ + suffix, std::ios::binary);
      all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return all;
  }

 private:
  std::filesystem::path dir_;
  std::string path_;
};

}  // namespace cellblock::store::testing
