// libpng reports errors by longjmp. Only the two C-style functions read_rgba and write_rgb call
// setjmp; they hold no C++ object with a destructor, and everything they change after setjmp lives
// in a state struct in the caller's frame, so nothing is skipped or left indeterminate by the jump.
// The C++ side turns their message into one exception naming the file.
#include <rwkv/image/png_io.hpp>

#include <png.h>

#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <unistd.h>

namespace rwkv::image {
namespace {

constexpr std::size_t message_size = 256;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what);
}

// The error pointer is the state's message buffer.
void on_png_error(png_structp png, png_const_charp message) {
  std::snprintf(static_cast<char*>(png_get_error_ptr(png)), message_size, "%s", message);
  png_longjmp(png, 1);
}

// Warnings (a damaged ancillary chunk, say) do not stop a read and are not printed.
void on_png_warning(png_structp, png_const_charp) {}

void read_from_file(png_structp png, png_bytep data, png_size_t length) {
  auto* file = static_cast<std::FILE*>(png_get_io_ptr(png));
  if (std::fread(data, 1, length, file) != length)
    png_error(png, std::ferror(file) ? "read error" : "truncated (the file ends inside the image)");
}

void write_to_file(png_structp png, png_bytep data, png_size_t length) {
  if (std::fwrite(data, 1, length, static_cast<std::FILE*>(png_get_io_ptr(png))) != length)
    png_error(png, "write error");
}

void flush_file(png_structp png) { std::fflush(static_cast<std::FILE*>(png_get_io_ptr(png))); }

struct ReadState {
  std::FILE* file = nullptr;  // positioned after the 8 signature bytes
  png_structp png = nullptr;
  png_infop info = nullptr;
  png_bytep* rows = nullptr;
  unsigned char* rgba = nullptr;  // on success: width * height * 4 bytes from malloc, the caller's
  png_uint_32 width = 0, height = 0;
  char message[message_size] = {};
};

// Reads the image as 8-bit RGBA. On failure frees everything and returns false with the message.
bool read_rgba(ReadState* s) {
  s->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, s->message, on_png_error, on_png_warning);
  if (s->png) s->info = png_create_info_struct(s->png);
  if (!s->png || !s->info) {
    png_destroy_read_struct(&s->png, nullptr, nullptr);
    std::snprintf(s->message, message_size, "out of memory for libpng");
    return false;
  }
  if (setjmp(png_jmpbuf(s->png))) {
    png_destroy_read_struct(&s->png, &s->info, nullptr);
    std::free(s->rows);
    std::free(s->rgba);
    s->rows = nullptr;
    s->rgba = nullptr;
    return false;
  }
  png_set_read_fn(s->png, s->file, read_from_file);
  png_set_sig_bytes(s->png, 8);
  png_read_info(s->png, s->info);
  s->width = png_get_image_width(s->png, s->info);
  s->height = png_get_image_height(s->png, s->info);
  if (std::uint64_t(s->width) * s->height > max_png_pixels) {
    std::snprintf(s->message, message_size, "image of %u x %u pixels is larger than the limit of %llu pixels",
                  unsigned(s->width), unsigned(s->height), static_cast<unsigned long long>(max_png_pixels));
    png_longjmp(s->png, 1);
  }
  const int color_type = png_get_color_type(s->png, s->info);
  png_set_expand(s->png);    // palette -> RGB, grey below 8 bits -> 8 bits, tRNS -> alpha
  png_set_scale_16(s->png);  // 16 -> 8 bits, rounded (strip_16 would truncate)
  if (!(color_type & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(s->png);
  if (!(color_type & PNG_COLOR_MASK_ALPHA) && !png_get_valid(s->png, s->info, PNG_INFO_tRNS))
    png_set_add_alpha(s->png, 0xff, PNG_FILLER_AFTER);
  png_set_interlace_handling(s->png);
  png_read_update_info(s->png, s->info);
  const std::size_t row_bytes = std::size_t(s->width) * 4;
  if (png_get_rowbytes(s->png, s->info) != row_bytes) png_error(s->png, "unexpected row size after conversion to RGBA");
  s->rgba = static_cast<unsigned char*>(std::malloc(row_bytes * s->height));
  s->rows = static_cast<png_bytep*>(std::malloc(sizeof(png_bytep) * s->height));
  if (!s->rgba || !s->rows) png_error(s->png, "out of memory for the pixels");
  for (png_uint_32 y = 0; y < s->height; ++y) s->rows[y] = s->rgba + row_bytes * y;
  png_read_image(s->png, s->rows);
  png_read_end(s->png, nullptr);
  png_destroy_read_struct(&s->png, &s->info, nullptr);
  std::free(s->rows);
  s->rows = nullptr;
  return true;
}

struct WriteState {
  std::FILE* file = nullptr;
  const unsigned char* rgb = nullptr;  // width * height * 3
  png_uint_32 width = 0, height = 0;
  png_structp png = nullptr;
  png_infop info = nullptr;
  png_bytep* rows = nullptr;
  char message[message_size] = {};
};

bool write_rgb(WriteState* s) {
  s->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, s->message, on_png_error, on_png_warning);
  if (s->png) s->info = png_create_info_struct(s->png);
  if (!s->png || !s->info) {
    png_destroy_write_struct(&s->png, nullptr);
    std::snprintf(s->message, message_size, "out of memory for libpng");
    return false;
  }
  if (setjmp(png_jmpbuf(s->png))) {
    png_destroy_write_struct(&s->png, &s->info);
    std::free(s->rows);
    s->rows = nullptr;
    return false;
  }
  png_set_write_fn(s->png, s->file, write_to_file, flush_file);
  png_set_IHDR(s->png, s->info, s->width, s->height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(s->png, s->info);
  s->rows = static_cast<png_bytep*>(std::malloc(sizeof(png_bytep) * s->height));
  if (!s->rows) png_error(s->png, "out of memory for the rows");
  // libpng copies each row before filtering it: the pixels are not written to.
  for (png_uint_32 y = 0; y < s->height; ++y) s->rows[y] = const_cast<png_bytep>(s->rgb + std::size_t(s->width) * 3 * y);
  png_write_image(s->png, s->rows);
  png_write_end(s->png, nullptr);
  png_destroy_write_struct(&s->png, &s->info);
  std::free(s->rows);
  s->rows = nullptr;
  return true;
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

void fsync_directory_of(const std::string& path) {
  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) directory = ".";
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) fail(directory, "cannot open to fsync");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) fail(directory, "cannot fsync");
}

