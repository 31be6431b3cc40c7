#include "apps/visual_search/search_app.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "apps/common/distributed.h"
#include "apps/common/files.h"
#include "apps/common/image.h"
#include "apps/common/progress.h"
#include "apps/common/run_dir.h"
#include "datasets/split.h"
#include "tensor/error.h"

namespace heed::search {

ItemPools load_pools(const std::string& items_folder, int item_size, bool invert, uint64_t seed) {
  ItemPools pools;
  if (items_folder.empty()) {
    ItemSet train = load_fashion_mnist(kFashionMnistDir, true);
    std::vector<int64_t> train_part, validation_part;
    for (int64_t i = 0; i < int64_t(train.images.size()); ++i) (i % 10 == 9 ? validation_part : train_part).push_back(i);
    pools.train = train.subset(train_part);
    pools.validation = train.subset(validation_part);
    pools.test = load_fashion_mnist(kFashionMnistDir, false);
    pools.source = "fashion-mnist";
  } else {
    ItemSet all = load_item_folder(items_folder, item_size, invert);
    for (size_t c = 0; c < all.by_category.size(); ++c)
      HEED_CHECK(all.by_category[c].size() >= 3,
                 "items: category '{}' has {} image(s); each needs at least 3 (train, validation, test)",
                 all.category_names[c], all.by_category[c].size());
    data::Split split = data::stratified_split(all.categories, 0.8, 0.1, seed);
    pools.train = all.subset(split.train);
    pools.validation = all.subset(split.validation);
    pools.test = all.subset(split.test);
    pools.source = items_folder;
  }
  return pools;
}

ItemSet load_test_pool(const std::string& items_folder, int item_size, bool invert, uint64_t seed) {
  return items_folder.empty() ? load_fashion_mnist(kFashionMnistDir, false)
                              : load_pools(items_folder, item_size, invert, seed).test;
}

std::vector<int> parse_set_sizes(const std::string& text, int max_size) {
  std::vector<int> sizes;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    char* end = nullptr;
    const long value = std::strtol(part.c_str(), &end, 10);
    HEED_CHECK(!part.empty() && end && *end == '\0' && value >= 1 && value <= max_size,
               "set sizes '{}': '{}' is not a whole number from 1 to {}", text, part, max_size);
    sizes.push_back(int(value));
  }
  HEED_CHECK(!sizes.empty(), "set sizes: none given");
  return sizes;
}

std::vector<Condition> parse_conditions(const std::string& text) {
  if (text == "mix") return {Condition::Feature, Condition::Conjunction};
  return {condition_from_string(text)};
}

SceneDataset::SceneDataset(std::shared_ptr<const ItemSet> items, SceneOptions options, SceneMix mix, uint64_t seed,
                           uint64_t stream, size_t count)
    : items_(std::move(items)), options_(options), mix_(std::move(mix)), seed_(seed), stream_(stream), count_(count) {
  HEED_CHECK(items_ != nullptr && !mix_.conditions.empty() && !mix_.set_sizes.empty(), "SceneDataset: nothing to draw");
  check_scene_options(options_, items_->item_size);
}

Scene SceneDataset::get(size_t index) const {
  HEED_CHECK(index < count_, "SceneDataset: index {} out of range ({} scenes)", index, count_);
  const size_t kinds = mix_.conditions.size();
  const Condition condition = mix_.conditions[(index / 2) % kinds];
  const int set_size = mix_.set_sizes[(index / 2 / kinds) % mix_.set_sizes.size()];
  return make_scene(*items_, options_, condition, set_size, index % 2 == 1, scene_seed(seed_, stream_, index));
}

std::vector<float> pad_cue(const std::vector<float>& cue, int item_size, int cell) {
  std::vector<float> out(size_t(cell) * size_t(cell), 0.0f);
  const int offset = (cell - item_size) / 2;
  for (int y = 0; y < item_size; ++y)
    std::copy_n(&cue[size_t(y) * item_size], item_size, &out[size_t(y + offset) * cell + size_t(offset)]);
  return out;
}

