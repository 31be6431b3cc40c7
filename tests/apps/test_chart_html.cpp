// apps/common: the PNG chart writer, the HTML and terminal highlighting, the progress bar and
// the argument parser.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <stb/stb_image.h>

#include "apps/common/args.h"
#include "apps/common/chart.h"
#include "apps/common/files.h"
#include "apps/common/highlight.h"
#include "apps/common/progress.h"
#include "tensor/error.h"

using namespace heed;
namespace fs = std::filesystem;

TEST_CASE("chart PNG is written, reads back at the right size and is not blank") {
  fs::path file = fs::temp_directory_path() / "heed_test_apps_chart.png";
  apps::Chart loss{"loss", "epoch", "loss", {{"train", {1, 2, 3, 4}, {1.0, 0.6, 0.4, 0.3}}, {"validation", {1, 2, 3, 4}, {1.1, 0.7, 0.5, 0.45}}}};
  apps::Chart acc{"accuracy", "epoch", "accuracy", {{"train", {1, 2, 3, 4}, {0.5, 0.7, 0.8, 0.9}}}};
  apps::write_charts_png(file, {loss, acc}, 400, 300);
  int width = 0, height = 0, channels = 0;
  unsigned char* pixels = stbi_load(file.string().c_str(), &width, &height, &channels, 3);
  REQUIRE(pixels != nullptr);
  CHECK(width == 800);
  CHECK(height == 300);
  int64_t white = 0, blue = 0, orange = 0;
  for (int i = 0; i < width * height; ++i) {
    const unsigned char* p = pixels + 3 * i;
    white += p[0] == 255 && p[1] == 255 && p[2] == 255;
    blue += p[0] == 31 && p[1] == 119 && p[2] == 180;
    orange += p[0] == 255 && p[1] == 127 && p[2] == 14;
  }
  stbi_image_free(pixels);
  CHECK(white < int64_t(width) * height);  // something was drawn
  CHECK(blue > 100);                       // the first series' line in both panels
  CHECK(orange > 50);                      // the second series' line
  fs::remove(file);
}

TEST_CASE("chart rejects series with mismatched lengths and tiny panels") {
  apps::Chart bad{"t", "x", "y", {{"s", {1, 2, 3}, {1, 2}}}};
  CHECK_THROWS_AS(apps::render_charts({bad}), Error);
  apps::Chart ok{"t", "x", "y", {{"s", {1}, {1}}}};
  CHECK_THROWS_AS(apps::render_charts({ok}, 10, 10), Error);
  CHECK_THROWS_AS(apps::render_charts({}), Error);
  CHECK(apps::render_charts({ok}).width == 480);  // a single point (flat ranges) still draws
}

TEST_CASE("HTML highlighting escapes every token and the title") {
  CHECK(apps::html_escape("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  std::string page = apps::highlight_html("<title>", {{"spam & <b>", {{"<script>alert(1)</script>", 0.9}, {"ok", 0.1}}}});
  CHECK(page.find("<script>") == std::string::npos);
  CHECK(page.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(page.find("spam &amp; &lt;b&gt;") != std::string::npos);
  CHECK(page.find("<h1>&lt;title&gt;</h1>") != std::string::npos);
  // The heaviest token is fully shaded, the others in proportion.
  CHECK(page.find("rgba(255, 80, 0, 1.000)") != std::string::npos);
  CHECK(page.find("rgba(255, 80, 0, 0.111)") != std::string::npos);
}

TEST_CASE("terminal highlighting colours heavy tokens only when asked") {
  std::vector<apps::WeightedToken> tokens{{"free", 1.0}, {"the", 0.01}, {"prize", 0.6}};
  CHECK(apps::highlight_terminal(tokens, false) == "free the prize");
  std::string coloured = apps::highlight_terminal(tokens, true);
  CHECK(coloured.find("\033[1;97;41mfree\033[0m") != std::string::npos);
  CHECK(coloured.find(" the ") != std::string::npos);  // light token left plain
  CHECK(coloured.find("\033[30;43mprize") != std::string::npos);
  std::FILE* file = std::tmpfile();
  CHECK_FALSE(apps::use_colour(file));  // not a terminal
  std::fclose(file);
}

TEST_CASE("progress bar prints plain lines when not on a terminal") {
  std::FILE* file = std::tmpfile();
  {
    apps::ProgressBar bar("epoch 1/2", 10, file, apps::ProgressStyle::Lines);
    for (int i = 0; i < 10; ++i) bar.advance(1, 32, 0.5 - i * 0.01);
    CHECK(bar.line().find("epoch 1/2 10/10") == 0);
  }
  std::rewind(file);
  std::string out(4096, '\0');
  out.resize(std::fread(out.data(), 1, out.size(), file));
  std::fclose(file);
  CHECK(out.find('\r') == std::string::npos);
  CHECK(out.find("loss 0.4100") != std::string::npos);
  CHECK(out.find("items/s") != std::string::npos);
  CHECK(out.find("left") != std::string::npos);
  CHECK(apps::format_duration(3725) == "1:02:05");
  CHECK(apps::format_duration(65) == "1:05");
}

TEST_CASE("argument parser reads options, flags and positionals and rejects bad ones") {
  apps::Args args("prog", "test");
  args.positional("DIR", "a folder");
  args.option("epochs", "N", "8", "epochs");
  args.option("lr", "X", "0.001", "lr");
  args.flag("resume", "resume");
  const char* argv[] = {"prog", "sub", "run", "--epochs", "3", "--lr=0.5", "--resume"};
  REQUIRE(args.parse(7, argv, 2));
  CHECK(args.get("DIR") == "run");
  CHECK(args.get_int("epochs") == 3);
  CHECK(args.get_double("lr") == 0.5);
  CHECK(args.is_set("resume"));
  apps::Args strict("prog", "test");
  strict.option("epochs", "N", "8", "epochs");
  const char* unknown[] = {"prog", "sub", "--epoch", "3"};
  CHECK_THROWS_AS(strict.parse(4, unknown, 2), Error);
  const char* not_int[] = {"prog", "sub", "--epochs", "3x"};
  strict.parse(4, not_int, 2);
  CHECK_THROWS_AS(strict.get_int("epochs"), Error);
  const char* missing[] = {"prog", "sub", "--epochs"};
  CHECK_THROWS_AS(strict.parse(3, missing, 2), Error);
}

TEST_CASE("atomic file writes replace the file and reads report missing files") {
  fs::path file = fs::temp_directory_path() / "heed_test_apps_atomic.txt";
  apps::write_file_atomic(file, "first");
  apps::write_file_atomic(file, "second");
  CHECK(apps::read_file(file) == "second");
  CHECK_FALSE(fs::exists(fs::path(file.string() + ".tmp")));
  fs::remove(file);
  CHECK_THROWS_AS(apps::read_file(file), Error);
}
