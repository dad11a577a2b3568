// rwkv-bench's results: one row per measurement, printed as an aligned table and written as JSON
// (scripts/plot-bench.py reads it). A row's rate is judged against one ceiling of the same run.
#pragma once

#include "measure.hpp"

#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace rwkv::bench {

// The machine's ceilings of this run (GB/s, GFLOP/s); 0: not measured (a --filter run measures
// only those its measurements are judged by).
struct Ceilings {
  double triad_gbs = 0, update_gbs = 0, read_gbs = 0, copy_gbs = 0;
  SgemmRates sgemm;
  // One float32 RNN step of the decode model (RWKV-4 169M in a full run): the best call of the
  // decode rows' steps over their number.
  double step_seconds = 0;
  // What streaming kernels that read and write are judged against: the better of the two patterns.
  double stream_gbs() const { return triad_gbs > update_gbs ? triad_gbs : update_gbs; }
  // What GEMM-bound rows are judged against: the fastest library, whichever the library calls.
  double sgemm_gflops() const { return sgemm.best(); }
};

// The better of two measurements of each ceiling (the step: the faster; 0: not measured).
inline Ceilings best_of(const Ceilings& a, const Ceilings& b) {
  const auto max = [](double x, double y) { return x > y ? x : y; };
  const double step = a.step_seconds > 0 && b.step_seconds > 0 ? (a.step_seconds < b.step_seconds ? a.step_seconds : b.step_seconds)
                                                                  : max(a.step_seconds, b.step_seconds);
  return {max(a.triad_gbs, b.triad_gbs), max(a.update_gbs, b.update_gbs), max(a.read_gbs, b.read_gbs),
          max(a.copy_gbs, b.copy_gbs), a.sgemm.merged(b.sgemm), step};
}

// step: tokens/s against the RNN step's; step_share: the time of a call as a fraction of a step
// (the cost of work done once a token beside the step, such as sampling: lower is better).
enum class Judge { stream, read, sgemm, step, step_share };

inline const char* judge_name(Judge j) {
  switch (j) {
    case Judge::stream: return "stream";
    case Judge::read: return "read";
    case Judge::step: return "step";
    case Judge::step_share: return "step_share";
    default: return "sgemm";
  }
}

struct Row {
  std::string group;  // kernel or end_to_end
  std::string name;
  std::vector<std::pair<std::string, long>> sizes;
  double flops = 0;  // counted a call
  double bytes = 0;  // counted a call; 0: not counted (the rate is judged by FLOPs)
  Timing time;
  Judge judge = Judge::stream;
  double tokens = 0;  // tokens a call, for end-to-end rows (0: none)

  double gflops() const { return flops / time.min / 1e9; }
  double gbs() const { return bytes / time.min / 1e9; }
  // The rate the ceiling judges, from the best time (the ceilings are best times too).
  double fraction(const Ceilings& c) const {
    switch (judge) {
      case Judge::stream: return gbs() / c.stream_gbs();
      case Judge::read: return gbs() / c.read_gbs;
      case Judge::step: return tokens / time.min * c.step_seconds;
      case Judge::step_share: return time.min / c.step_seconds;
      default: return gflops() / c.sgemm_gflops();
    }
  }
};

struct RunInfo {
  std::string mode, arch, device, backend, compiler, kokkos_version, git_revision;
  std::string filter;  // --filter's text; empty: every measurement
  int kokkos_version_number = 0, concurrency = 0;
};

inline std::string sizes_text(const Row& r) {
  std::string s;
  for (const auto& [name, value] : r.sizes) s += (s.empty() ? "" : " ") + name + "=" + std::to_string(value);
  return s;
}

// "stream S GB/s (triad T, update U), read ..., copy ..., sgemm R GFLOP/s (onednn; the library calls
// onednn; openblas R2)[, step ... ms]"; "-" where not measured (the step only where
// measured).
inline std::string ceilings_text(const Ceilings& c) {
  const auto step_ms = [](double seconds) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", 1e3 * seconds);
    return std::string(buf);
  };
  const auto value = [](double x) {
    char buf[32] = "-";
    if (x > 0) std::snprintf(buf, sizeof buf, "%.1f", x);
    return std::string(buf);
  };
  return "stream " + value(c.stream_gbs()) + " GB/s (triad " + value(c.triad_gbs) + ", update " + value(c.update_gbs) +
         "), read " + value(c.read_gbs) + " GB/s, copy " + value(c.copy_gbs) + " GB/s, sgemm " +
         value(c.sgemm_gflops()) + " GFLOP/s" + sgemm_backends_text(c.sgemm) +
         (c.step_seconds > 0 ? ", step " + step_ms(c.step_seconds) + " ms" : "");
}

