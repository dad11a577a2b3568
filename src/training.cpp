#include <rwkv/training.hpp>

#include <cctype>
#include <cstdio>

namespace rwkv {

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e8) return "?";
  const long s = long(seconds + 0.5);
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60)
    std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%lds", s);
  return text;
}

std::string architecture_title(const char* tag_name) {
  std::string title(tag_name);
  for (char& c : title) c = char(std::toupper(static_cast<unsigned char>(c)));
  return title;
}

}  // namespace rwkv
