// Token files (written here, in a temporary directory), the train/validation split, the
// magic-prime window order and the batches built from it.
#include <rwkv/data.hpp>

#include "temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using rwkv::test::TempDir;

using namespace rwkv;
namespace fs = std::filesystem;

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <class T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

std::string npy_dict(const std::string& shape, const std::string& descr = "<u2", const std::string& fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

// A .npy file as numpy writes it: the dict padded with spaces and a newline to a multiple of 64.
std::string npy_bytes(int major, std::string dict, const std::vector<std::uint16_t>& data) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + dict.size() + 1) % 64) dict += ' ';
  dict += '\n';
  std::string out = "\x93NUMPY";
  out += char(major);
  out += char(0);
  if (major == 1) {
    put(out, std::uint16_t(dict.size()));
  } else {
    put(out, std::uint32_t(dict.size()));
  }
  return out + dict + raw(data);
}

// binidx as RWKV-LM's make_data writes it: one sequence per document, doc_idx = 0..count.
struct Binidx {
  std::string idx, bin;
};
template <class T>
Binidx binidx_bytes(const std::vector<std::vector<T>>& docs, std::uint8_t code) {
  Binidx f;
  f.idx = std::string("MMIDIDX\0\0", 9);
  put(f.idx, std::uint64_t(1));
  put(f.idx, code);
  put(f.idx, std::uint64_t(docs.size()));
  put(f.idx, std::uint64_t(docs.size() + 1));
  for (const auto& d : docs) put(f.idx, std::int32_t(d.size()));
  std::int64_t offset = 0;
  for (const auto& d : docs) {
    put(f.idx, offset);
    offset += std::int64_t(d.size() * sizeof(T));
  }
  for (std::size_t i = 0; i <= docs.size(); ++i) put(f.idx, std::int64_t(i));
  for (const auto& d : docs) f.bin += raw(d);
  return f;
}

void write_binidx(const std::string& base, const Binidx& f) {
  write_file(base + ".idx", f.idx);
  write_file(base + ".bin", f.bin);
}

template <class T>
void patch(std::string& bytes, std::size_t offset, T v) {
  std::memcpy(bytes.data() + offset, &v, sizeof v);
}

// The message of the std::runtime_error f throws; "" when it throws none.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// One line, "<file>: <field>: ..." and the offending value somewhere in it.
void check_error(const std::string& msg, const std::string& file, const std::string& field, const std::string& value) {
  CAPTURE(msg, file, field, value);
  CHECK(msg.rfind(file + ": " + field + ": ", 0) == 0);
  CHECK(msg.find(value) != std::string::npos);
  CHECK(msg.find('\n') == std::string::npos);
}

const std::vector<std::uint16_t> npy_tokens = {7, 0, 65535, 300, 2, 9};

}  // namespace

TEST_CASE("raw bytes load as one token per byte, vocabulary 256", "[data]") {
  TempDir dir;
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += char(i);
  bytes += "hello";
  for (const std::string name : {"text.txt", "noext", "archive.tar.gz"}) {
    write_file(dir.file(name), bytes);
    const TokenData d = load_tokens(dir.file(name));
    REQUIRE(d.tokens.size() == bytes.size());
    for (std::size_t i = 0; i < bytes.size(); ++i) CHECK(d.tokens[i] == static_cast<unsigned char>(bytes[i]));
    CHECK(d.vocab_size == 256);
    CHECK(d.source == dir.file(name));
  }
  CHECK(load_tokens(dir.file("noext"), 300).vocab_size == 300);
}

