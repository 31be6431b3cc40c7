// heed-search train: fresh scenes every epoch from the training pool, AdamW with warm-up and
// cosine decay, clipping, early stopping on the validation score (mean of present/absent
// accuracy and Important F1), the best checkpoint kept and every epoch resumable; at the end the
// test report, curves, accuracy against set size and example attention maps.
#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "apps/common/chart.h"
#include "apps/common/device.h"
#include "apps/common/distributed.h"
#include "apps/common/files.h"
#include "apps/common/progress.h"
#include "apps/common/run_dir.h"
#include "apps/visual_search/search_app.h"
#include "datasets/dataset.h"
#include "distributed/ddp.h"
#include "optim/optim.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace heed::search {

namespace {

constexpr uint64_t kValidationStream = 1, kTestStream = 2, kFirstTrainStream = 1000;

struct EpochRecord {
  int64_t epoch;
  double train_loss, validation_loss, validation_accuracy, validation_important_f1, lr, seconds;
};

nlohmann::json history_json(const std::vector<EpochRecord>& history) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : history)
    out.push_back({{"epoch", r.epoch}, {"train_loss", r.train_loss}, {"validation_loss", r.validation_loss},
                   {"validation_accuracy", r.validation_accuracy},
                   {"validation_important_f1", r.validation_important_f1}, {"lr", r.lr}, {"seconds", r.seconds}});
  return out;
}

std::vector<EpochRecord> history_from_json(const nlohmann::json& j) {
  std::vector<EpochRecord> history;
  for (const auto& r : j)
    history.push_back({r.at("epoch"), r.at("train_loss"), r.at("validation_loss"), r.at("validation_accuracy"),
                       r.at("validation_important_f1"), r.at("lr"), r.at("seconds")});
  return history;
}

void write_curves(const std::filesystem::path& file, const std::vector<EpochRecord>& history) {
  std::vector<double> epochs, train_loss, val_loss, val_acc, val_f1;
  for (const auto& r : history) {
    epochs.push_back(double(r.epoch));
    train_loss.push_back(r.train_loss), val_loss.push_back(r.validation_loss);
    val_acc.push_back(r.validation_accuracy), val_f1.push_back(r.validation_important_f1);
  }
  apps::Chart loss{"loss", "epoch", "cross-entropy (presence + patches)",
                   {{"train", epochs, train_loss}, {"validation", epochs, val_loss}}};
  apps::Chart accuracy{"validation", "epoch", "score",
                       {{"present/absent accuracy", epochs, val_acc}, {"Important F1", epochs, val_f1}}};
  apps::write_charts_png(file, {loss, accuracy});
}

void add_options(apps::Args& args) {
  args.option("out", "RUN_DIR", "", "run directory to create (or continue with --resume)", true);
  args.option("epochs", "N", "45", "maximum epochs");
  args.option("scenes", "N", "4096", "training scenes per epoch (new ones every epoch)");
  args.option("validation-scenes", "N", "1024", "validation scenes");
  args.option("test-scenes", "N", "10000",
              "test scenes, spread over conditions and --test-set-sizes (1,000 per cell: a figure's standard error ~0.01)");
  args.option("test-set-sizes", "LIST", "1,4,8,12,16", "set sizes of the test scenes");
  args.option("batch", "N", "32", "batch size");
  args.option("lr", "X", "2e-3", "peak learning rate");
  args.option("warmup", "N", "", "warm-up steps (default: half of the first epoch)");
  args.option("weight-decay", "X", "0.05", "AdamW weight decay");
  args.option("patience", "N", "8", "epochs without a better validation score before stopping");
  args.option("seed", "N", "0", "seed of the scenes, initialisation, shuffling and dropout");
  args.option("threads", "N", "0", "CPU threads (0: all)");
  args.option("width", "N", "96", "token width (d_model)");
  args.option("layers", "N", "3", "encoder layers");
  args.option("heads", "N", "4", "attention heads");
  args.option("feedforward", "N", "", "feed-forward size (default 4 x width)");
  args.option("stem-channels", "N", "16", "channels of the stem's first convolution (doubling, up to 4x)");
  args.option("presence", "FROM", "cue+patches", "presence read from the cue token (cue) or also from the patch labels");
  args.option("dropout", "X", "0.1", "dropout in the encoder and on the tokens");
  args.option("category-loss", "X", "1", "weight of the auxiliary item-category loss (0: none)");
  args.option("attention-loss", "X", "2",
              "weight of a loss drawing the cue's last-layer attention onto the target when present (0: none)");
  args.option("map", "KIND", "last", "attention map of the report: last (layer) or rollout");
  args.option("device", "DEV", "cpu", apps::kDeviceHelp);
  args.option("stop-after", "N", "0", "stop after N epochs in this session, as if interrupted (0: never)");
  args.flag("resume", "continue the run in --out from its last checkpoint");
  add_scene_options(args);
}

