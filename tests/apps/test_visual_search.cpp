// heed-search's pieces: scene generation (the rules of feature and conjunction search, patch
// labels, determinism), item folders, batching, the model's outputs and evaluation.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "../helpers.h"
#include "apps/common/image.h"
#include "apps/visual_search/search_app.h"
#include "optim/optim.h"
#include "tensor/error.h"

using namespace heed;
using namespace heed::search;
namespace fs = std::filesystem;

namespace {

// Four categories of five 28 x 28 images, each image a distinct pattern.
ItemSet synthetic_items() {
  ItemSet set;
  set.category_names = {"a", "b", "c", "d"};
  for (int64_t c = 0; c < 4; ++c)
    for (int k = 0; k < 5; ++k) {
      std::vector<float> image(28 * 28);
      for (size_t p = 0; p < image.size(); ++p) image[p] = float(((p + size_t(k * 7)) % (c + 2)) + 1) / 8.0f;
      set.images.push_back(image);
      set.categories.push_back(c);
      set.sources.push_back(std::to_string(c) + "/" + std::to_string(k));
    }
  set.index();
  return set;
}

// A small model: `layers` encoder layers of width 32, 2 heads, feed-forward 64.
SearchModelConfig small_config(int64_t layers) {
  SearchModelConfig config;
  config.width = 32, config.layers = layers, config.heads = 2, config.feedforward = 64;
  return config;
}

// The first n of the synthetic items' scenes drawn with `seed`, as one batch.
SceneBatch synthetic_batch(uint64_t seed, size_t n) {
  SceneDataset scenes(std::make_shared<const ItemSet>(synthetic_items()), {}, {}, seed, 1, n);
  std::vector<Scene> list;
  for (size_t i = 0; i < n; ++i) list.push_back(scenes.get(i));
  return collate_scenes(std::move(list), {});
}

fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("heed_test_search_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("make_scene follows the rules of feature and conjunction search") {
  const ItemSet items = synthetic_items();
  const SceneOptions options{.patch = 16};
  for (Condition condition : {Condition::Feature, Condition::Conjunction})
    for (bool present : {false, true})
      for (int set_size : {1, 5, 16})
        for (uint64_t seed = 0; seed < 6; ++seed) {
          Scene s = make_scene(items, options, condition, set_size, present, seed);
          const std::string name = to_string(condition);
          CAPTURE(name);
          CAPTURE(present);
          CAPTURE(set_size);
          CAPTURE(seed);
          REQUIRE(int(s.items.size()) == set_size);
          CHECK(items.categories[size_t(s.cue_image)] == s.target_category);
          int targets = 0;
          std::set<std::pair<int, int>> cells;
          for (const PlacedItem& item : s.items) {
            const bool same_category = item.category == s.target_category, same_brightness = item.bright == s.target_bright;
            CHECK(item.image != s.cue_image);  // the cue is another exemplar
            if (item.target) {
              ++targets;
              CHECK((same_category && same_brightness));
            } else if (condition == Condition::Feature) {
              CHECK_FALSE(same_category);
            } else {
              CHECK(same_category != same_brightness);  // exactly one shared
            }
            CHECK(cells.insert({item.x / 32, item.y / 32}).second);  // one item per cell
            CHECK((item.x % 32 <= 4 && item.y % 32 <= 4));             // inside its cell
          }
          CHECK(targets == (present ? 1 : 0));
          CHECK(s.target_patches.empty() == !present);
          const auto important = std::count(s.patch_labels.begin(), s.patch_labels.end(), kImportant);
          CHECK(size_t(important) == s.target_patches.size());
          if (present) CHECK(important == 4);  // 16-pixel patches: the target's cell
          const auto unimportant = std::count(s.patch_labels.begin(), s.patch_labels.end(), kUnimportant);
          CHECK(unimportant == 4 * (set_size - (present ? 1 : 0)));
          CHECK(make_scene(items, {.patch = 32}, condition, set_size, present, seed).target_patches.size() ==
                (present ? 1u : 0u));  // 32-pixel patches: one per cell
          for (size_t p = 0; p < s.patch_labels.size(); ++p)  // 2·category + bright of the item there
            CHECK((s.patch_labels[p] == kBackground) == (s.patch_categories[p] == -1));
          if (present)
            CHECK(s.patch_categories[size_t(s.target_patches[0])] == 2 * s.target_category + (s.target_bright ? 1 : 0));
        }
}

TEST_CASE("make_scene is deterministic in its seed and draws items at their brightness") {
  const ItemSet items = synthetic_items();
  const SceneOptions options;
  Scene a = make_scene(items, options, Condition::Conjunction, 8, true, 42);
  Scene b = make_scene(items, options, Condition::Conjunction, 8, true, 42);
  Scene c = make_scene(items, options, Condition::Conjunction, 8, true, 43);
  CHECK(a.canvas == b.canvas);
  CHECK(a.cue == b.cue);
  CHECK(a.canvas != c.canvas);
  // Every pixel is an item's pixel times its brightness, or background.
  double ink = 0;
  for (const PlacedItem& item : a.items) {
    const float scale = item.bright ? 1.0f : options.dim;
    CHECK(a.canvas[size_t(item.y + 3) * 128 + size_t(item.x + 5)] ==
          doctest::Approx(items.images[size_t(item.image)][3 * 28 + 5] * scale));
    for (float p : items.images[size_t(item.image)]) ink += p * scale;
  }
  double total = 0;
  for (float p : a.canvas) total += p;
  CHECK(total == doctest::Approx(ink).epsilon(1e-4));
}

TEST_CASE("make_scene and the options reject what cannot be drawn") {
  const ItemSet items = synthetic_items();
  CHECK_THROWS_WITH_AS(make_scene(items, {}, Condition::Feature, 17, true, 0), doctest::Contains("set size 17"), Error);
  CHECK_THROWS_WITH_AS(make_scene(items, {}, Condition::Feature, 0, true, 0), doctest::Contains("set size 0"), Error);
  CHECK_THROWS_AS(check_scene_options({.canvas = 100, .grid = 4}, 28), Error);
  CHECK_THROWS_WITH_AS(check_scene_options({.canvas = 96, .grid = 4}, 28), doctest::Contains("cannot hold"), Error);
  CHECK_THROWS_WITH_AS(check_scene_options({.patch = 12}, 28), doctest::Contains("does not divide"), Error);
  ItemSet one = items.subset({0, 1, 2});
  CHECK_THROWS_WITH_AS(make_scene(one, {}, Condition::Feature, 4, true, 0), doctest::Contains("two categories"), Error);
  CHECK(parse_set_sizes("4,8,12,16", 16) == std::vector<int>{4, 8, 12, 16});
  CHECK_THROWS_AS(parse_set_sizes("4,,8", 16), Error);
  CHECK_THROWS_AS(parse_set_sizes("4,17", 16), Error);
  CHECK_THROWS_AS(parse_set_sizes("x", 16), Error);
  CHECK_THROWS_AS(condition_from_string("colour"), Error);
}

TEST_CASE("SceneDataset balances presence, conditions and set sizes") {
  auto items = std::make_shared<const ItemSet>(synthetic_items());
  SceneDataset scenes(items, {}, {}, 7, 1, 16);
  int present = 0, conjunction = 0;
  std::set<int> sizes;
  for (size_t i = 0; i < scenes.size(); ++i) {
    Scene s = scenes.get(i);
    present += s.present, conjunction += s.condition == Condition::Conjunction;
    sizes.insert(s.set_size);
  }
  CHECK(present == 8);
  CHECK(conjunction == 8);
  CHECK(sizes == std::set<int>{4, 8, 12, 16});
  CHECK_THROWS_AS(scenes.get(16), Error);
}

TEST_CASE("collate_scenes and pad_cue lay scenes out as the model takes them") {
  auto items = std::make_shared<const ItemSet>(synthetic_items());
  SceneDataset scenes(items, {}, {}, 1, 1, 3);
  std::vector<Scene> list = {scenes.get(0), scenes.get(1), scenes.get(2)};
  const std::vector<float> cue = list[1].cue;
  SceneBatch batch = collate_scenes(std::move(list), {});
  CHECK(batch.canvas.shape() == Shape{3, 1, 128, 128});
  CHECK(batch.cue.shape() == Shape{3, 1, 32, 32});
  CHECK(batch.presence.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 0});
  CHECK(batch.patch_labels.shape() == Shape{3, 16});
  std::vector<float> padded = pad_cue(cue, 28, 32);
  CHECK(padded[2 * 32 + 2] == cue[0]);    // centred: 2 pixels of border
  CHECK(padded[29 * 32 + 29] == cue[27 * 28 + 27]);
  CHECK(padded[0] == 0.0f);
  CHECK(padded[31 * 32 + 31] == 0.0f);
}

