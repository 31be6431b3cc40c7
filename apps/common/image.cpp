#include "apps/common/image.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "apps/common/files.h"
#include "tensor/error.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace heed::apps {

namespace {
constexpr int kMaxSide = 16384;
}

GrayImage read_gray_image(const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  int width = 0, height = 0, channels = 0;
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  HEED_CHECK(bytes.size() <= size_t(std::numeric_limits<int>::max()) &&
                 stbi_info_from_memory(data, int(bytes.size()), &width, &height, &channels),
             "image {}: not an image file stb_image reads (PNG, JPEG, BMP, GIF, PGM/PPM, TGA, PSD, HDR)",
             path.string());
  HEED_CHECK(width > 0 && height > 0 && width <= kMaxSide && height <= kMaxSide,
             "image {}: {} x {} pixels (at most {} on a side)", path.string(), width, height, kMaxSide);
  stbi_uc* pixels = stbi_load_from_memory(data, int(bytes.size()), &width, &height, &channels, 0);
  HEED_CHECK(pixels != nullptr, "image {}: cannot decode: {}", path.string(), stbi_failure_reason());
  GrayImage out{width, height, std::vector<float>(size_t(width) * size_t(height))};
  for (size_t i = 0; i < out.pixels.size(); ++i) {
    const stbi_uc* p = pixels + i * size_t(channels);
    const bool colour = channels >= 3;
    double value = colour ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : double(p[0]);
    if (channels == 2 || channels == 4) value *= p[channels - 1] / 255.0;  // over black
    out.pixels[i] = float(value / 255.0);
  }
  stbi_image_free(pixels);
  return out;
}

GrayImage resize(const GrayImage& image, int width, int height) {
  HEED_CHECK(width > 0 && height > 0 && image.width > 0 && image.height > 0, "resize: {} x {} to {} x {}", image.width,
             image.height, width, height);
  GrayImage out{width, height, std::vector<float>(size_t(width) * size_t(height))};
  const double sx = double(image.width) / width, sy = double(image.height) / height;
  auto at = [&](int x, int y) { return image.pixels[size_t(y) * image.width + x]; };
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      double value = 0;
      if (sx >= 1 && sy >= 1) {  // area average over the source box [x·sx, (x+1)·sx)
        double x0 = x * sx, x1 = (x + 1) * sx, y0 = y * sy, y1 = (y + 1) * sy, total = 0;
        for (int v = int(y0); v < std::min(int(std::ceil(y1)), image.height); ++v)
          for (int u = int(x0); u < std::min(int(std::ceil(x1)), image.width); ++u) {
            double w = (std::min<double>(u + 1, x1) - std::max<double>(u, x0)) *
                       (std::min<double>(v + 1, y1) - std::max<double>(v, y0));
            value += w * at(u, v), total += w;
          }
        value /= total;
      } else {  // bilinear, pixel centres aligned
        double fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, image.width - 1.0);
        double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, image.height - 1.0);
        int x0 = int(fx), y0 = int(fy), x1 = std::min(x0 + 1, image.width - 1), y1 = std::min(y0 + 1, image.height - 1);
        double ax = fx - x0, ay = fy - y0;
        value = (1 - ay) * ((1 - ax) * at(x0, y0) + ax * at(x1, y0)) + ay * ((1 - ax) * at(x0, y1) + ax * at(x1, y1));
      }
      out.pixels[size_t(y) * width + x] = float(value);
    }
  return out;
}

Image to_rgb(const GrayImage& image, int scale) {
  HEED_CHECK(scale >= 1, "to_rgb: scale {} < 1", scale);
  Image out{image.width * scale, image.height * scale, {}};
  out.rgb.resize(size_t(out.width) * out.height * 3);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x) {
      float v = std::clamp(image.pixels[size_t(y / scale) * image.width + x / scale], 0.0f, 1.0f);
      std::fill_n(&out.rgb[(size_t(y) * out.width + x) * 3], 3, uint8_t(std::lround(v * 255)));
    }
  return out;
}

void write_gray_png(const std::filesystem::path& path, const GrayImage& image) { write_png(path, to_rgb(image)); }

void overlay_heatmap(Image& image, const std::vector<float>& map, int rows, int cols, double alpha) {
  HEED_CHECK(rows > 0 && cols > 0 && map.size() == size_t(rows) * size_t(cols),
             "overlay_heatmap: {} values for a {} x {} map", map.size(), rows, cols);
  const auto [low, high] = std::minmax_element(map.begin(), map.end());
  const float lowest = *low, range = *high - *low;
  if (!(range > 0)) return;  // a flat map says nothing
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) {
      const double v = (map[size_t(y * rows / image.height) * cols + size_t(x * cols / image.width)] - lowest) / range;
      // blue (low) -> yellow -> red (high)
      const double r = std::clamp(2 * v, 0.0, 1.0), g = std::clamp(v < 0.5 ? 2 * v : 2 - 2 * v, 0.0, 1.0),
                   b = std::clamp(1 - 2 * v, 0.0, 1.0);
      const double a = alpha * v;  // the lowest values leave the picture as it is
      uint8_t* p = &image.rgb[(size_t(y) * image.width + x) * 3];
      const double colour[3] = {r * 255, g * 255, b * 255};
      for (int c = 0; c < 3; ++c) p[c] = uint8_t(std::lround((1 - a) * p[c] + a * colour[c]));
    }
}

void paste(Image& image, const Image& part, int x, int y) {
  for (int v = 0; v < part.height; ++v)
    for (int u = 0; u < part.width; ++u) {
      int tx = x + u, ty = y + v;
      if (tx < 0 || ty < 0 || tx >= image.width || ty >= image.height) continue;
      std::copy_n(&part.rgb[(size_t(v) * part.width + u) * 3], 3, &image.rgb[(size_t(ty) * image.width + tx) * 3]);
    }
}

Image blank_image(int width, int height, std::array<uint8_t, 3> colour) {
  HEED_CHECK(width > 0 && height > 0, "blank_image: {} x {}", width, height);
  Image out{width, height, std::vector<uint8_t>(size_t(width) * height * 3)};
  for (size_t i = 0; i < out.rgb.size(); i += 3) std::copy(colour.begin(), colour.end(), &out.rgb[i]);
  return out;
}

}  // namespace heed::apps