inline void print_table(std::FILE* out, const RunInfo& info, const Ceilings& c, const std::vector<Row>& rows) {
  std::fprintf(out, "rwkv-bench (%s%s%s, %s): %s, %s with concurrency %d, %s, Kokkos %s, git %s\n", info.mode.c_str(),
               info.filter.empty() ? "" : ", filter ", info.filter.c_str(), info.arch.c_str(), info.device.c_str(),
               info.backend.c_str(),
               info.concurrency, info.compiler.c_str(), info.kokkos_version.c_str(), info.git_revision.c_str());
  std::fprintf(out, "ceilings: %s\n", ceilings_text(c).c_str());
  std::fprintf(out, "rates from the best time; ms: median (min-max) of the repetitions\n\n");
  std::fprintf(out, "%-24s %-34s %10s %19s %9s %9s %10s %6s %7s\n", "kernel", "sizes", "median ms", "min-max ms",
               "GFLOP/s", "GB/s", "tokens/s", "vs", "of ceil");
  for (const Row& r : rows) {
    char range[40], gbs[16] = "-", tokens[16] = "-";
    std::snprintf(range, sizeof range, "%.3f-%.3f", 1e3 * r.time.min, 1e3 * r.time.max);
    if (r.bytes > 0) std::snprintf(gbs, sizeof gbs, "%.1f", r.gbs());
    if (r.tokens > 0) std::snprintf(tokens, sizeof tokens, "%.1f", r.tokens / r.time.min);
    std::fprintf(out, "%-24s %-34s %10.3f %19s %9.1f %9s %10s %6s %6.1f%%\n", r.name.c_str(), sizes_text(r).c_str(),
                 1e3 * r.time.median, range, r.gflops(), gbs, tokens, judge_name(r.judge), 100 * r.fraction(c));
  }
}

inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// Numbers in %.6g; rates of rows without bytes, and ceilings not measured, are null. A --filter run
// names its filter.
inline std::string json_report(const RunInfo& info, const Ceilings& c, const std::vector<Row>& rows) {
  std::string j = "{\n";
  char buf[512];
  const auto number = [](double x) {
    char text[32] = "null";
    if (x > 0) std::snprintf(text, sizeof text, "%.6g", x);
    return std::string(text);
  };
  j += "  \"program\": \"rwkv-bench\",\n  \"mode\": " + json_string(info.mode) + ",\n";
  j += "  \"arch\": " + json_string(info.arch) + ",\n";
  if (!info.filter.empty()) j += "  \"filter\": " + json_string(info.filter) + ",\n";
  j += "  \"device\": " + json_string(info.device) + ",\n  \"backend\": " + json_string(info.backend) + ",\n";
  j += "  \"concurrency\": " + std::to_string(info.concurrency) + ",\n";
  j += "  \"compiler\": " + json_string(info.compiler) + ",\n";
  j += "  \"kokkos_version\": " + json_string(info.kokkos_version) + ",\n";
  j += "  \"kokkos_version_number\": " + std::to_string(info.kokkos_version_number) + ",\n";
  j += "  \"git_revision\": " + json_string(info.git_revision) + ",\n";
  j += "  \"rates_from\": \"min\",\n";
  j += "  \"ceilings\": {\"stream_gbs\": " + number(c.stream_gbs()) + ", \"triad_gbs\": " + number(c.triad_gbs) +
       ", \"update_gbs\": " + number(c.update_gbs) + ", \"read_gbs\": " + number(c.read_gbs) +
       ", \"copy_gbs\": " + number(c.copy_gbs) + ", \"sgemm_gflops\": " + number(c.sgemm_gflops()) +
       ", \"sgemm_backend\": " + json_string(c.sgemm.best_backend()) +
       ", \"sgemm_library_backend\": " + json_string(c.sgemm.library) + ", \"sgemm_by_backend\": {";
  for (std::size_t i = 0; i < c.sgemm.by_backend.size(); ++i)
    j += (i ? ", " : "") + json_string(c.sgemm.by_backend[i].first) + ": " + number(c.sgemm.by_backend[i].second);
  j += "}, \"step_ms\": " + number(1e3 * c.step_seconds) + "},\n";
  j += "  \"results\": [\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::string sizes = "{";
    for (std::size_t k = 0; k < r.sizes.size(); ++k)
      sizes += (k ? ", " : "") + json_string(r.sizes[k].first) + ": " + std::to_string(r.sizes[k].second);
    sizes += "}";
    j += "    {\"group\": " + json_string(r.group) + ", \"name\": " + json_string(r.name) + ", \"sizes\": " + sizes;
    std::snprintf(buf, sizeof buf,
                  ", \"flops\": %.6g, \"bytes\": %.6g, \"seconds\": {\"median\": %.6g, \"min\": %.6g, \"max\": %.6g}, "
                  "\"reps\": %d, \"gflops\": %.6g, ",
                  r.flops, r.bytes, r.time.median, r.time.min, r.time.max, r.time.reps, r.gflops());
    j += buf;
    if (r.bytes > 0) {
      std::snprintf(buf, sizeof buf, "\"gbs\": %.6g, ", r.gbs());
      j += buf;
    } else {
      j += "\"gbs\": null, ";
    }
    if (r.tokens > 0) {
      std::snprintf(buf, sizeof buf, "\"tokens_per_s\": %.6g, ", r.tokens / r.time.min);
      j += buf;
    }
    std::snprintf(buf, sizeof buf, "\"ceiling\": \"%s\", \"fraction_of_ceiling\": %.6g}%s\n", judge_name(r.judge),
                  r.fraction(c), i + 1 < rows.size() ? "," : "");
    j += buf;
  }
  j += "  ]\n}\n";
  return j;
}

// Fails before minutes of measuring when the report could not be written at the end.
inline void check_writable(const std::string& path) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw std::runtime_error(path + ": cannot write the JSON report (cannot create " + tmp + ")");
  std::fclose(f);
  std::remove(tmp.c_str());
}

// Writes text to path through a temporary file renamed into place: a failed write leaves no
// half-written file where an earlier one was.
inline void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw std::runtime_error(path + ": cannot write the JSON report (cannot create " + tmp + ")");
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (std::fclose(f) != 0 || !written) {
    std::remove(tmp.c_str());
    throw std::runtime_error(path + ": cannot write the JSON report (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error(path + ": cannot write the JSON report (rename from " + tmp + " failed)");
  }
}

}  // namespace rwkv::bench
