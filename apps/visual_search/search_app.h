// heed-search's pieces shared by its subcommands: item pools, scene datasets, batching,
// evaluation and the pictures and reports made from it.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/common/args.h"
#include "apps/common/chart.h"
#include "apps/common/metrics.h"
#include "apps/visual_search/scene.h"
#include "apps/visual_search/search_model.h"
#include "datasets/dataset.h"
#include "distributed/process_group.h"

namespace heed::search {

inline constexpr const char* kAppName = "heed-search";
inline constexpr int kConfigVersion = 1;

// The three disjoint pools scenes are drawn from. Fashion-MNIST: train scenes from its training
// images except every tenth, validation scenes from every tenth, test scenes from its test
// images. An item folder: its images split 80/10/10 within each category.
struct ItemPools {
  ItemSet train, validation, test;
  std::string source;  // "fashion-mnist" or the folder
};
ItemPools load_pools(const std::string& items_folder, int item_size, bool invert, uint64_t seed);
// load_pools(...).test, without reading Fashion-MNIST's training images.
ItemSet load_test_pool(const std::string& items_folder, int item_size, bool invert, uint64_t seed);

// Which scenes a dataset holds: scene i is present when i is odd, of condition
// conditions[(i / 2) % size] and set size set_sizes[(i / 2 / conditions) % size], so every
// mix is balanced; its pixels come from scene_seed(seed, stream, i).
struct SceneMix {
  std::vector<Condition> conditions = {Condition::Feature, Condition::Conjunction};
  std::vector<int> set_sizes = {4, 8, 12, 16};
};
std::vector<int> parse_set_sizes(const std::string& text, int max_size);  // "4,8,12,16"
std::vector<Condition> parse_conditions(const std::string& text);          // feature, conjunction or mix

class SceneDataset : public data::Dataset<Scene> {
 public:
  SceneDataset(std::shared_ptr<const ItemSet> items, SceneOptions options, SceneMix mix, uint64_t seed,
               uint64_t stream, size_t count);
  size_t size() const override { return count_; }
  Scene get(size_t index) const override;
  void set_stream(uint64_t stream) { stream_ = stream; }  // fresh scenes for another epoch
  const ItemSet& items() const { return *items_; }

 private:
  std::shared_ptr<const ItemSet> items_;
  SceneOptions options_;
  SceneMix mix_;
  uint64_t seed_, stream_;
  size_t count_;
};

struct SceneBatch {
  Tensor canvas;        // (B,1,S,S)
  Tensor cue;           // (B,1,cell,cell), the cue centred
  Tensor presence;      // (B) int64: 0 absent, 1 present
  Tensor patch_labels;  // (B,P) int64
  Tensor patch_categories, cue_category;  // (B,P), (B) int64: 2·category + bright (-1: no item)
  std::vector<Scene> scenes;
};
SceneBatch collate_scenes(std::vector<Scene>&& scenes, const SceneOptions& options);
// The batch's tensors moved to `device` (the scenes stay).
void move_to(SceneBatch& batch, Device device);
// The cue image centred on a black cell, as the model takes it.
std::vector<float> pad_cue(const std::vector<float>& cue, int item_size, int cell);

// Cross-entropy of presence (of each presence read-out) + cross-entropy of the patch labels; in training, plus
// category_weight x the auxiliary cross-entropy of the items' and the cue's categories.
Tensor search_loss(const SearchModel::Output& out, const SceneBatch& batch, double category_weight = 0,
                   double attention_weight = 0);

struct SceneResult {
  Condition condition;
  int set_size;
  bool present, predicted_present;
  int64_t target_category;  // index into the item set's category names
  double present_probability;
  bool pointing_hit;  // present scenes: the attention peak is on a target patch
  std::vector<float> attention;
  int important_true_positives = 0, important_false_positives = 0, important_false_negatives = 0;  // patches
};
struct Evaluation {
  double loss = 0;
  std::vector<SceneResult> scenes;
  std::vector<std::string> category_names;  // of the item set the scenes were drawn from
  apps::ClassificationReport patches;  // O / Important / Unimportant over every patch
  double presence_accuracy = 0, pointing_game = 0;
  // Mean of presence accuracy and Important F1: what early stopping watches.
  double score() const;
};
// With a job of several processes, each scores every size-th batch and all of them get the
// whole result; every process must call it with the same model and scenes.
Evaluation evaluate(SearchModel& model, const SceneDataset& scenes, const SceneOptions& options, int64_t batch_size,
                    SearchModel::Map map, bool show_progress, dist::ProcessGroup* job = nullptr);

// Accuracy, pointing game and Important F1 per condition and set size and per condition and target
// category, overall figures, and the patch report.
nlohmann::json evaluation_json(const Evaluation& evaluation);
std::string evaluation_text(const Evaluation& evaluation);
// Presence accuracy against set size, a line per condition.
apps::Chart set_size_chart(const Evaluation& evaluation);
// A grid of scenes: each with its cue, the canvas with the attention map over it, the target
// outlined, and the answer.
void write_examples_png(const std::filesystem::path& file, const std::vector<Scene>& scenes,
                        const std::vector<SceneResult>& results, const SceneOptions& options, int item_size);

// The options that shape scenes and choose items, shared by generate and train.
void add_scene_options(apps::Args& args);
// {"canvas", "grid", "patch", "dim", "items", "invert", "conditions", "set_sizes"} from the
// command line, checked.
nlohmann::json scene_settings_from_args(const apps::Args& args);
SceneMix scene_mix_from_json(const nlohmann::json& settings);

// The run directory's config.json, checked to come from heed-search.
nlohmann::json read_config(const std::filesystem::path& run_dir);
SceneOptions scene_options_from_json(const nlohmann::json& settings);

// The model a run's settings describe.
SearchModelConfig model_config_from_settings(const nlohmann::json& settings);
// Evaluates on test scenes drawn from `pool` (settings: test_scenes, test_set_sizes, map, seed)
// and writes report.txt, metrics.json (with `extra` added), set_size.png and examples.png to out.
// In a job of several processes every one scores a share and rank 0 writes.
void write_test_report(SearchModel& model, const nlohmann::json& settings, const ItemSet& pool,
                       const std::filesystem::path& out, const nlohmann::json& extra,
                       dist::ProcessGroup* job = nullptr);

int generate_command(int argc, const char* const* argv);
int train_command(int argc, const char* const* argv);
int eval_command(int argc, const char* const* argv);
int predict_command(int argc, const char* const* argv);

}  // namespace heed::search