// Writes `rgb` to tmp, which is left complete and synced, or closed with an exception thrown.
void write_file(const std::string& tmp, const std::string& path, const RgbImage& image) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(tmp.c_str(), "wb"));
  if (!file) fail(tmp, std::string("cannot create: ") + std::strerror(errno));
  WriteState state;
  state.file = file.get();
  state.rgb = image.pixels.data();
  state.width = png_uint_32(image.width);
  state.height = png_uint_32(image.height);
  if (!write_rgb(&state)) fail(path, state.message);
  if (std::fflush(file.get()) != 0 || ::fsync(::fileno(file.get())) != 0)
    fail(tmp, std::string("cannot write: ") + std::strerror(errno));
  if (std::fclose(file.release()) != 0) fail(tmp, std::string("cannot close: ") + std::strerror(errno));
}

}  // namespace

RgbImage read_png(const std::string& path, Rgb background) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) fail(path, "is a directory, not a PNG file");
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) fail(path, errno == ENOENT ? std::string("no such file") : std::string("cannot open: ") + std::strerror(errno));
  unsigned char signature[8];
  const std::size_t got = std::fread(signature, 1, sizeof signature, file.get());
  if (got < sizeof signature || png_sig_cmp(signature, 0, sizeof signature) != 0)
    fail(path, got == 0 ? "not a PNG file (the file is empty)" : "not a PNG file (no PNG signature)");

  ReadState state;
  state.file = file.get();
  if (!read_rgba(&state)) fail(path, state.message);
  const std::unique_ptr<unsigned char, decltype(&std::free)> rgba(state.rgba, &std::free);

  // Composite: c * a + background * (1 - a), rounded to nearest (255 is odd: no ties).
  RgbImage image(int(state.width), int(state.height));
  const std::size_t n_pixels = std::size_t(state.width) * state.height;
  const unsigned bg[3] = {background.r, background.g, background.b};
  for (std::size_t i = 0; i < n_pixels; ++i) {
    const unsigned alpha = rgba.get()[4 * i + 3];
    for (int c = 0; c < 3; ++c) {
      const unsigned mixed = rgba.get()[4 * i + c] * alpha + bg[c] * (255 - alpha);
      image.pixels[3 * i + c] = std::uint8_t((mixed + 127) / 255);
    }
  }
  return image;
}

void write_png(const std::string& path, const RgbImage& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != std::size_t(image.width) * std::size_t(image.height) * 3)
    throw std::invalid_argument(path + ": cannot write an image of " + std::to_string(image.width) + " x " +
                                std::to_string(image.height) + " pixels holding " +
                                std::to_string(image.pixels.size()) + " bytes");
  const std::string tmp = path + ".tmp";
  try {
    write_file(tmp, path, image);
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
      fail(path, "cannot rename " + tmp + " into place: " + std::strerror(errno));
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);  // path keeps its previous content
    throw;
  }
  fsync_directory_of(path);
}

}  // namespace rwkv::image