TEST_CASE("npy uint16 files, versions 1.0 and 2.0, 1-D and C-order 2-D, load exactly", "[data]") {
  TempDir dir;
  const std::string v1 = dir.file("v1.npy"), v2 = dir.file("v2.npy"), m = dir.file("matrix.npy"),
                    dq = dir.file("quotes.npy");
  write_file(v1, npy_bytes(1, npy_dict("(6,)"), npy_tokens));
  write_file(v2, npy_bytes(2, npy_dict("(6,)"), npy_tokens));
  write_file(m, npy_bytes(1, npy_dict("(2, 3)"), npy_tokens));
  // Other writers: double quotes, keys in another order, no trailing comma.
  write_file(dq, npy_bytes(1, "{\"shape\":(3,2),\"fortran_order\":False,\"descr\":\"<u2\"}", npy_tokens));
  for (const auto& path : {v1, v2, m, dq}) {
    CAPTURE(path);
    const TokenData d = load_tokens(path);
    CHECK(d.tokens == npy_tokens);
    CHECK(d.vocab_size == 65536);  // max token + 1
    CHECK(d.source == path);
  }
  write_file(v1, npy_bytes(1, npy_dict("(3,)"), {4, 1, 2}));
  CHECK(load_tokens(v1).vocab_size == 5);
  CHECK(load_tokens(v1, 50).vocab_size == 50);
}

TEST_CASE("binidx documents load as one stream, named as name, name.bin or name.idx", "[data]") {
  TempDir dir;
  const std::vector<std::vector<std::uint16_t>> docs16 = {{1, 2, 3}, {65535, 0}, {4, 5, 6, 7}};
  const std::vector<std::uint16_t> want16 = {1, 2, 3, 65535, 0, 4, 5, 6, 7};
  write_binidx(dir.file("u16"), binidx_bytes(docs16, 8));
  for (const std::string suffix : {"", ".bin", ".idx"}) {
    const TokenData d = load_tokens(dir.file("u16") + suffix);
    CHECK(d.tokens == want16);
    CHECK(d.vocab_size == 65536);
    CHECK(d.source == dir.file("u16.bin"));
  }
  const std::vector<std::vector<std::int32_t>> docs32 = {{10, 20000}, {}, {3}};
  write_binidx(dir.file("i32"), binidx_bytes(docs32, 4));
  const TokenData d32 = read_binidx(dir.file("i32"));
  CHECK(d32.tokens == std::vector<std::uint16_t>{10, 20000, 3});
  CHECK(d32.vocab_size == 20001);
  CHECK(read_binidx(dir.file("i32.bin"), 65536).vocab_size == 65536);
  const std::vector<std::vector<std::uint8_t>> docs8 = {{200, 1}, {2}};
  write_binidx(dir.file("u8"), binidx_bytes(docs8, 1));
  CHECK(read_binidx(dir.file("u8")).tokens == std::vector<std::uint16_t>{200, 1, 2});
}

