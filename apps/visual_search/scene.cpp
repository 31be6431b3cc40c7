#include "apps/visual_search/scene.h"

#include <algorithm>
#include <numeric>

#include "apps/common/image.h"
#include "datasets/dataset.h"
#include "datasets/idx.h"
#include "tensor/error.h"

namespace heed::search {

namespace {

// data::SplitMix64 with the draws a scene needs.
struct Rng {
  data::SplitMix64 generator;
  int64_t below(int64_t n) { return int64_t(generator.below(uint64_t(n))); }
  bool coin() { return generator.next() & 1; }
  template <typename T> const T& pick(const std::vector<T>& v) { return v[size_t(below(int64_t(v.size())))]; }
};

const std::vector<std::string> kFashionMnistNames = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                     "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

}  // namespace

std::string to_string(Condition condition) { return condition == Condition::Feature ? "feature" : "conjunction"; }

Condition condition_from_string(const std::string& name) {
  if (name == "feature") return Condition::Feature;
  if (name == "conjunction") return Condition::Conjunction;
  HEED_FAIL("unknown search condition '{}' (feature or conjunction)", name);
}

void ItemSet::index() {
  by_category.assign(category_names.size(), {});
  for (size_t i = 0; i < categories.size(); ++i) by_category[size_t(categories[i])].push_back(int64_t(i));
}

ItemSet ItemSet::subset(const std::vector<int64_t>& indices) const {
  ItemSet out;
  out.item_size = item_size;
  out.category_names = category_names;
  for (int64_t i : indices) {
    out.images.push_back(images[size_t(i)]);
    out.categories.push_back(categories[size_t(i)]);
    out.sources.push_back(sources[size_t(i)]);
  }
  out.index();
  return out;
}

ItemSet load_fashion_mnist(const fs::path& dir, bool train) {
  const std::string prefix = train ? "train" : "t10k";
  const fs::path images_file = dir / (prefix + "-images-idx3-ubyte.gz"), labels_file = dir / (prefix + "-labels-idx1-ubyte.gz");
  std::error_code ec;
  HEED_CHECK(fs::exists(images_file, ec) && fs::exists(labels_file, ec),
             "Fashion-MNIST: no {} in {} (install Debian's dataset-fashion-mnist, or give --items DIR)",
             images_file.filename().string(), dir.string());
  data::IdxArray images = data::read_idx(images_file), labels = data::read_idx(labels_file);
  HEED_CHECK(images.type == data::IdxType::UInt8 && images.shape.size() == 3 && images.shape[1] == images.shape[2],
             "Fashion-MNIST: {} is not a stack of square uint8 images", images_file.string());
  HEED_CHECK(labels.type == data::IdxType::UInt8 && labels.shape.size() == 1 && labels.shape[0] == images.shape[0],
             "Fashion-MNIST: {} does not hold one uint8 label per image", labels_file.string());
  ItemSet set;
  set.item_size = int(images.shape[1]);
  set.category_names = kFashionMnistNames;
  const size_t pixels = size_t(set.item_size) * size_t(set.item_size);
  for (int64_t i = 0; i < images.shape[0]; ++i) {
    const uint8_t label = labels.bytes[size_t(i)];
    HEED_CHECK(label < kFashionMnistNames.size(), "Fashion-MNIST: label {} of image {} is not 0-9", label, i);
    std::vector<float> image(pixels);
    for (size_t p = 0; p < pixels; ++p) image[p] = images.bytes[size_t(i) * pixels + p] / 255.0f;
    set.images.push_back(std::move(image));
    set.categories.push_back(label);
    set.sources.push_back(fmt::format("{}:{}", images_file.filename().string(), i));
  }
  set.index();
  return set;
}

ItemSet load_item_folder(const fs::path& root, int item_size, bool invert) {
  std::error_code ec;
  HEED_CHECK(fs::is_directory(root, ec), "items: {} is not a folder (expected root/<category>/<images>)", root.string());
  ItemSet set;
  set.item_size = item_size;
  std::vector<fs::path> folders;
  for (const auto& entry : fs::directory_iterator(root, ec))
    if (entry.is_directory() && entry.path().filename().string()[0] != '.') folders.push_back(entry.path());
  std::sort(folders.begin(), folders.end());
  for (const fs::path& folder : folders) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(folder, ec))
      if (entry.is_regular_file() && entry.path().filename().string()[0] != '.') files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    HEED_CHECK(!files.empty(), "items: category folder {} holds no images", folder.string());
    const int64_t category = int64_t(set.category_names.size());
    set.category_names.push_back(folder.filename().string());
    for (const fs::path& file : files) {
      apps::GrayImage image = apps::resize(apps::read_gray_image(file), item_size, item_size);
      if (invert)
        for (float& p : image.pixels) p = 1 - p;
      set.images.push_back(std::move(image.pixels));
      set.categories.push_back(category);
      set.sources.push_back(fs::relative(file, root, ec).string());
    }
  }
  HEED_CHECK(set.category_names.size() >= 2, "items: {} has {} category folder(s); visual search needs at least two",
             root.string(), set.category_names.size());
  set.index();
  return set;
}