SceneBatch collate_scenes(std::vector<Scene>&& scenes, const SceneOptions& options) {
  const int64_t batch = int64_t(scenes.size()), side = options.canvas, cell = options.canvas / options.grid;
  const int item_size = int(std::lround(std::sqrt(double(scenes.at(0).cue.size()))));
  std::vector<float> canvas, cue;
  std::vector<int64_t> presence, labels, categories, cue_category;
  canvas.reserve(size_t(batch * side * side));
  for (const Scene& s : scenes) {
    canvas.insert(canvas.end(), s.canvas.begin(), s.canvas.end());
    std::vector<float> padded = pad_cue(s.cue, item_size, int(cell));
    cue.insert(cue.end(), padded.begin(), padded.end());
    presence.push_back(s.present ? 1 : 0);
    labels.insert(labels.end(), s.patch_labels.begin(), s.patch_labels.end());
    for (int64_t c : s.patch_categories) categories.push_back(c);
    cue_category.push_back(2 * s.target_category + (s.target_bright ? 1 : 0));
  }
  const int64_t patches = int64_t(scenes[0].patch_labels.size());
  return {from_vector(canvas, {batch, 1, side, side}), from_vector(cue, {batch, 1, cell, cell}),
          from_vector(presence, {batch}), from_vector(labels, {batch, patches}),
          from_vector(categories, {batch, patches}), from_vector(cue_category, {batch}), std::move(scenes)};
}

void move_to(SceneBatch& batch, Device device) {
  for (Tensor* t : {&batch.canvas, &batch.cue, &batch.presence, &batch.patch_labels, &batch.patch_categories,
                    &batch.cue_category})
    *t = t->to(device);
}

Tensor search_loss(const SearchModel::Output& out, const SceneBatch& batch, double category_weight,
                   double attention_weight) {
  const int64_t b = batch.patch_labels.size(0), p = batch.patch_labels.size(1);
  Tensor loss = cross_entropy(out.cue_presence_logits, batch.presence) +
                cross_entropy(reshape(out.patch_logits, {b * p, 3}), reshape(batch.patch_labels, {b * p}));
  if (out.patch_presence_logits.defined()) loss = loss + cross_entropy(out.patch_presence_logits, batch.presence);
  if (category_weight > 0 && out.patch_category_logits.defined()) {
    const int64_t k = out.cue_category_logits.size(1);
    loss = loss + (cross_entropy(reshape(out.patch_category_logits, {b * p, k}), reshape(batch.patch_categories, {b * p}),
                                 Tensor(), -1) +
                   cross_entropy(out.cue_category_logits, batch.cue_category)) *
                      category_weight;
  }
  if (attention_weight > 0 && out.cue_attention.defined()) {
    // −log of the cue's attention on the target's patches in present scenes, 0 in absent ones,
    // averaged over the scenes (as the cross-entropies are, so that data-parallel ranks agree).
    const Tensor target = eq(batch.patch_labels, scalar_like(batch.patch_labels, kImportant));
    Tensor on_target = sum(out.cue_attention * target.to(out.cue_attention.dtype()), {1});
    Tensor present = batch.presence.to(on_target.dtype());
    loss = loss - mean(log(on_target + 1e-6) * present) * attention_weight;
  }
  return loss;
}

double Evaluation::score() const { return 0.5 * (presence_accuracy + patches.classes.at(kImportant).f1); }

