// Sampling from a txt2img model: the prompts follow the training layout, images hold only image
// tokens and captions only bytes (the logits of every other token are masked), and slot s of a batch
// draws what generating it alone with seed + s draws.
#include "model_support.hpp"

#include <rwkv/image/sequence.hpp>
#include <rwkv/image/vocabulary.hpp>
#include <rwkv/kernels/token_mask.hpp>
#include <rwkv/txt2img_generate.hpp>

#include <catch2/catch.hpp>

#include <limits>
#include <utility>
#include <string>
#include <vector>

namespace {

using namespace rwkv;
using namespace rwkv::test;
using Space = Kokkos::DefaultExecutionSpace;
namespace vocab = rwkv::image::vocab;

const ModelConfig tiny_txt2img{2, 68, 64, vocab::size, true};

image::RgbImage test_image(int seed) {
  image::RgbImage im(image::image_side, image::image_side);
  for (std::size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = std::uint8_t((i * 37 + std::size_t(seed) * 101) % 256);
  return im;
}

// The head of a model whose every hidden state gives logit `score(t)` to token t: ln_out's output
// becomes all ones (weight 0, bias 1), and head row t sums to score(t).
template <class ModelT, class Score>
void rig_head(ModelT& model, Score score) {
  auto& w = model.weights();
  Kokkos::deep_copy(w.ln_out_weight, 0);
  Kokkos::deep_copy(w.ln_out_bias, 1);
  auto head = Kokkos::create_mirror_view(w.head);
  const int C = int(head.extent(1));
  for (int t = 0; t < int(head.extent(0)); ++t)
    for (int c = 0; c < C; ++c) head(t, c) = typename ModelT::scalar_type(score(t) / C);
  Kokkos::deep_copy(w.head, head);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("keep_tokens masks every logit outside the kept range and the extra token", "[txt2img]",
                        Spaces) {
  using Space = TestType;
  // And no rows, no tokens: nothing to mask.
  for (const auto [rows, V] : {std::pair{3, 11}, {0, 11}, {3, 0}}) {
    CAPTURE(rows, V);
    HostMatrix<float> host("logits", rows, V);
    fill_uniform(host, 5);
    const auto original = host_copy(host);
    auto logits = to_device<Space>(host);
    keep_tokens(Space(), logits, 4, 7, 9);
    const auto masked = to_host(logits);
    for (int r = 0; r < rows; ++r)
      for (int t = 0; t < V; ++t) {
        CAPTURE(r, t);
        const bool kept = (t >= 4 && t < 7) || t == 9;
        CHECK(masked(r, t) == (kept ? original(r, t) : std::numeric_limits<float>::lowest()));
      }
  }
}

TEST_CASE("txt2img prompts are the prefixes of the training samples", "[txt2img]") {
  const int caption_bytes = 12;
  const auto image = test_image(3);
  image::SampleOptions text_first{caption_bytes, 1.0, image::Rounding::nearest, 0};
  for (const std::string caption : {"red apple", "", "a caption longer than twelve bytes"}) {
    CAPTURE(caption);
    const auto sample = image::build_sample(image, caption, text_first, 0, 0);
    const auto prompt = image_prompt(caption, caption_bytes);
    REQUIRE(prompt.size() == std::size_t(caption_bytes) + 2);
    CHECK(std::vector<int>(sample.tokens.begin(), sample.tokens.begin() + long(prompt.size())) == prompt);
  }
  image::SampleOptions image_first{caption_bytes, 0.0, image::Rounding::nearest, 0};
  const auto sample = image::build_sample(image, "x", image_first, 0, 0);
  const auto prompt = caption_prompt(image);
  REQUIRE(prompt.size() == std::size_t(image::image_tokens) + 2);
  CHECK(std::vector<int>(sample.tokens.begin(), sample.tokens.begin() + long(prompt.size())) == prompt);
  CHECK_THROWS_WITH(caption_prompt(image::RgbImage(16, 32)), Catch::Contains("16x32, not 32x32"));
}

TEST_CASE("batched images hold only image tokens and equal single-slot generation", "[txt2img]") {
  Model<v4, Space, double> model(tiny_txt2img, inference_only);
  randomize_weights(model, 21, 0.5);
  const std::vector<std::string> captions{"red apple", "red apple", "blue sky"};
  Txt2ImgOptions options;
  options.caption_bytes = 16;
  options.seed = 7;
  int last_done = 0;
  const auto batched = generate_images(model, std::span<const std::string>(captions), options,
                                       [&](int done, int total) {
                                         CHECK(done == last_done + 1);
                                         CHECK(total == image::image_tokens);
                                         last_done = done;
                                       });
  CHECK(last_done == image::image_tokens);
  REQUIRE(batched.size() == captions.size());
  for (std::size_t s = 0; s < captions.size(); ++s) {
    CAPTURE(s);
    REQUIRE(batched[s].size() == std::size_t(image::image_tokens));
    int outside = 0;
    for (const int t : batched[s]) outside += vocab::is_image_token(t) ? 0 : 1;
    CHECK(outside == 0);
    Txt2ImgOptions single = options;
    single.seed = options.seed + s;
    const auto alone = generate_images(model, std::span<const std::string>(&captions[s], 1), single);
    CHECK(alone.at(0) == batched[s]);
  }
  // The same caption in two slots: two streams, two images.
  CHECK(batched[0] != batched[1]);
  // The positions reach the model: the same weights without them draw another image.
  ModelConfig no_positions = tiny_txt2img;
  no_positions.image_positions = false;
  Model<v4, Space, double> plain(no_positions, inference_only);
  Kokkos::deep_copy(plain.weights().flat, model.weights().flat);
  CHECK(generate_images(plain, std::span<const std::string>(captions.data(), 1), options).at(0) != batched[0]);
}

TEST_CASE("masking keeps special tokens out of images and image tokens out of captions", "[txt2img]") {
  Model<v4, Space, float> model(tiny_txt2img, inference_only);
  randomize_weights(model, 4, 0.5);
  Txt2ImgOptions greedy;
  greedy.caption_bytes = 8;
  greedy.sampling.temperature = 0;
  // End scores highest, then Img, then byte 'A', then image token 5: an unmasked greedy draw picks
  // End (or Img) everywhere.
  rig_head(model, [](int t) {
    return t == vocab::End ? 9.0 : t == vocab::Img ? 8.0 : t == 'A' ? 3.0 : t == vocab::image_token(5) ? 2.0 : 0.0;
  });
  const std::string caption = "x";
  const auto images = generate_images(model, std::span<const std::string>(&caption, 1), greedy);
  CHECK(images.at(0) == std::vector<int>(image::image_tokens, vocab::image_token(5)));
  const auto image = test_image(1);
  CHECK(generate_captions(model, std::span<const image::RgbImage>(&image, 1), greedy).at(0).empty());
  // Without End on top, a caption runs to caption_bytes bytes of 'A' (Img stays masked).
  rig_head(model, [](int t) { return t == vocab::Img ? 8.0 : t == 'A' ? 3.0 : t == vocab::End ? 1.0 : 0.0; });
  CHECK(generate_captions(model, std::span<const image::RgbImage>(&image, 1), greedy).at(0) == "AAAAAAAA");
}

TEST_CASE("batched captions hold only bytes and equal single-slot generation", "[txt2img]") {
  Model<v4, Space, double> model(tiny_txt2img, inference_only);
  randomize_weights(model, 33, 0.5);
  const std::vector<image::RgbImage> images{test_image(1), test_image(1), test_image(2)};
  Txt2ImgOptions options;
  options.caption_bytes = 10;
  options.seed = 11;
  const auto batched = generate_captions(model, std::span<const image::RgbImage>(images), options);
  REQUIRE(batched.size() == images.size());
  for (std::size_t s = 0; s < images.size(); ++s) {
    CAPTURE(s, batched[s]);
    CHECK(batched[s].size() <= 10);
    Txt2ImgOptions single = options;
    single.seed = options.seed + s;
    CHECK(generate_captions(model, std::span<const image::RgbImage>(&images[s], 1), single).at(0) == batched[s]);
  }
}

TEST_CASE("txt2img generation refuses a model without the txt2img vocabulary", "[txt2img]") {
  Model<v4, Space, float> model(ModelConfig{1, 8, 0, 256}, inference_only);
  const std::string caption = "x";
  CHECK_THROWS_WITH(generate_images(model, std::span<const std::string>(&caption, 1), Txt2ImgOptions{}),
                    Catch::Contains("vocab_size is 256, not the 773 tokens"));
  const auto image = test_image(0);
  CHECK_THROWS_WITH(generate_captions(model, std::span<const image::RgbImage>(&image, 1), Txt2ImgOptions{}),
                    Catch::Contains("vocab_size is 256"));
}