TEST_CASE("load_item_folder reads a folder per category, resizes, and rejects bad folders") {
  const fs::path root = fresh_dir("items");
  for (const char* category : {"circles", "squares"}) {
    fs::create_directories(root / category);
    for (int k = 0; k < 3; ++k) {
      apps::Image image = apps::blank_image(40 + k, 30, {0, 0, 0});
      for (int y = 10; y < 20; ++y)
        for (int x = 10; x < 30; ++x) std::fill_n(&image.rgb[size_t(y * image.width + x) * 3], 3, uint8_t(255));
      apps::write_png(root / category / (std::to_string(k) + ".png"), image);
    }
  }
  { std::ofstream(root / "circles" / ".hidden") << "not an image"; }
  ItemSet items = load_item_folder(root, 28);
  CHECK(items.category_names == std::vector<std::string>{"circles", "squares"});
  CHECK(items.images.size() == 6);
  CHECK(items.images[0].size() == 28 * 28);
  const float centre = items.images[0][14 * 28 + 14], corner = items.images[0][0];
  CHECK(centre == doctest::Approx(1.0f));
  CHECK(corner == doctest::Approx(0.0f));
  ItemSet inverted = load_item_folder(root, 28, true);
  CHECK(inverted.images[0][0] == doctest::Approx(1.0f));

  { std::ofstream(root / "squares" / "notes.txt") << "not an image"; }
  CHECK_THROWS_WITH_AS(load_item_folder(root, 28), doctest::Contains("not an image"), Error);
  fs::remove(root / "squares" / "notes.txt");
  fs::create_directories(root / "empty");
  CHECK_THROWS_WITH_AS(load_item_folder(root, 28), doctest::Contains("holds no images"), Error);
  fs::remove_all(root / "empty");
  fs::remove_all(root / "squares");
  CHECK_THROWS_WITH_AS(load_item_folder(root, 28), doctest::Contains("at least two"), Error);
  CHECK_THROWS_WITH_AS(load_item_folder(root / "missing", 28), doctest::Contains("not a folder"), Error);
  fs::remove_all(root);
}