namespace {
// Every process's results of its own scenes, summed over the job so that each has all of them
// (a scene nobody scored here is all zeros): per scene its fields, patch labels and attention.
void share_results(dist::ProcessGroup& job, const std::vector<bool>& scored, std::vector<SceneResult>& results,
                   std::vector<int64_t>& truth, std::vector<int64_t>& predicted, double& loss_sum, bool with_attention,
                   size_t patches) {
  const size_t fields = 8, width = fields + 2 * patches + (with_attention ? patches : 0);
  std::vector<double> packed(results.size() * width + 1, 0.0);
  for (size_t i = 0; i < results.size(); ++i) {
    const SceneResult& r = results[i];
    if (!scored[i]) continue;
    double* p = packed.data() + i * width;
    p[0] = double(r.condition), p[1] = r.set_size, p[2] = r.present, p[3] = r.predicted_present;
    p[4] = r.present_probability, p[5] = r.pointing_hit, p[6] = 1, p[7] = double(r.target_category);
    for (size_t k = 0; k < patches; ++k) {
      p[fields + k] = double(truth[i * patches + k]);
      p[fields + patches + k] = double(predicted[i * patches + k]);
      if (with_attention) p[fields + 2 * patches + k] = r.attention[k];
    }
  }
  packed.back() = loss_sum;
  packed = apps::sum_over_job(job, std::move(packed));
  for (size_t i = 0; i < results.size(); ++i) {
    const double* p = packed.data() + i * width;
    HEED_CHECK(p[6] == 1, "evaluate: scene {} was scored by {} processes, expected 1", i, p[6]);
    SceneResult& r = results[i];
    r.condition = Condition(int(p[0])), r.set_size = int(p[1]), r.present = p[2] != 0, r.predicted_present = p[3] != 0;
    r.present_probability = p[4], r.pointing_hit = p[5] != 0, r.target_category = int64_t(p[7]);
    r.attention.clear();
    for (size_t k = 0; k < patches; ++k) {
      truth[i * patches + k] = int64_t(p[fields + k]);
      predicted[i * patches + k] = int64_t(p[fields + patches + k]);
      if (with_attention) r.attention.push_back(float(p[fields + 2 * patches + k]));
    }
  }
  loss_sum = packed.back();
}
}  // namespace

Evaluation evaluate(SearchModel& model, const SceneDataset& scenes, const SceneOptions& options, int64_t batch_size,
                    SearchModel::Map map, bool show_progress, dist::ProcessGroup* job) {
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const int64_t n = int64_t(scenes.size()), rank = job ? job->rank() : 0, ranks = job ? job->size() : 1;
  const Device device = model.parameters().front().device();
  const int64_t per_batch = std::max<int64_t>(1, std::min(batch_size, (n + ranks - 1) / ranks));  // a batch for each
  const int64_t batches = (n + per_batch - 1) / per_batch;
  const auto patches = size_t((options.canvas / options.patch) * (options.canvas / options.patch));
  Evaluation out;
  out.scenes.resize(size_t(n));
  out.category_names = scenes.items().category_names;
  std::vector<int64_t> truth(size_t(n) * patches), predicted(truth.size());
  std::vector<bool> scored(size_t(n), false);  // by this process
  double loss_sum = 0;
  int64_t seen = 0;
  std::unique_ptr<apps::ProgressBar> bar;
  if (show_progress) bar = std::make_unique<apps::ProgressBar>("evaluating", (batches - rank + ranks - 1) / ranks);
  for (int64_t b = rank; b < batches; b += ranks) {
    const int64_t start = b * per_batch, stop = std::min(n, start + per_batch);
    std::vector<Scene> part;
    for (int64_t i = start; i < stop; ++i) part.push_back(scenes.get(size_t(i)));
    SceneBatch batch = collate_scenes(std::move(part), options);
    move_to(batch, device);
    SearchModel::Output result = model.run(batch.canvas, batch.cue, map);
    loss_sum += search_loss(result, batch).item() * double(batch.scenes.size());
    std::vector<double> probability = softmax(result.presence_logits, 1).select(1, 1).to_vector<double>();
    std::vector<int64_t> labels = argmax(result.patch_logits, 2).to_vector<int64_t>();
    std::vector<float> attention = result.attention.defined() ? result.attention.to_vector<float>() : std::vector<float>();
    HEED_CHECK(batch.scenes[0].patch_labels.size() == patches, "evaluate: {} patches per scene, expected {}",
               batch.scenes[0].patch_labels.size(), patches);
    for (size_t k = 0; k < batch.scenes.size(); ++k) {
      const Scene& s = batch.scenes[k];
      SceneResult r{s.condition, s.set_size, s.present, probability[k] >= 0.5, s.target_category, probability[k],
                    false, {}};
      if (!attention.empty()) {
        r.attention.assign(attention.begin() + long(k * patches), attention.begin() + long((k + 1) * patches));
        if (s.present) {
          const int peak = int(std::max_element(r.attention.begin(), r.attention.end()) - r.attention.begin());
          r.pointing_hit = std::find(s.target_patches.begin(), s.target_patches.end(), peak) != s.target_patches.end();
        }
      }
      const size_t i = size_t(start) + k;
      std::copy(s.patch_labels.begin(), s.patch_labels.end(), truth.begin() + long(i * patches));
      std::copy(labels.begin() + long(k * patches), labels.begin() + long((k + 1) * patches),
                predicted.begin() + long(i * patches));
      out.scenes[i] = std::move(r);
      scored[i] = true;
    }
    seen += int64_t(batch.scenes.size());
    if (bar) bar->advance(1, int64_t(batch.scenes.size()), loss_sum / double(seen));
  }
  if (bar) bar->finish();
  if (ranks > 1) share_results(*job, scored, out.scenes, truth, predicted, loss_sum, map != SearchModel::Map::None, patches);
  for (size_t i = 0; i < out.scenes.size(); ++i) {
    SceneResult& r = out.scenes[i];
    for (size_t k = i * patches; k < (i + 1) * patches; ++k) {
      const bool is = truth[k] == kImportant, said = predicted[k] == kImportant;
      r.important_true_positives += is && said, r.important_false_positives += !is && said;
      r.important_false_negatives += is && !said;
    }
  }
  int64_t hits = 0, present_scenes = 0, correct = 0;
  for (const SceneResult& r : out.scenes) hits += r.pointing_hit, present_scenes += r.present,
                                          correct += r.present == r.predicted_present;
  out.loss = loss_sum / double(std::max<int64_t>(n, 1));
  out.patches = apps::classification_report(truth, predicted, kPatchLabelNames);
  out.presence_accuracy = double(correct) / double(std::max<int64_t>(n, 1));
  out.pointing_game = double(hits) / double(std::max<int64_t>(present_scenes, 1));
  if (was_training) model.train();
  return out;
}