void check_scene_options(const SceneOptions& o, int item_size) {
  HEED_CHECK(o.grid >= 1 && o.canvas > 0 && o.canvas % o.grid == 0, "scene: canvas {} is not a multiple of the grid {}",
             o.canvas, o.grid);
  const int cell = o.canvas / o.grid;
  HEED_CHECK(cell >= item_size, "scene: cells of {} pixels cannot hold items of {}", cell, item_size);
  HEED_CHECK(o.patch > 0 && cell % o.patch == 0, "scene: patch {} does not divide the cell ({} pixels)", o.patch, cell);
  HEED_CHECK(o.dim > 0 && o.dim < 1, "scene: dim {} is not in (0, 1)", o.dim);
}

uint64_t scene_seed(uint64_t seed, uint64_t stream, uint64_t index) {
  return data::SplitMix64(data::SplitMix64(seed ^ data::SplitMix64(stream).next()).next() ^ index).next();
}

Scene make_scene(const ItemSet& items, const SceneOptions& o, Condition condition, int set_size, bool present,
                 uint64_t seed) {
  check_scene_options(o, items.item_size);
  HEED_CHECK(set_size >= 1 && set_size <= o.grid * o.grid, "scene: set size {} is outside 1..{}", set_size, o.grid * o.grid);
  std::vector<int64_t> target_categories, all_categories;
  for (size_t c = 0; c < items.by_category.size(); ++c) {
    if (!items.by_category[c].empty()) all_categories.push_back(int64_t(c));
    if (items.by_category[c].size() >= 2) target_categories.push_back(int64_t(c));
  }
  HEED_CHECK(!target_categories.empty() && all_categories.size() >= 2,
             "scene: the items need two categories, one with at least two images");
  Rng rng{data::SplitMix64(seed)};
  Scene scene;
  scene.condition = condition, scene.set_size = set_size, scene.present = present;
  scene.target_category = rng.pick(target_categories);
  scene.target_bright = rng.coin();
  std::vector<int64_t> others;
  for (int64_t c : all_categories)
    if (c != scene.target_category) others.push_back(c);

  // The cue and the target: two different exemplars of the target's category.
  const auto& exemplars = items.by_category[size_t(scene.target_category)];
  const int64_t cue_at = rng.below(int64_t(exemplars.size()));
  scene.cue_image = exemplars[size_t(cue_at)];
  auto another_exemplar = [&] {
    int64_t k = rng.below(int64_t(exemplars.size()) - 1);
    return exemplars[size_t(k >= cue_at ? k + 1 : k)];
  };

  // What each item is.
  for (int i = 0; i < set_size; ++i) {
    PlacedItem item;
    if (present && i == 0) {
      item.image = another_exemplar(), item.category = scene.target_category, item.bright = scene.target_bright;
      item.target = true;
    } else if (condition == Condition::Feature || rng.coin()) {  // another category
      item.category = rng.pick(others);
      item.image = rng.pick(items.by_category[size_t(item.category)]);
      item.bright = condition == Condition::Feature ? rng.coin() : scene.target_bright;
    } else {  // the target's category at the other brightness
      item.image = another_exemplar(), item.category = scene.target_category, item.bright = !scene.target_bright;
    }
    scene.items.push_back(item);
  }

  // Where: distinct cells in random order, jittered within the cell.
  const int cell = o.canvas / o.grid, slack = cell - items.item_size;
  std::vector<int> cells(size_t(o.grid * o.grid));
  std::iota(cells.begin(), cells.end(), 0);
  for (size_t i = cells.size() - 1; i > 0; --i) std::swap(cells[i], cells[size_t(rng.below(int64_t(i) + 1))]);
  for (int i = 0; i < set_size; ++i) {
    PlacedItem& item = scene.items[size_t(i)];
    item.x = (cells[size_t(i)] % o.grid) * cell + int(rng.below(slack + 1));
    item.y = (cells[size_t(i)] / o.grid) * cell + int(rng.below(slack + 1));
  }

  // Pixels.
  const int n = items.item_size;
  scene.canvas.assign(size_t(o.canvas) * size_t(o.canvas), 0.0f);
  for (const PlacedItem& item : scene.items) {
    const std::vector<float>& image = items.images[size_t(item.image)];
    const float scale = item.bright ? 1.0f : o.dim;
    for (int y = 0; y < n; ++y)
      for (int x = 0; x < n; ++x)
        scene.canvas[size_t(item.y + y) * o.canvas + size_t(item.x + x)] = image[size_t(y) * n + x] * scale;
  }
  scene.cue = items.images[size_t(scene.cue_image)];
  if (!scene.target_bright)
    for (float& p : scene.cue) p *= o.dim;

  // Patch labels: the item covering at least a quarter of the patch.
  const int side = o.canvas / o.patch;
  scene.patch_labels.assign(size_t(side) * size_t(side), kBackground);
  scene.patch_categories.assign(size_t(side) * size_t(side), -1);
  for (int py = 0; py < side; ++py)
    for (int px = 0; px < side; ++px)
      for (const PlacedItem& item : scene.items) {
        const int w = std::min(px * o.patch + o.patch, item.x + n) - std::max(px * o.patch, item.x);
        const int h = std::min(py * o.patch + o.patch, item.y + n) - std::max(py * o.patch, item.y);
        if (w > 0 && h > 0 && 4 * w * h >= o.patch * o.patch) {
          scene.patch_labels[size_t(py * side + px)] = item.target ? kImportant : kUnimportant;
          scene.patch_categories[size_t(py * side + px)] = 2 * item.category + (item.bright ? 1 : 0);
          if (item.target) scene.target_patches.push_back(py * side + px);
          break;
        }
      }
  return scene;
}

}  // namespace heed::search