TEST_CASE("every bad token file gives one line naming the file, the field and the value", "[data]") {
  TempDir dir;
  const std::string npy = dir.file("bad.npy");
  auto npy_error = [&](const std::string& bytes, int vocab = 0) {
    write_file(npy, bytes);
    return error_of([&] { load_tokens(npy, vocab); });
  };
  const auto good = npy_bytes(1, npy_dict("(6,)"), npy_tokens);
  check_error(error_of([&] { load_tokens(dir.file("missing.npy")); }), dir.file("missing.npy"), "file", "does not exist");
  check_error(npy_error("\x93NUM"), npy, "magic", "NUM");
  check_error(npy_error("PK\x03\x04 not a numpy file at all"), npy, "magic", "'PK\\x03\\x04");
  check_error(npy_error(good.substr(0, 7)), npy, "version", "7 bytes");
  check_error(npy_error(good.substr(0, 9)), npy, "header_len", "9 bytes");
  std::string v3 = good;
  v3[6] = 3;
  check_error(npy_error(v3), npy, "version", "3.0");
  std::string long_header = good;
  patch(long_header, 8, std::uint16_t(1000));
  check_error(npy_error(long_header), npy, "header_len", "1000");
  check_error(npy_error(npy_bytes(1, npy_dict("(6,)", "<f4"), npy_tokens)), npy, "descr", "'<f4'");
  check_error(npy_error(npy_bytes(1, npy_dict("(6,)", ">u2"), npy_tokens)), npy, "descr", "'>u2'");
  check_error(npy_error(npy_bytes(1, npy_dict("(2, 3)", "<u2", "True"), npy_tokens)), npy, "fortran_order", "True");
  check_error(npy_error(npy_bytes(1, npy_dict("(1, 2, 3)"), npy_tokens)), npy, "shape", "(1, 2, 3)");
  check_error(npy_error(npy_bytes(1, npy_dict("()"), npy_tokens)), npy, "shape", "()");
  check_error(npy_error(npy_bytes(1, npy_dict("(7,)"), npy_tokens)), npy, "shape", "(7,)");
  check_error(npy_error(npy_bytes(2, npy_dict("(3, 2)"), {1, 2, 3})), npy, "shape", "(3, 2)");
  check_error(npy_error(npy_bytes(1, npy_dict("(0,)"), {})), npy, "shape", "(0,)");
  check_error(npy_error(npy_bytes(1, npy_dict("(18446744073709551615, 2)"), npy_tokens)), npy, "shape",
              "(18446744073709551615, 2)");
  check_error(npy_error(npy_bytes(1, npy_dict("(99999999999999999999,)"), npy_tokens)), npy, "header",
              "99999999999999999999");
  check_error(npy_error(npy_bytes(1, "{'descr': '<u2', 'shape': (6,)}", npy_tokens)), npy, "fortran_order", "missing");
  check_error(npy_error(npy_bytes(1, "{'descr' '<u2'}", npy_tokens)), npy, "header", "offset 9, found ''<u2'}");
  check_error(npy_error(npy_bytes(1, "{'descr': '<u2', 'extra': 1}", npy_tokens)), npy, "header", "'extra'");
  check_error(npy_error(npy_bytes(1, npy_dict("(6,)"), npy_tokens), 300), npy, "vocab_size", "token 65535 at index 2");

  const std::string txt = dir.file("bad.txt");
  write_file(txt, "");
  check_error(error_of([&] { load_tokens(txt); }), txt, "tokens", "empty");
  write_file(txt, "ab\xc8");
  check_error(error_of([&] { load_tokens(txt, 100); }), txt, "vocab_size", "token 200 at index 2");
  fs::create_directory(dir.file("folder"));
  check_error(error_of([&] { load_tokens(dir.file("folder")); }), dir.file("folder"), "file", "regular");

  const std::string base = dir.file("bad");
  const std::string idx = base + ".idx", bin = base + ".bin";
  const auto good_bi = binidx_bytes<std::uint16_t>({{1, 2, 3}, {4, 5}, {6}}, 8);
  auto bi_error = [&](const Binidx& f, int vocab = 0) {
    write_binidx(base, f);
    return error_of([&] { load_tokens(bin, vocab); });
  };
  auto with_idx = [&](auto edit) {
    Binidx f = good_bi;
    edit(f.idx);
    return bi_error(f);
  };
  write_file(bin, good_bi.bin);
  check_error(error_of([&] { load_tokens(base); }), idx, "file", "does not exist");
  fs::remove(bin);
  write_file(idx, good_bi.idx);
  check_error(error_of([&] { load_tokens(idx); }), bin, "file", "does not exist");
  check_error(with_idx([](std::string& s) { s.resize(20); }), idx, "header", "20 bytes");
  check_error(with_idx([](std::string& s) { s.resize(5); }), idx, "magic", "'MMIDI'");
  check_error(with_idx([](std::string& s) { s[8] = 1; }), idx, "magic", "'MMIDIDX\\x00\\x01'");
  check_error(with_idx([](std::string& s) { patch(s, 9, std::uint64_t(2)); }), idx, "version", "2");
  check_error(with_idx([](std::string& s) { s[17] = 6; }), idx, "dtype", "code 6");
  check_error(with_idx([](std::string& s) { s[17] = 99; }), idx, "dtype", "code 99");
  check_error(with_idx([](std::string& s) { patch(s, 18, std::uint64_t(1) << 62); }), idx, "count",
              std::to_string(std::uint64_t(1) << 62));
  check_error(with_idx([](std::string& s) { patch(s, 26, std::uint64_t(1) << 62); }), idx, "doc_count",
              std::to_string(std::uint64_t(1) << 62));
  check_error(with_idx([](std::string& s) { s.resize(s.size() - 8); }), idx, "count", "the file has 94");
  check_error(with_idx([](std::string& s) { patch(s, 34 + 4, std::int32_t(-1)); }), idx, "sizes[1]", "-1");
  check_error(with_idx([](std::string& s) { patch(s, 34 + 4, std::int32_t(9)); }), idx, "sizes[1]", "24 bytes");
  check_error(with_idx([](std::string& s) { patch(s, 34 + 12 + 8, std::int64_t(4)); }), idx, "pointers[1]", "4 is not 6");
  Binidx longer = good_bi;
  longer.bin += "xy";
  check_error(bi_error(longer), bin, "sizes", "14");
  Binidx shorter = good_bi;
  shorter.bin.resize(10);
  check_error(bi_error(shorter), idx, "sizes[2]", "12 bytes");
  check_error(bi_error(binidx_bytes<std::uint16_t>({{}, {}}, 8)), bin, "tokens", "no tokens");
  check_error(bi_error(binidx_bytes<std::int32_t>({{1, 2}, {70000}}, 4)), bin, "tokens", "token 70000 at index 2");
  check_error(bi_error(binidx_bytes<std::int16_t>({{-5}}, 3)), bin, "tokens", "token -5 at index 0");
  check_error(bi_error(good_bi, 6), bin, "vocab_size", "token 6 at index 5");

  CHECK_THROWS_AS(load_tokens(npy, -1), std::invalid_argument);
  CHECK_THROWS_AS(load_tokens(npy, max_vocab_size + 1), std::invalid_argument);
}