namespace {

struct Tally {
  int64_t scenes = 0, correct = 0, present = 0, hits = 0, true_positives = 0, false_positives = 0, false_negatives = 0;
  int64_t detected = 0, false_alarms = 0;  // present scenes called present, absent ones called present
  double accuracy() const { return double(correct) / double(scenes); }
  double hit_rate() const { return present ? double(detected) / double(present) : 0.0; }
  double false_alarm_rate() const { return scenes > present ? double(false_alarms) / double(scenes - present) : 0.0; }
  double pointing() const { return present ? double(hits) / double(present) : 0.0; }
  double important_f1() const {  // 0 where no patch is or is said to be Important
    const int64_t denominator = 2 * true_positives + false_positives + false_negatives;
    return denominator ? 2.0 * double(true_positives) / double(denominator) : 0.0;
  }
};

// Per condition and group_of(scene).
template <typename GroupOf>
auto tallies(const Evaluation& e, GroupOf group_of) {
  std::map<std::pair<std::string, decltype(group_of(e.scenes.front()))>, Tally> out;
  for (const SceneResult& r : e.scenes) {
    Tally& t = out[{to_string(r.condition), group_of(r)}];
    ++t.scenes, t.correct += r.present == r.predicted_present, t.present += r.present, t.hits += r.pointing_hit;
    t.true_positives += r.important_true_positives, t.false_positives += r.important_false_positives;
    t.false_negatives += r.important_false_negatives;
    t.detected += r.predicted_present && r.present, t.false_alarms += r.predicted_present && !r.present;
  }
  return out;
}

auto by_set_size(const Evaluation& e) {
  return tallies(e, [](const SceneResult& r) { return r.set_size; });
}

auto by_target_category(const Evaluation& e) {
  return tallies(e, [&e](const SceneResult& r) { return e.category_names.at(size_t(r.target_category)); });
}

nlohmann::json tally_json(const Tally& t) {
  return {{"scenes", t.scenes},           {"presence_accuracy", t.accuracy()},
          {"hit_rate", t.hit_rate()},     {"false_alarm_rate", t.false_alarm_rate()},
          {"pointing_game", t.pointing()}, {"important_f1", t.important_f1()}};
}

std::string tally_table(const std::string& group_name, const auto& rows) {
  std::string out = fmt::format("{:<12} {:>12} {:>7} {:>9} {:>9} {:>13} {:>9} {:>13}\n", "condition", group_name,
                                "scenes", "accuracy", "hit rate", "false alarms", "pointing", "Important F1");
  for (const auto& [key, t] : rows)
    out += fmt::format("{:<12} {:>12} {:>7} {:>9.4f} {:>9.4f} {:>13.4f} {:>9.4f} {:>13.4f}\n", key.first, key.second,
                       t.scenes, t.accuracy(), t.hit_rate(), t.false_alarm_rate(), t.pointing(), t.important_f1());
  return out;
}

}  // namespace

