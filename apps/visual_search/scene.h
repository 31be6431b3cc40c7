// Visual-search scenes: N items on a canvas, a cue naming the target, and the answers a model
// is trained on (present or absent, a label per patch).
//
// A scene is a canvas (default 128 x 128, black) cut into a grid of cells (default 4 x 4, so
// 32 x 32 cells); each item (28 x 28) sits in its own cell, jittered within it, so items never
// overlap. Every item is drawn bright (pixels x 1) or dim (pixels x dim). The cue is another
// exemplar of the target's category, at the target's brightness: the target is the item that
// matches the cue in category and brightness.
//   feature search      distractors are of other categories (any brightness)
//   conjunction search  each distractor shares exactly one of the two: the target's category
//                       (at the other brightness) or its brightness (another category)
// Target present in a scene: once; absent: every item is a distractor.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace heed::search {

namespace fs = std::filesystem;

enum class Condition { Feature, Conjunction };
std::string to_string(Condition condition);  // "feature", "conjunction"
Condition condition_from_string(const std::string& name);  // throws heed::Error on anything else

// Item images, square, values 0 (background) to 1.
struct ItemSet {
  int item_size = 28;
  std::vector<std::string> category_names;
  std::vector<std::vector<float>> images;    // item_size² each, row-major
  std::vector<int64_t> categories;           // per image, index into category_names
  std::vector<std::string> sources;          // where each image came from
  std::vector<std::vector<int64_t>> by_category;  // image indices of each category

  void index();                                          // fills by_category
  ItemSet subset(const std::vector<int64_t>& indices) const;  // indexed
};

// Fashion-MNIST's train (60,000) or test (10,000) images from the IDX files in `dir` (Debian's
// dataset-fashion-mnist puts them in /usr/share/datasets/fashion-mnist).
ItemSet load_fashion_mnist(const fs::path& dir, bool train);
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
// root/<category>/<image files> (any format stb_image reads, any size; resized to item_size x
// item_size). Hidden files are skipped; a file that is not an image, an empty category folder,
// or fewer than two categories: heed::Error. With invert, dark items on a light background
// become light on dark, as Fashion-MNIST's.
ItemSet load_item_folder(const fs::path& root, int item_size, bool invert = false);

struct SceneOptions {
  int canvas = 128, grid = 4, patch = 32;
  float dim = 0.5f;  // a dim item's pixels are multiplied by this
};
// Checks the options against the item size: cells at least an item wide, patches dividing the cell.
void check_scene_options(const SceneOptions& options, int item_size);

enum PatchLabel : int64_t { kBackground = 0, kImportant = 1, kUnimportant = 2 };
inline const std::vector<std::string> kPatchLabelNames = {"O", "Important", "Unimportant"};

struct PlacedItem {
  int64_t image = 0, category = 0;
  int x = 0, y = 0;  // top left on the canvas
  bool bright = true, target = false;
};

struct Scene {
  Condition condition = Condition::Feature;
  int set_size = 0;
  bool present = false;
  int64_t target_category = 0;
  bool target_bright = true;
  std::vector<float> canvas;          // canvas², row-major
  std::vector<float> cue;             // item_size², row-major
  int64_t cue_image = 0;
  std::vector<PlacedItem> items;
  std::vector<int64_t> patch_labels;  // (canvas / patch)², row-major: the label of the item covering
                                      // at least a quarter of the patch, else O
  std::vector<int> target_patches;    // patch indices labelled Important
  std::vector<int64_t> patch_categories;  // of the item covering each patch: 2·category + bright, -1 for none
};

// The same arguments give the same scene. Needs at least two categories with two images each
// for the target (one in the scene, another as the cue); throws heed::Error otherwise or when
// set_size is outside 1..grid².
Scene make_scene(const ItemSet& items, const SceneOptions& options, Condition condition, int set_size, bool present,
                 uint64_t seed);

// A seed for scene `index` of a stream (train epoch, validation, test...), mixed so that
// nearby seeds and indices give unrelated scenes.
uint64_t scene_seed(uint64_t seed, uint64_t stream, uint64_t index);

}  // namespace heed::search
