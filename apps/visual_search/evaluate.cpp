// heed-search eval: a trained run on test scenes: its own test pool, or the items of another
// folder (categories the model never saw, cued by exemplar).
#include <fmt/format.h>

#include "apps/visual_search/search_app.h"
#include "tensor/error.h"
#include "tensor/threads.h"

namespace heed::search {

int eval_command(int argc, const char* const* argv) {
  apps::Args args("heed-search eval", "Evaluates a trained run on test scenes and writes a report folder.");
  args.positional("run_dir", "run directory written by heed-search train");
  args.option("items", "DIR", "", "draw test scenes from every image of this folder (root/<category>/<images>) "
                                  "instead of the run's test pool");
  args.flag("invert", "invert the --items images (dark items on a light background)");
  args.option("condition", "KIND", "", "feature, conjunction or mix (default: the run's)");
  args.option("test-set-sizes", "LIST", "", "set sizes (default: the run's)");
  args.option("test-scenes", "N", "", "number of test scenes (default: the run's)");
  args.option("map", "KIND", "", "attention map: last (layer) or rollout (default: the run's)");
  args.option("seed", "N", "", "seed of the test scenes (default: the run's)");
  args.option("out", "DIR", "", "report folder to create (default: RUN_DIR/eval-N, the first free N)");
  args.option("threads", "N", "0", "CPU threads (0: all)");
  if (!args.parse(argc, argv, 2)) return 0;
  if (int64_t threads = args.get_int("threads"); threads > 0) set_num_threads(int(threads));
  const std::filesystem::path run_dir = args.get("run_dir");
  const nlohmann::json config = read_config(run_dir);
  nlohmann::json settings = config.at("settings");
  if (args.given("condition")) settings["conditions"] = args.get_choice("condition", {"feature", "conjunction", "mix"});
  if (args.given("test-set-sizes"))
    settings["test_set_sizes"] = parse_set_sizes(args.get("test-set-sizes"), settings["grid"].get<int>() * settings["grid"].get<int>());
  if (args.given("test-scenes")) settings["test_scenes"] = args.get_int("test-scenes");
  if (args.given("map")) settings["map"] = args.get_choice("map", {"last", "rollout"});
  if (args.given("seed")) settings["seed"] = args.get_int("seed");
  HEED_CHECK(settings["test_scenes"] > 0 && settings["seed"] >= 0, "eval: --test-scenes must be positive, --seed >= 0");

  std::error_code ec;
  std::filesystem::path out = args.get("out");
  if (out.empty())
    for (int n = 1; out.empty() || std::filesystem::exists(out, ec); ++n) out = run_dir / fmt::format("eval-{}", n);
  HEED_CHECK(!std::filesystem::exists(out, ec) || std::filesystem::is_empty(out, ec),
             "eval: {} exists and is not empty; choose a new --out", out.string());

  ItemSet pool = args.given("items") ? load_item_folder(args.get("items"), 28, args.is_set("invert"))
                                     : load_test_pool(settings["items"], 28, settings["invert"],
                                                      config.at("settings").at("seed"));  // the run's split
  const std::filesystem::path weights = run_dir / "best.safetensors";
  HEED_CHECK(std::filesystem::exists(weights, ec), "eval: {} has no best.safetensors (did training finish an epoch?)",
             run_dir.string());
  SearchModel model(search_model_config_from_json(config.at("model")));
  model.load(weights.string());
  std::filesystem::create_directories(out, ec);
  HEED_CHECK(!ec, "eval: cannot create {}: {}", out.string(), ec.message());
  write_test_report(model, settings, pool, out,
                    {{"items", args.given("items") ? std::filesystem::absolute(args.get("items")).string()
                                                   : config.value("items", "")},
                     {"categories", pool.category_names}});
  fmt::print("report folder {}\n", out.string());
  return 0;
}

}  // namespace heed::search
