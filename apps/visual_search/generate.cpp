// heed-search generate: scenes as PNG (scene_NNNN.png, cue_NNNN.png) and their labels as JSON
// (scenes.json), so a person can look at what the model is trained and tested on.
#include <fmt/format.h>

#include "apps/common/files.h"
#include "apps/common/image.h"
#include "apps/visual_search/search_app.h"
#include "tensor/error.h"

namespace heed::search {

int generate_command(int argc, const char* const* argv) {
  apps::Args args("heed-search generate", "Writes visual-search scenes as PNG images with their labels as JSON.");
  args.option("out", "DIR", "", "folder to create for the scenes", true);
  args.option("count", "N", "16", "number of scenes (half with the target present)");
  args.option("pool", "PART", "test", "item pool: train, validation or test");
  args.option("seed", "N", "0", "seed of the scenes");
  add_scene_options(args);
  if (!args.parse(argc, argv, 2)) return 0;
  const std::filesystem::path out = args.get("out");
  const int64_t count = args.get_int("count");
  HEED_CHECK(count > 0 && count <= 100000, "generate: --count {} is not in 1..100000", count);
  const int64_t seed = args.get_int("seed");
  HEED_CHECK(seed >= 0, "generate: --seed must be >= 0");
  const std::string pool = args.get_choice("pool", {"train", "validation", "test"});
  std::error_code ec;
  HEED_CHECK(!std::filesystem::exists(out, ec) || std::filesystem::is_empty(out, ec),
             "generate: {} exists and is not empty; choose a new --out", out.string());

  const nlohmann::json settings = scene_settings_from_args(args);
  const SceneOptions options = scene_options_from_json(settings);
  ItemPools pools = load_pools(settings["items"], 28, settings["invert"], uint64_t(seed));
  auto items = std::make_shared<const ItemSet>(pool == "train" ? pools.train : pool == "validation" ? pools.validation : pools.test);
  SceneDataset scenes(items, options, scene_mix_from_json(settings), uint64_t(seed), 0, size_t(count));

  std::filesystem::create_directories(out, ec);
  HEED_CHECK(!ec, "generate: cannot create {}: {}", out.string(), ec.message());
  nlohmann::json list = nlohmann::json::array();
  const int side = options.canvas / options.patch;
  for (int64_t i = 0; i < count; ++i) {
    const Scene s = scenes.get(size_t(i));
    const std::string scene_file = fmt::format("scene_{:04d}.png", i), cue_file = fmt::format("cue_{:04d}.png", i);
    apps::write_gray_png(out / scene_file, {options.canvas, options.canvas, s.canvas});
    apps::write_gray_png(out / cue_file, {items->item_size, items->item_size, s.cue});
    nlohmann::json placed = nlohmann::json::array();
    for (const PlacedItem& item : s.items)
      placed.push_back({{"category", items->category_names[size_t(item.category)]}, {"x", item.x}, {"y", item.y},
                        {"bright", item.bright}, {"target", item.target}, {"source", items->sources[size_t(item.image)]}});
    nlohmann::json rows = nlohmann::json::array();
    for (int r = 0; r < side; ++r) {
      std::string row;
      for (int c = 0; c < side; ++c) row += "OIU"[s.patch_labels[size_t(r * side + c)]];
      rows.push_back(row);
    }
    list.push_back({{"scene", scene_file},
                    {"cue", cue_file},
                    {"condition", to_string(s.condition)},
                    {"set_size", s.set_size},
                    {"present", s.present},
                    {"target_category", items->category_names[size_t(s.target_category)]},
                    {"target_bright", s.target_bright},
                    {"cue_source", items->sources[size_t(s.cue_image)]},
                    {"items", placed},
                    {"patch_labels", rows}});
  }
  nlohmann::json document = {{"app", kAppName},
                             {"settings", settings},
                             {"pool", pool},
                             {"seed", seed},
                             {"patch_label_key", "O background, I Important (the target), U Unimportant (a distractor)"},
                             {"scenes", list}};
  apps::write_file_atomic(out / "scenes.json", document.dump(2) + "\n");
  fmt::print("wrote {} scenes to {} (scenes.json holds their labels)\n", count, out.string());
  return 0;
}

}  // namespace heed::search
