// heed-search predict: one scene image and a cue (an image, or an exemplar of a named category
// of the run's test pool) -> present or absent, a label per patch, and the attention map drawn
// over the scene (PNG).
#include <fmt/format.h>

#include <algorithm>

#include "apps/common/image.h"
#include "apps/visual_search/search_app.h"
#include "tensor/error.h"

namespace heed::search {

int predict_command(int argc, const char* const* argv) {
  apps::Args args("heed-search predict", "Looks for the cue's target in a scene and shows where the model looked.");
  args.positional("run_dir", "run directory written by heed-search train");
  args.option("scene", "PNG", "", "scene image, canvas-sized (as heed-search generate writes)", true);
  args.option("cue", "PNG", "", "cue image, item-sized (28 x 28)");
  args.option("category", "NAME", "", "cue with an exemplar of this category of the run's test items instead");
  args.option("out", "PNG", "", "where to draw the attention map (default RUN_DIR/predict.png)");
  args.option("map", "KIND", "", "last (layer) or rollout (default: the run's)");
  args.option("seed", "N", "0", "which exemplar --category picks");
  if (!args.parse(argc, argv, 2)) return 0;
  const std::filesystem::path run_dir = args.get("run_dir");
  const nlohmann::json config = read_config(run_dir);
  const nlohmann::json& settings = config.at("settings");
  const SceneOptions options = scene_options_from_json(settings);
  const SearchModelConfig model_config = search_model_config_from_json(config.at("model"));
  const int item_size = int(model_config.item);
  HEED_CHECK(args.given("cue") != args.given("category"), "predict: give either --cue PNG or --category NAME");

  apps::GrayImage scene = apps::read_gray_image(args.get("scene"));
  HEED_CHECK(scene.width == options.canvas && scene.height == options.canvas,
             "predict: the scene {} is {} x {} pixels; this model takes {} x {}", args.get("scene"), scene.width,
             scene.height, options.canvas, options.canvas);
  std::vector<float> cue;
  if (args.given("cue")) {
    apps::GrayImage image = apps::read_gray_image(args.get("cue"));
    HEED_CHECK(image.width == item_size && image.height == item_size,
               "predict: the cue {} is {} x {} pixels; this model takes {} x {} items", args.get("cue"), image.width,
               image.height, item_size, item_size);
    cue = image.pixels;
  } else {
    ItemSet pool = load_test_pool(settings["items"], item_size, settings["invert"], settings["seed"]);
    const auto& names = pool.category_names;
    const auto it = std::find(names.begin(), names.end(), args.get("category"));
    HEED_CHECK(it != names.end(), "predict: no category '{}' among the run's items ({})", args.get("category"),
               fmt::join(names, ", "));
    const auto& exemplars = pool.by_category[size_t(it - names.begin())];
    HEED_CHECK(!exemplars.empty(), "predict: no test image of category '{}'", args.get("category"));
    cue = pool.images[size_t(exemplars[size_t(args.get_int("seed")) % exemplars.size()])];
  }

  const std::filesystem::path weights = run_dir / "best.safetensors";
  std::error_code ec;
  HEED_CHECK(std::filesystem::exists(weights, ec), "predict: {} has no best.safetensors", run_dir.string());
  SearchModel model(model_config);
  model.load(weights.string());
  model.eval();
  NoGradGuard no_grad;
  const int64_t cell = model_config.cell;
  const std::string map_kind = args.given("map") ? args.get_choice("map", {"last", "rollout"}) : settings.value("map", "last");
  SearchModel::Output out =
      model.run(from_vector(scene.pixels, {1, 1, options.canvas, options.canvas}),
                from_vector(pad_cue(cue, item_size, int(cell)), {1, 1, cell, cell}),
                map_kind == "rollout" ? SearchModel::Map::Rollout : SearchModel::Map::LastLayer);
  const double present = softmax(out.presence_logits, 1).to_vector<double>()[1];
  std::vector<int64_t> labels = argmax(out.patch_logits, 2).to_vector<int64_t>();
  std::vector<float> attention = out.attention.to_vector<float>();

  const int side = options.canvas / options.patch;
  fmt::print("target {} (p(present) = {:.3f})\npatch labels (O background, I Important, U Unimportant):\n",
             present >= 0.5 ? "present" : "absent", present);
  for (int r = 0; r < side; ++r) {
    std::string row;
    for (int c = 0; c < side; ++c) row += std::string(1, "OIU"[labels[size_t(r * side + c)]]) + " ";
    fmt::print("  {}\n", row);
  }
  const int peak = int(std::max_element(attention.begin(), attention.end()) - attention.begin());
  fmt::print("attention peak: patch row {}, column {} (weight {:.3f})\n", peak / side, peak % side, attention[size_t(peak)]);

  const int scale = 3;
  apps::Image picture = apps::to_rgb(scene, scale);
  apps::overlay_heatmap(picture, attention, side, side);
  for (int p = 0; p < side * side; ++p)
    if (labels[size_t(p)] == kImportant)
      apps::draw_rectangle(picture, (p % side) * options.patch * scale, (p / side) * options.patch * scale,
                           (p % side + 1) * options.patch * scale, (p / side + 1) * options.patch * scale, {40, 220, 40}, 2);
  apps::Image sheet = apps::blank_image(picture.width + item_size * scale + 30, picture.height + 40);
  apps::paste(sheet, apps::to_rgb({item_size, item_size, cue}, scale), 10, 10);
  apps::paste(sheet, picture, item_size * scale + 20, 10);
  apps::draw_text(sheet, fmt::format("{} (p = {:.2f}); green: patches labelled Important", present >= 0.5 ? "present" : "absent", present),
                  10, picture.height + 18);
  const std::filesystem::path file = args.given("out") ? std::filesystem::path(args.get("out")) : run_dir / "predict.png";
  apps::write_png(file, sheet);
  fmt::print("attention map: {}\n", file.string());
  return 0;
}

}  // namespace heed::search