TEST_CASE("SearchModel gives presence logits, patch logits and attention maps of the right shapes") {
  SearchModelConfig config = small_config(2);
  SearchModel model(config);
  model.eval();
  SceneBatch batch = synthetic_batch(3, 2);
  SearchModel::Output none = model.run(batch.canvas, batch.cue);
  CHECK(none.presence_logits.shape() == Shape{2, 2});
  CHECK(none.patch_logits.shape() == Shape{2, 16, 3});
  CHECK_FALSE(none.attention.defined());
  for (auto map : {SearchModel::Map::LastLayer, SearchModel::Map::Rollout}) {
    SearchModel::Output out = model.run(batch.canvas, batch.cue, map);
    REQUIRE(out.attention.shape() == Shape{2, 16});
    std::vector<double> row_sums = out.attention.sum({1}).to_vector<double>();
    for (double s : row_sums) CHECK((s > 0 && s < 1.0 + 1e-5));  // the cue's own column left out
    CHECK(out.presence_logits.to_vector<double>() == none.presence_logits.to_vector<double>());
  }
  CHECK_THROWS_WITH_AS(model.run(batch.cue, batch.cue), doctest::Contains("canvas of shape"), Error);
  // Runs written before stem_channels and patch_presence existed read as what they were.
  nlohmann::json old = to_json(config);
  old.erase("stem_channels"), old.erase("patch_presence");
  const SearchModelConfig read = search_model_config_from_json(old);
  CHECK(read.stem_channels == 16);
  CHECK_FALSE(read.patch_presence);
  config.stem_channels = 8, config.patch_presence = true;
  const SearchModelConfig round_trip = search_model_config_from_json(to_json(config));
  CHECK(round_trip.stem_channels == 8);
  CHECK(round_trip.patch_presence);
  config.patch = 12;
  CHECK_THROWS_AS(SearchModel{config}, Error);
}