nlohmann::json evaluation_json(const Evaluation& e) {
  nlohmann::json by_size = nlohmann::json::object(), by_category = nlohmann::json::object();
  for (const auto& [key, t] : by_set_size(e)) by_size[key.first][std::to_string(key.second)] = tally_json(t);
  for (const auto& [key, t] : by_target_category(e)) by_category[key.first][key.second] = tally_json(t);
  return {{"scenes", e.scenes.size()},
          {"loss", e.loss},
          {"presence_accuracy", e.presence_accuracy},
          {"pointing_game", e.pointing_game},
          {"important_f1", e.patches.classes.at(kImportant).f1},
          {"by_condition_and_set_size", by_size},
          {"by_condition_and_target_category", by_category},
          {"patches", apps::report_to_json(e.patches)}};
}

std::string evaluation_text(const Evaluation& e) {
  std::string out = fmt::format("{} scenes: present/absent accuracy {:.4f}, pointing game {:.4f}, Important F1 {:.4f}\n\n",
                                e.scenes.size(), e.presence_accuracy, e.pointing_game,
                                e.patches.classes.at(kImportant).f1);
  out += tally_table("set size", by_set_size(e)) + "\nby target category, all set sizes\n" +
         tally_table("target", by_target_category(e));
  out += "\npatch labels\n" + apps::format_report(e.patches) + "\nconfusion matrix (rows: true, columns: predicted)\n" +
         apps::format_confusion_matrix(e.patches);
  return out;
}

apps::Chart set_size_chart(const Evaluation& e) {
  apps::Chart chart{"search accuracy", "set size", "present/absent accuracy", {}};
  std::map<std::string, apps::Series> lines;
  for (const auto& [key, t] : by_set_size(e)) {
    apps::Series& s = lines[key.first];
    s.name = key.first + " search";
    s.x.push_back(key.second);
    s.y.push_back(t.accuracy());
  }
  for (auto& [name, s] : lines) chart.series.push_back(std::move(s));
  return chart;
}