nlohmann::json settings_from_args(const apps::Args& args) {
  const int64_t width = args.get_int("width");
  nlohmann::json s = scene_settings_from_args(args);
  s.update({{"epochs", args.get_int("epochs")},
            {"scenes", args.get_int("scenes")},
            {"validation_scenes", args.get_int("validation-scenes")},
            {"test_scenes", args.get_int("test-scenes")},
            {"test_set_sizes", parse_set_sizes(args.get("test-set-sizes"), s["grid"].get<int>() * s["grid"].get<int>())},
            {"batch", args.get_int("batch")},
            {"lr", args.get_double("lr")},
            {"warmup", args.given("warmup") ? args.get_int("warmup") : -1},
            {"weight_decay", args.get_double("weight-decay")},
            {"patience", args.get_int("patience")},
            {"seed", args.get_int("seed")},
            {"width", width},
            {"layers", args.get_int("layers")},
            {"heads", args.get_int("heads")},
            {"feedforward", args.given("feedforward") ? args.get_int("feedforward") : 4 * width},
            {"dropout", args.get_double("dropout")},
            {"stem_channels", args.get_int("stem-channels")},
            {"presence", args.get_choice("presence", {"cue", "cue+patches"})},
            {"map", args.get_choice("map", {"last", "rollout"})},
            {"category_loss", args.get_double("category-loss")},
            {"attention_loss", args.get_double("attention-loss")},
            {"clip", 1.0}});
  HEED_CHECK(s["epochs"] > 0 && s["scenes"] > 0 && s["validation_scenes"] > 0 && s["test_scenes"] > 0 &&
                 s["batch"] > 0 && s["category_loss"] >= 0 && s["attention_loss"] >= 0 && s["lr"] > 0 &&
                 s["patience"] > 0 && s["weight_decay"] >= 0 && s["seed"] >= 0,
             "train: --epochs, --scenes, --validation-scenes, --test-scenes, --batch, --lr and --patience must be "
             "positive, --seed, --weight-decay, --category-loss and --attention-loss >= 0");
  return s;
}

}  // namespace

// Used by train and eval: the settings' model.
SearchModelConfig model_config_from_settings(const nlohmann::json& s) {
  SearchModelConfig c;
  c.canvas = s["canvas"], c.cell = s["canvas"].get<int64_t>() / s["grid"].get<int64_t>(), c.item = 28;
  c.patch = s["patch"], c.width = s["width"], c.layers = s["layers"], c.heads = s["heads"];
  c.feedforward = s["feedforward"], c.dropout = s["dropout"];
  c.stem_channels = s.value("stem_channels", c.stem_channels);  // older runs: the defaults, presence from the cue
  c.patch_presence = s.value("presence", "cue") == "cue+patches";
  c.categories = s.value("category_loss", 0.0) > 0 ? s.at("categories").get<int64_t>() : 0;
  return c;
}

// The test report of a model: report.txt, metrics.json, set_size.png, examples.png.
void write_test_report(SearchModel& model, const nlohmann::json& settings, const ItemSet& pool,
                       const std::filesystem::path& out, const nlohmann::json& extra, dist::ProcessGroup* job) {
  const SceneOptions options = scene_options_from_json(settings);
  SceneMix mix = scene_mix_from_json(settings);
  mix.set_sizes = settings["test_set_sizes"].get<std::vector<int>>();
  auto items = std::make_shared<const ItemSet>(pool);
  SceneDataset test(items, options, mix, settings["seed"].get<uint64_t>(), kTestStream, settings["test_scenes"]);
  const auto map = settings["map"] == "rollout" ? SearchModel::Map::Rollout : SearchModel::Map::LastLayer;
  Evaluation e = evaluate(model, test, options, 64, map, true, job);
  if (job && job->rank() != 0) return;
  const std::string text = evaluation_text(e);
  nlohmann::json metrics = evaluation_json(e);
  metrics.update(extra);
  apps::write_file_atomic(out / "report.txt", text);
  apps::write_file_atomic(out / "metrics.json", metrics.dump(2) + "\n");
  apps::write_charts_png(out / "set_size.png", {set_size_chart(e)}, 560, 380);
  std::vector<Scene> scenes;
  std::vector<SceneResult> results;
  for (size_t i = 0; i < test.size() && scenes.size() < 12; i += 7) {  // a spread of conditions and sizes
    scenes.push_back(test.get(i));
    results.push_back(e.scenes[i]);
  }
  write_examples_png(out / "examples.png", scenes, results, options, items->item_size);
  fmt::print("{}\n", text);
}