TEST_CASE("presence read from the patches pools each patch's Important log-odds") {
  SearchModelConfig config = small_config(1);
  config.patch_presence = true;
  SearchModel model(config);
  model.eval();
  SceneBatch batch = synthetic_batch(3, 2);
  SearchModel::Output out = model.run(batch.canvas, batch.cue);
  const std::vector<double> logits = out.patch_logits.to_vector<double>(), pooled = out.patch_presence_logits.to_vector<double>();
  const std::vector<double> cue = out.cue_presence_logits.to_vector<double>(), both = out.presence_logits.to_vector<double>();
  for (size_t b = 0; b < 2; ++b) {
    double odds = 0;  // Σ over patches of p(Important) / p(not Important); the bias starts at 0
    for (size_t p = 0; p < 16; ++p) {
      const double* z = &logits[(b * 16 + p) * 3];
      odds += std::exp(z[kImportant]) / (std::exp(z[kBackground]) + std::exp(z[kUnimportant]));
    }
    CHECK(pooled[b * 2] == 0);
    CHECK(pooled[b * 2 + 1] == doctest::Approx(std::log(odds)).epsilon(1e-5));
    for (size_t k = 0; k < 2; ++k) CHECK(both[b * 2 + k] == doctest::Approx(0.5 * (cue[b * 2 + k] + pooled[b * 2 + k])));
  }
  // Both read-outs are trained.
  model.train();
  out = model.run(batch.canvas, batch.cue);
  const double with_both = search_loss(out, batch).item();
  out.patch_presence_logits = Tensor();
  CHECK(with_both > search_loss(out, batch).item());
}

TEST_CASE("the attention loss is −log of the cue's last-layer attention on the target in present scenes") {
  SearchModelConfig config = small_config(2);
  config.dropout = 0;
  SearchModel model(config);
  model.eval();
  SceneBatch batch = synthetic_batch(7, 4);
  SearchModel::Output out = model.run(batch.canvas, batch.cue, SearchModel::Map::LastLayer, true);
  REQUIRE(out.cue_attention.shape() == Shape{4, 16});
  CHECK_CLOSE(out.cue_attention.detach(), out.attention, 1e-6, 1e-5);  // the map, with its graph
  const std::vector<double> a = out.cue_attention.to_vector<double>();
  const std::vector<int64_t> labels = batch.patch_labels.to_vector<int64_t>(), present = batch.presence.to_vector<int64_t>();
  double want = 0;
  int64_t count = 0;  // present scenes
  for (size_t b = 0; b < 4; ++b) {
    if (!present[b]) continue;
    double on_target = 0;
    for (size_t p = 0; p < 16; ++p) on_target += labels[b * 16 + p] == kImportant ? a[b * 16 + p] : 0;
    want -= std::log(on_target + 1e-6), ++count;
  }
  REQUIRE(count > 0);
  const double without = search_loss(out, batch).item();
  CHECK(search_loss(out, batch, 0, 2.0).item() == doctest::Approx(without + 2.0 * want / 4).epsilon(1e-5));
  // The attention term alone has a gradient, and it reaches the last layer's query/key projection.
  model.zero_grad();
  (search_loss(out, batch, 0, 1.0) - search_loss(out, batch)).backward();
  bool found = false;
  for (const auto& [name, parameter] : model.named_parameters())
    if (name == "encoder.layers.1.self_attn.in_proj_weight") {
      found = true;
      REQUIRE(parameter.grad().defined());
      CHECK(max(abs(parameter.grad()), {}).item() > 0);
    }
  CHECK(found);
}

