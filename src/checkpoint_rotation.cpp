#include <rwkv/checkpoint_rotation.hpp>

#include <rwkv/checkpoint.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

namespace rwkv {

std::string numbered_checkpoint_path(const std::string& save, long step) {
  const std::filesystem::path p(save);
  char digits[32];
  std::snprintf(digits, sizeof digits, "%06ld", step);
  return (p.parent_path() / (p.stem().string() + "-step" + digits + p.extension().string())).string();
}

void prune_numbered_checkpoints(const std::string& save, int keep) {
  namespace fs = std::filesystem;
  const fs::path p(save);
  const fs::path directory = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  const std::string head = p.stem().string() + "-step", tail = p.extension().string();
  std::map<long, fs::path> numbered;
  for (const auto& entry : fs::directory_iterator(directory)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < head.size() + 6 + tail.size() || name.compare(0, head.size(), head) != 0 ||
        name.compare(name.size() - tail.size(), tail.size(), tail) != 0)
      continue;
    const std::string digits = name.substr(head.size(), name.size() - head.size() - tail.size());
    if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      numbered[std::stol(digits)] = entry.path();
  }
  while (numbered.size() > std::size_t(keep)) {
    fs::remove(numbered.begin()->second);
    numbered.erase(numbered.begin());
  }
}

void save_rotated(const std::string& save, int keep_last, long step, const std::function<void(const std::string&)>& write) {
  if (keep_last <= 0) {
    write(save);
    return;
  }
  const std::string numbered = numbered_checkpoint_path(save, step);
  write(numbered);
  publish_copy(numbered, save);
  prune_numbered_checkpoints(save, keep_last);
}

}  // namespace rwkv