TEST_CASE("truncated or corrupted token files load or throw std::runtime_error, never worse", "[data]") {
  TempDir dir;
  const auto bi = binidx_bytes<std::int32_t>({{1, 2, 3}, {4, 5}, {6, 7, 8, 9}}, 4);
  const std::vector<std::string> npys = {npy_bytes(1, npy_dict("(6,)"), npy_tokens),
                                         npy_bytes(2, npy_dict("(2, 3)"), npy_tokens)};
  int outcomes[2] = {0, 0};  // loaded, runtime_error
  int files = 0;
  // Each attempt gets new names: overwriting a file costs milliseconds on some file systems.
  auto attempt = [&](const std::string& bytes, bool binidx) {
    const std::string base = dir.file("f" + std::to_string(files++));
    if (binidx) {
      write_binidx(base, {bytes, bi.bin});
    } else {
      write_file(base + ".npy", bytes);
    }
    try {
      load_tokens(base + (binidx ? ".idx" : ".npy"));
      ++outcomes[0];
    } catch (const std::runtime_error&) {
      ++outcomes[1];
    }  // anything else escapes and fails the test
  };
  auto corrupt = [&](const std::string& good, bool binidx) {
    for (std::size_t n = 0; n < good.size(); ++n) attempt(good.substr(0, n), binidx);
    for (std::size_t i = 0; i < good.size(); ++i)
      for (const char flip : {'\xff', '\x01', '\x80', '\x28'}) {
        std::string bad = good;
        bad[i] = char(bad[i] ^ flip);
        attempt(bad, binidx);
      }
  };
  for (const auto& good : npys) corrupt(good, false);
  corrupt(bi.idx, true);
  // Most damage is caught; a flipped data byte or padding byte still loads.
  CHECK(outcomes[1] > 3 * outcomes[0]);
  CHECK(outcomes[0] > 0);
}