void write_examples_png(const std::filesystem::path& file, const std::vector<Scene>& scenes,
                        const std::vector<SceneResult>& results, const SceneOptions& options, int item_size) {
  HEED_CHECK(!scenes.empty() && scenes.size() == results.size(), "examples: {} scenes, {} results", scenes.size(),
             results.size());
  const int scale = 2, canvas = options.canvas * scale, pad = 10, cue_size = item_size * scale;
  const int tile_w = cue_size + pad + canvas, tile_h = canvas + 28, columns = 4;
  const int rows = int((scenes.size() + columns - 1) / columns);
  apps::Image sheet = apps::blank_image(columns * (tile_w + 2 * pad) + pad, rows * (tile_h + pad) + pad + 20);
  apps::draw_text(sheet, "cue | scene with the model's attention (red = most); green box: the target", pad, 6, {40, 40, 40}, 1);
  const int side = options.canvas / options.patch;
  for (size_t i = 0; i < scenes.size(); ++i) {
    const Scene& s = scenes[i];
    const SceneResult& r = results[i];
    const int x0 = pad + int(i % columns) * (tile_w + 2 * pad), y0 = 20 + pad + int(i / columns) * (tile_h + pad);
    apps::paste(sheet, apps::to_rgb({item_size, item_size, s.cue}, scale), x0, y0);
    apps::Image picture = apps::to_rgb({options.canvas, options.canvas, s.canvas}, scale);
    if (!r.attention.empty()) apps::overlay_heatmap(picture, r.attention, side, side);
    for (const PlacedItem& item : s.items)
      if (item.target)
        apps::draw_rectangle(picture, item.x * scale - 1, item.y * scale - 1, (item.x + item_size) * scale + 1,
                             (item.y + item_size) * scale + 1, {40, 220, 40}, 2);
    apps::paste(sheet, picture, x0 + cue_size + pad, y0);
    const bool right = r.present == r.predicted_present;
    apps::draw_text(sheet,
                    fmt::format("{} {}: {} p={:.2f} {}", to_string(s.condition), s.set_size,
                                r.predicted_present ? "present" : "absent", r.present_probability,
                                right ? "(right)" : "(WRONG)"),
                    x0, y0 + canvas + 8, right ? std::array<uint8_t, 3>{40, 40, 40} : std::array<uint8_t, 3>{200, 30, 30});
  }
  apps::write_png(file, sheet);
}

nlohmann::json read_config(const std::filesystem::path& run_dir) {
  return apps::read_run_config(run_dir, kAppName, kConfigVersion);
}

void add_scene_options(apps::Args& args) {
  args.option("items", "DIR", "", "item images, root/<category>/<images> (default: Fashion-MNIST)");
  args.flag("invert", "invert the item images (dark items on a light background)");
  args.option("condition", "KIND", "mix", "feature, conjunction or mix (half each)");
  args.option("set-sizes", "LIST", "4,8,12,16", "set sizes, drawn in turn");
  args.option("canvas", "N", "128", "canvas side in pixels");
  args.option("grid", "N", "4", "grid cells per side (each holds at most one item)");
  args.option("patch", "N", "32", "patch side in pixels (a token per patch; 32: one per cell)");
  args.option("dim", "X", "0.5", "brightness of a dim item, relative to a bright one");
}

nlohmann::json scene_settings_from_args(const apps::Args& args) {
  SceneOptions o{int(args.get_int("canvas")), int(args.get_int("grid")), int(args.get_int("patch")),
                 float(args.get_double("dim"))};
  check_scene_options(o, 28);
  const std::string conditions = args.get_choice("condition", {"feature", "conjunction", "mix"});
  std::vector<int> sizes = parse_set_sizes(args.get("set-sizes"), o.grid * o.grid);
  std::string items = args.get("items");
  if (!items.empty()) items = std::filesystem::absolute(items).string();
  return {{"canvas", o.canvas}, {"grid", o.grid},   {"patch", o.patch},           {"dim", o.dim},
          {"items", items},     {"invert", args.is_set("invert")}, {"conditions", conditions}, {"set_sizes", sizes}};
}

SceneMix scene_mix_from_json(const nlohmann::json& s) {
  try {
    return {parse_conditions(s.at("conditions").get<std::string>()), s.at("set_sizes").get<std::vector<int>>()};
  } catch (const nlohmann::json::exception& e) {
    HEED_FAIL("scene settings in config.json: {}", e.what());
  }
}

SceneOptions scene_options_from_json(const nlohmann::json& s) {
  try {
    return {s.at("canvas").get<int>(), s.at("grid").get<int>(), s.at("patch").get<int>(), s.at("dim").get<float>()};
  } catch (const nlohmann::json::exception& e) {
    HEED_FAIL("scene settings in config.json: {}", e.what());
  }
}

}  // namespace heed::search
