// Grayscale images for the apps: reading any image file stb_image knows (PNG, JPEG, BMP, GIF,
// PGM...), resizing, writing PNG, and drawing a heat map over a picture.
//
//   apps::GrayImage item = apps::resize(apps::read_gray_image("shoes/1.jpg"), 28, 28);
//   apps::Image picture = apps::to_rgb(item, 4);           // 112 x 112, nearest neighbour
//   apps::overlay_heatmap(picture, weights, 7, 7, 0.5);    // a 7 x 7 map over the whole picture
#pragma once
#include <filesystem>
#include <vector>

#include "apps/common/chart.h"

namespace heed::apps {

struct GrayImage {
  int width = 0, height = 0;
  std::vector<float> pixels;  // row-major, 0 (black) to 1 (white)
};

// Colour images are converted to luma (ITU-R BT.601) and alpha is composited over black. A file
// that is missing, unreadable or not an image, or an image larger than 16384 x 16384: heed::Error.
GrayImage read_gray_image(const std::filesystem::path& path);
// Area averaging when shrinking, bilinear interpolation when growing.
GrayImage resize(const GrayImage& image, int width, int height);
void write_gray_png(const std::filesystem::path& path, const GrayImage& image);  // atomic
// Each pixel repeated scale x scale times.
Image to_rgb(const GrayImage& image, int scale = 1);
// Blends a rows x cols map (row-major, scaled from its minimum to its maximum; a flat map draws
// nothing) over the whole image with a blue-to-red colour scale; alpha is the weight of the map's
// colour at the maximum, fading to nothing at the minimum.
void overlay_heatmap(Image& image, const std::vector<float>& map, int rows, int cols, double alpha = 0.55);
// Pastes `part` into `image` with its top left at (x, y), clipped.
void paste(Image& image, const Image& part, int x, int y);
Image blank_image(int width, int height, std::array<uint8_t, 3> colour = {255, 255, 255});

}  // namespace heed::apps