TEST_CASE("evaluate scores every scene and patch, and training lowers the loss on a fixed batch") {
  SearchModelConfig config = small_config(1);
  config.dropout = 0;
  SearchModel model(config);
  auto items = std::make_shared<const ItemSet>(synthetic_items());
  SceneDataset scenes(items, {}, {}, 5, 1, 8);
  Evaluation e = evaluate(model, scenes, {}, 3, SearchModel::Map::LastLayer, false);
  CHECK(e.scenes.size() == 8);
  CHECK(e.patches.total == 8 * 16);
  CHECK(e.scenes[1].attention.size() == 16);
  CHECK((e.score() >= 0 && e.score() <= 1));
  CHECK(evaluation_json(e)["by_condition_and_set_size"]["feature"]["4"]["scenes"] == 2);
  // The per-scene Important counts add up to the patch report's confusion matrix.
  int64_t true_positives = 0, false_positives = 0, false_negatives = 0;
  for (const SceneResult& r : e.scenes)
    true_positives += r.important_true_positives, false_positives += r.important_false_positives,
        false_negatives += r.important_false_negatives;
  const auto& confusion = e.patches.confusion;
  CHECK(true_positives == confusion[kImportant][kImportant]);
  CHECK(false_positives == confusion[kBackground][kImportant] + confusion[kUnimportant][kImportant]);
  CHECK(false_negatives == confusion[kImportant][kBackground] + confusion[kImportant][kUnimportant]);
  const nlohmann::json feature4 = evaluation_json(e)["by_condition_and_set_size"]["feature"]["4"];
  CHECK(feature4.contains("important_f1"));
  int64_t present = 0, hits = 0, absent = 0, false_alarms = 0;
  for (const SceneResult& r : e.scenes)
    if (r.condition == Condition::Feature && r.set_size == 4)
      present += r.present, hits += r.present && r.predicted_present, absent += !r.present,
          false_alarms += !r.present && r.predicted_present;
  REQUIRE((present > 0 && absent > 0));
  CHECK(feature4["hit_rate"].get<double>() == doctest::Approx(double(hits) / double(present)));
  CHECK(feature4["false_alarm_rate"].get<double>() == doctest::Approx(double(false_alarms) / double(absent)));
  // Per target category: each scene counted once, under its own target's name and condition.
  const nlohmann::json by_category = evaluation_json(e)["by_condition_and_target_category"];
  std::map<std::pair<std::string, std::string>, int64_t> expected;
  for (size_t i = 0; i < e.scenes.size(); ++i) {
    CHECK(e.scenes[i].target_category == scenes.get(i).target_category);
    ++expected[{to_string(e.scenes[i].condition), items->category_names.at(size_t(e.scenes[i].target_category))}];
  }
  int64_t counted = 0;
  for (const auto& [condition, categories] : by_category.items())
    for (const auto& [name, tally] : categories.items()) {
      CHECK(tally["scenes"].get<int64_t>() == expected[{condition, name}]);
      counted += tally["scenes"].get<int64_t>();
    }
  CHECK(counted == 8);
  CHECK(evaluation_text(e).find("by target category") != std::string::npos);

  std::vector<Scene> list;
  for (size_t i = 0; i < 8; ++i) list.push_back(scenes.get(i));
  SceneBatch batch = collate_scenes(std::move(list), {});
  optim::AdamW optimizer(model.parameters(), {.lr = 3e-3});
  model.train();
  const double first = search_loss(model.run(batch.canvas, batch.cue), batch).item();
  double last = first;
  for (int step = 0; step < 30; ++step) {
    Tensor loss = search_loss(model.run(batch.canvas, batch.cue), batch);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    last = loss.item();
  }
  CHECK(last < 0.5 * first);
}
