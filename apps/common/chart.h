// Line charts as PNG images, for training curves: one or more panels side by side, each with
// axes, "nice" ticks and grid, axis labels, a title, and a legend; a marker at every point.
// Text is drawn with stb_easy_font, the file written with stb_image_write.
//
//   apps::Chart loss{"loss", "epoch", "loss", {{"train", epochs, train_loss}, {"validation", epochs, val_loss}}};
//   apps::write_charts_png("curves.png", {loss, accuracy});
#pragma once
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace heed::apps {

struct Series {
  std::string name;
  std::vector<double> x, y;  // same length; non-finite points are skipped
};

struct Chart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
};

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // row-major, 3 bytes per pixel
};

// The panels side by side, each panel_width x panel_height pixels. Throws heed::Error when a
// series' x and y differ in length or a size is too small to draw in.
Image render_charts(const std::vector<Chart>& charts, int panel_width = 480, int panel_height = 360);
void write_png(const std::filesystem::path& path, const Image& image);  // atomic
// stb_easy_font text with its top left at (x, y), each font pixel scale x scale; clipped.
void draw_text(Image& image, const std::string& text, int x, int y, std::array<uint8_t, 3> colour = {40, 40, 40},
               int scale = 1);
int text_width(const std::string& text, int scale = 1);
// The outline of [x0, x1) x [y0, y1), thickness pixels inwards; clipped.
void draw_rectangle(Image& image, int x0, int y0, int x1, int y1, std::array<uint8_t, 3> colour, int thickness = 1);
void write_charts_png(const std::filesystem::path& path, const std::vector<Chart>& charts, int panel_width = 480,
                      int panel_height = 360);

}  // namespace heed::apps