TEST_CASE("split_train_val holds out the tail: the fraction, at least one window, none when asked", "[data]") {
  TokenData data{std::vector<Token>(1000), 256, "toy.txt"};
  for (std::size_t i = 0; i < data.tokens.size(); ++i) data.tokens[i] = Token(i % 256);
  auto sizes = [&](std::size_t n, int T, double f) {
    data.tokens.resize(n);
    const DataSplit s = split_train_val(data, T, f);
    CHECK(s.train.data() == data.tokens.data());
    CHECK(s.val.data() == data.tokens.data() + s.train.size());
    CHECK(s.train.size() + s.val.size() == n);
    return std::pair{s.train.size(), s.val.size()};
  };
  CHECK(sizes(100000, 16, 0.1) == std::pair<std::size_t, std::size_t>{90000, 10000});
  CHECK(sizes(100001, 16, 0.01) == std::pair<std::size_t, std::size_t>{99000, 1001});  // ceil(1000.01)
  CHECK(sizes(1000, 16, 0.01) == std::pair<std::size_t, std::size_t>{983, 17});        // one window, not 10 tokens
  CHECK(sizes(1000, 16, 0.0) == std::pair<std::size_t, std::size_t>{1000, 0});
  CHECK(sizes(1000, 16, 0.99) == std::pair<std::size_t, std::size_t>{17, 983});  // train keeps one window
  CHECK(sizes(34, 16, 0.01) == std::pair<std::size_t, std::size_t>{17, 17});
  CHECK(sizes(33, 16, 0.01) == std::pair<std::size_t, std::size_t>{33, 0});  // no room for two windows
  CHECK(sizes(17, 16, 0.5) == std::pair<std::size_t, std::size_t>{17, 0});
  CHECK(split_train_val(data, 16).val.size() == 0);  // default fraction; 17 tokens

  data.tokens.resize(16);
  check_error(error_of([&] { split_train_val(data, 16); }), "toy.txt", "tokens", "16 tokens");
  data.tokens.resize(100);
  CHECK_THROWS_AS(split_train_val(data, 0), std::invalid_argument);
  CHECK_THROWS_AS(split_train_val(data, 4, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(split_train_val(data, 4, -0.1), std::invalid_argument);
  CHECK_THROWS_AS(split_train_val(data, 4, std::nan("")), std::invalid_argument);
}

TEST_CASE("magic_prime is the largest prime p <= n_windows - 1 with p % 3 == 2", "[data]") {
  auto prime = [](std::uint64_t n) {
    if (n < 2) return false;
    for (std::uint64_t d = 2; d * d <= n; ++d)
      if (n % d == 0) return false;
    return true;
  };
  auto brute = [&](std::uint64_t n_windows) {
    for (std::uint64_t p = n_windows - 1; p >= 2; --p)
      if (p % 3 == 2 && prime(p)) return p;
    return n_windows;  // 1 and 2: no such prime
  };
  for (std::uint64_t n = 1; n < 3000; ++n) {
    CAPTURE(n);
    REQUIRE(magic_prime(n) == brute(n));
  }
  CHECK(magic_prime(1000000000039ull) == brute(1000000000039ull));
  // The values RWKV-LM's scripts give for minipile (1498226207 tokens) and the Pile.
  CHECK(magic_prime((1498226207ull - 1) / 512) == 2926181);
  CHECK(magic_prime((1498226207ull - 1) / 2048) == 731531);
  CHECK(magic_prime((1498226207ull - 1) / 4096) == 365759);
  CHECK(magic_prime((253684860910ull - 1) / 2048) == 123869549);
}

TEST_CASE("WindowSampler visits every slot once per cycle, in RWKV-LM's order, seeded", "[data]") {
  const int T = 7;
  const std::size_t n_tokens = 1000 * T + 5;  // 1000 windows
  const WindowSampler s(n_tokens, T, 42);
  const std::uint64_t p = s.prime();
  REQUIRE(p == 983);
  REQUIRE(s.offset() < p);
  for (const std::uint64_t first : {std::uint64_t(0), std::uint64_t(123456789), std::uint64_t(1) << 63}) {
    std::set<std::size_t> starts;
    for (std::uint64_t k = first; k < first + p; ++k) {
      const std::size_t start = s.start(k);
      CHECK(start % T == 0);
      CHECK(start + T < n_tokens);
      starts.insert(start);
    }
    CHECK(starts.size() == p);
    CHECK(*starts.rbegin() == (p - 1) * T);
  }
  // RWKV-LM: sample i starts at ((int(p * golden) * i^3) % p) * ctx_len, here i = k + 1 + offset.
  const std::uint64_t g = std::uint64_t(double(p) * ((std::sqrt(5.0) - 1) / 2));
  CHECK(g == 607);
  for (std::uint64_t k = 0; k < 2 * p; ++k) {
    const std::uint64_t i = k + 1 + s.offset();
    REQUIRE(s.start(k) == (g * (i * i * i % p) % p) * T);
  }

  const WindowSampler same(n_tokens, T, 42), other(n_tokens, T, 43);
  int differ = 0;
  for (std::uint64_t k = 0; k < 100; ++k) {
    CHECK(same.start(k) == s.start(k));
    differ += other.start(k) != s.start(k);
  }
  CHECK(differ > 90);

  // Tiny data: one or two slots; no data for a window is an error.
  CHECK(WindowSampler(T + 1, T, 5).start(3) == 0);
  const WindowSampler two(2 * T + 1, T, 5);
  CHECK(two.start(0) + two.start(1) == std::size_t(T));
  CHECK_THROWS_AS(WindowSampler(T, T, 5), std::invalid_argument);
  CHECK_THROWS_AS(WindowSampler(100, 0, 5), std::invalid_argument);
}

TEST_CASE("WindowSampler on 2^62 tokens needs 128-bit products and gets them right", "[data]") {
  // Double-and-add modular product: slow, independent of the library's 128-bit one.
  auto mulmod = [](std::uint64_t a, std::uint64_t b, std::uint64_t m) {
    std::uint64_t r = 0;
    for (a %= m; b; b >>= 1, a = (a + a) % m)
      if (b & 1) r = (r + a) % m;
    return r;
  };
  const std::size_t n_tokens = (std::size_t(1) << 62) + 1;
  const WindowSampler s(n_tokens, 1, 7);
  const std::uint64_t p = s.prime();
  CHECK(p % 3 == 2);
  CHECK(p > (std::uint64_t(1) << 62) - 10000);
  const std::uint64_t g = std::uint64_t(double(p) * ((std::sqrt(5.0) - 1) / 2));
  for (const std::uint64_t k : {std::uint64_t(0), std::uint64_t(1), std::uint64_t(999999937),
                                std::numeric_limits<std::uint64_t>::max()}) {
    const std::uint64_t i = (k % p + 1 + s.offset()) % p;
    CHECK(s.start(k) == mulmod(g, mulmod(mulmod(i, i, p), i, p), p));
  }
}

TEST_CASE("batches: training rows are sampled windows, targets the inputs shifted by one", "[data]") {
  std::mt19937 rng(3);
  TokenData data{std::vector<Token>(5000), 65536, "random"};
  for (auto& t : data.tokens) t = Token(rng());
  const int T = 16, B = 4;
  const DataSplit split = split_train_val(data, T, 0.05);
  const WindowSampler sampler(split.train.size(), T, 11);
  std::vector<std::int32_t> in(B * T), tgt(B * T);
  for (const std::uint64_t step : {0, 3, 1000}) {
    fill_train_batch(split.train, sampler, step, B, in, tgt);
    for (int b = 0; b < B; ++b) {
      const std::size_t start = sampler.start(step * B + b);
      for (int t = 0; t < T; ++t) {
        CHECK(in[b * T + t] == split.train[start + t]);
        CHECK(tgt[b * T + t] == split.train[start + t + 1]);
        if (t + 1 < T) CHECK(tgt[b * T + t] == in[b * T + t + 1]);
      }
    }
  }
  std::vector<std::int32_t> small(B * T - 1);
  CHECK_THROWS_AS(fill_train_batch(split.train, sampler, 0, B, small, tgt), std::invalid_argument);
  CHECK_THROWS_AS(fill_train_batch(split.train.first(T + 1), sampler, 0, B, in, tgt), std::invalid_argument);

  // Validation: windows k * T .. k * T + T, B at a time, the last batch partial.
  const std::size_t count = sequential_window_count(split.val.size(), T);
  CHECK(count == (split.val.size() - 1) / T);
  REQUIRE(count % B != 0);
  std::size_t seen = 0;
  for (std::size_t first = 0; first < count; first += B) {
    const int rows = fill_sequential_batch(split.val, T, first, B, in, tgt);
    CHECK(rows == int(std::min<std::size_t>(B, count - first)));
    for (int b = 0; b < rows; ++b, ++seen)
      for (int t = 0; t < T; ++t) {
        CHECK(in[b * T + t] == split.val[seen * T + t]);
        CHECK(tgt[b * T + t] == split.val[seen * T + t + 1]);
      }
  }
  CHECK(seen == count);
  CHECK(fill_sequential_batch(split.val, T, count, B, in, tgt) == 0);
  CHECK(sequential_window_count(T, T) == 0);
  CHECK(sequential_window_count(T + 1, T) == 1);
}