int train_command(int argc, const char* const* argv) {
  apps::Args args("heed-search train", "Trains the visual-search model on generated scenes and writes a run directory.");
  add_options(args);
  if (!args.parse(argc, argv, 2)) return 0;
  // Under mpirun: one process per rank, each on its part of every batch; rank 0 writes the run.
  auto job = apps::join_training_job(args.get_int("threads"));
  const Device device = apps::select_device(args.get("device"), *job);
  const bool writer = job->rank() == 0;
  const std::filesystem::path out = args.get("out");
  const bool resume = args.is_set("resume");
  std::error_code ec;

  nlohmann::json config, settings;
  if (resume) {
    config = read_config(out);
    settings = config.at("settings");
  } else {
    apps::require_new_run_dir(out, "train");
    job->barrier();  // every rank has checked the directory before rank 0 creates it
    settings = settings_from_args(args);
  }
  const auto seed = settings["seed"].get<uint64_t>();
  const SceneOptions options = scene_options_from_json(settings);
  const SceneMix mix = scene_mix_from_json(settings);
  ItemPools pools = load_pools(settings["items"], 28, settings["invert"], seed);
  auto train_items = std::make_shared<const ItemSet>(pools.train);
  auto validation_items = std::make_shared<const ItemSet>(pools.validation);
  auto train_set = std::make_shared<SceneDataset>(train_items, options, mix, seed, kFirstTrainStream, settings["scenes"]);
  SceneDataset validation(validation_items, options, mix, seed, kValidationStream, settings["validation_scenes"]);

  settings["categories"] = pools.train.category_names.size();
  manual_seed(seed);
  const SearchModelConfig model_config = model_config_from_settings(settings);
  SearchModel model(model_config);
  model.to(device);
  data::DataLoader<Scene, SceneBatch> loader(
      train_set, {.batch_size = settings["batch"], .shuffle = true, .seed = seed, .shard = {job->rank(), job->size()}},
      [options](std::vector<Scene>&& scenes) { return collate_scenes(std::move(scenes), options); });
  dist::DistributedDataParallel ddp(model, apps::gradient_group(job, device));  // --batch stays the global batch
  apps::own_random_stream(*job, seed);
  const int64_t epochs = settings["epochs"], steps_per_epoch = int64_t(loader.num_batches());
  int64_t warmup = settings["warmup"];
  if (warmup < 0) warmup = std::max<int64_t>(1, steps_per_epoch / 2);
  optim::AdamW optimizer(model.parameters(), {.lr = settings["lr"], .weight_decay = settings["weight_decay"]});
  optim::WarmupDecayLR scheduler(optimizer, {.warmup_steps = std::min(warmup, epochs * steps_per_epoch - 1),
                                             .total_steps = epochs * steps_per_epoch});
  optim::EarlyStopping stopper({.mode = optim::Mode::Max, .patience = settings["patience"]});
  optim::CheckpointParts parts{.model = &model, .optimizer = &optimizer, .scheduler = &scheduler,
                               .early_stopping = &stopper};

  if (!resume && writer) {
    std::filesystem::create_directories(out, ec);
    HEED_CHECK(!ec, "train: cannot create {}: {}", out.string(), ec.message());
    config = {{"app", kAppName},
              {"format_version", kConfigVersion},
              {"items", pools.source},
              {"category_names", pools.train.category_names},
              {"model", to_json(model_config)},
              {"settings", settings}};
    apps::write_file_atomic(out / "config.json", config.dump(2) + "\n");
  }

  std::vector<EpochRecord> history;
  int64_t start_epoch = 0, step = 0;
  const std::filesystem::path last = out / "last.safetensors";
  if (resume && std::filesystem::exists(last, ec)) {
    optim::Progress progress = optim::load_checkpoint(last.string(), parts);
    start_epoch = progress.epoch, step = progress.step;
    history = history_from_json(nlohmann::json::parse(progress.extra.at("history")));
    fmt::print(stderr, "resuming {} after epoch {}\n", out.string(), start_epoch);
  }
  fmt::print(stderr, "{}: {} parameters; items {} ({} train / {} validation / {} test images, {} categories); "
             "{} training scenes per epoch, {} validation\n",
             kAppName, model.num_parameters(), pools.source, pools.train.images.size(), pools.validation.images.size(),
             pools.test.images.size(), pools.train.category_names.size(), train_set->size(), validation.size());

  const double clip = settings["clip"], category_weight = settings["category_loss"];
  const double attention_weight = settings.value("attention_loss", 0.0);  // older runs: none
  const int64_t stop_after = args.get_int("stop-after");
  for (int64_t epoch = start_epoch; epoch < epochs && !stopper.should_stop(); ++epoch) {
    if (stop_after > 0 && epoch - start_epoch == stop_after) {
      fmt::print(stderr, "stopping after {} epoch(s) as asked; continue with --resume\n", stop_after);
      return 0;
    }
    const auto epoch_started = std::chrono::steady_clock::now();
    model.train();
    train_set->set_stream(kFirstTrainStream + uint64_t(epoch));
    loader.set_epoch(uint64_t(epoch));
    apps::ProgressBar bar(fmt::format("epoch {}/{}", epoch + 1, epochs), steps_per_epoch);
    double loss_sum = 0;
    int64_t seen = 0;
    for (SceneBatch& batch : loader) {
      move_to(batch, device);
      Tensor loss = search_loss(model.run(batch.canvas, batch.cue, SearchModel::Map::None, attention_weight > 0), batch,
                                category_weight, attention_weight);
      optimizer.zero_grad();
      ddp.set_samples(double(batch.scenes.size()));
      ddp.backward(loss);
      optim::clip_grad_norm_(model.parameters(), clip);
      optimizer.step();
      scheduler.step();
      ++step;
      const double value = loss.item();
      HEED_CHECK(std::isfinite(value), "train: the loss became {} at step {}; try a smaller --lr", value, step);
      const auto size = int64_t(batch.scenes.size());
      loss_sum += value * double(size);
      seen += size;
      bar.advance(1, size, loss_sum / double(seen));
    }
    bar.finish();
    const auto totals = apps::sum_over_job(*job, {loss_sum, double(seen)});
    loss_sum = totals[0], seen = int64_t(totals[1]);
    Evaluation v = evaluate(model, validation, options, 64, SearchModel::Map::None, false, job.get());
    EpochRecord record{epoch + 1,
                       loss_sum / double(seen),
                       v.loss,
                       v.presence_accuracy,
                       v.patches.classes.at(kImportant).f1,
                       scheduler.get_last_lr()[0],
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_started).count()};
    history.push_back(record);
    const bool best = stopper.step(v.score());  // the same on every rank: same model, same data
    if (!writer) continue;
    if (best) model.save((out / "best.safetensors").string());
    fmt::print(stderr, "epoch {}/{}  train loss {:.4f}  val loss {:.4f} present/absent acc {:.4f} Important F1 {:.4f}{}\n",
               epoch + 1, epochs, record.train_loss, record.validation_loss, record.validation_accuracy,
               record.validation_important_f1, best ? "  (best)" : "");
    apps::write_file_atomic(out / "history.json", history_json(history).dump(2) + "\n");
    write_curves(out / "curves.png", history);
    optim::save_checkpoint(last.string(), parts,
                           {.epoch = epoch + 1, .step = step, .extra = {{"history", history_json(history).dump()}}});
  }
  if (writer && stopper.should_stop())
    fmt::print(stderr, "early stop: no better validation score for {} epochs\n", int64_t(settings["patience"]));

  double training_seconds = 0;
  for (const auto& r : history) training_seconds += r.seconds;
  // The best model on the test scenes: rank 0 has the file, every rank scores a share.
  if (writer) model.load((out / "best.safetensors").string());
  if (job->size() > 1) dist::broadcast_state(model, *job);
  write_test_report(model, settings, pools.test, out,
                    {{"best_epoch", stopper.best_step() + 1}, {"best_validation_score", stopper.best()},
                     {"epochs_run", history.size()}, {"training_seconds", training_seconds}, {"items", pools.source}},
                    job.get());
  if (writer) fmt::print("training time {:.1f} s; run directory {}\n", training_seconds, out.string());
  return 0;
}

}  // namespace heed::search
