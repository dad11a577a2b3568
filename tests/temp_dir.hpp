// Test helpers for files: a private temporary directory, and the message of an expected error.
#pragma once

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace rwkv::test {

// A fresh directory under the system's temporary directory, removed with its files at the end.
class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "rwkv-test-XXXXXX").string();
    if (!mkdtemp(t.data())) throw std::runtime_error("mkdtemp failed in " + t);
    path = t;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path / name).string(); }
  // Writes `bytes` to the file `name`; returns its path.
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string f = file(name);
    std::ofstream(f, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    return f;
  }

  std::filesystem::path path;
};

// The message of the std::exception that f must throw; a test failure when it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  FAIL("no error was raised");
  return "";
}

}  // namespace rwkv::test
