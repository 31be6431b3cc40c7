// heed-text train: corpus -> split -> tokenizer -> model, trained with AdamW, warm-up + cosine
// decay, clipping and early stopping on validation macro-F1; a checkpoint after every epoch.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <map>

#include "apps/common/args.h"
#include "apps/common/chart.h"
#include "apps/common/device.h"
#include "apps/common/distributed.h"
#include "apps/common/files.h"
#include "apps/common/progress.h"
#include "apps/common/run_dir.h"
#include "apps/text_classifier/text_app.h"
#include "datasets/dataset.h"
#include "distributed/ddp.h"
#include "optim/optim.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace heed::text {

namespace {

struct EpochRecord {
  int64_t epoch;
  double train_loss, train_accuracy, validation_loss, validation_accuracy, validation_macro_f1, lr, seconds;
};

nlohmann::json history_json(const std::vector<EpochRecord>& history) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : history)
    out.push_back({{"epoch", r.epoch}, {"train_loss", r.train_loss}, {"train_accuracy", r.train_accuracy},
                   {"validation_loss", r.validation_loss}, {"validation_accuracy", r.validation_accuracy},
                   {"validation_macro_f1", r.validation_macro_f1}, {"lr", r.lr}, {"seconds", r.seconds}});
  return out;
}

std::vector<EpochRecord> history_from_json(const nlohmann::json& j) {
  std::vector<EpochRecord> history;
  for (const auto& r : j)
    history.push_back({r.at("epoch"), r.at("train_loss"), r.at("train_accuracy"), r.at("validation_loss"),
                       r.at("validation_accuracy"), r.at("validation_macro_f1"), r.at("lr"), r.at("seconds")});
  return history;
}

void write_curves(const fs::path& file, const std::vector<EpochRecord>& history) {
  std::vector<double> epochs, train_loss, val_loss, train_acc, val_acc;
  for (const auto& r : history) {
    epochs.push_back(double(r.epoch));
    train_loss.push_back(r.train_loss), val_loss.push_back(r.validation_loss);
    train_acc.push_back(r.train_accuracy), val_acc.push_back(r.validation_accuracy);
  }
  apps::Chart loss{"loss", "epoch", "cross-entropy", {{"train", epochs, train_loss}, {"validation", epochs, val_loss}}};
  apps::Chart accuracy{"accuracy", "epoch", "accuracy", {{"train", epochs, train_acc}, {"validation", epochs, val_acc}}};
  apps::write_charts_png(file, {loss, accuracy});
}

// Replaces each text token (not PAD or CLS) by UNK with probability p, drawn from `seed`.
Tensor drop_words(const Tensor& ids, double p, uint64_t seed) {
  std::vector<int64_t> values = ids.contiguous().to_vector<int64_t>();
  data::SplitMix64 rng(seed);
  const auto threshold = uint64_t(p * 18446744073709551616.0);
  for (int64_t& id : values)
    if (id > data::Tokenizer::kCls && rng.next() < threshold) id = data::Tokenizer::kUnk;
  return from_vector(values, ids.shape());
}

void add_options(apps::Args& args) {
  args.option("data", "DIR|FILE", "", "corpus: a folder per class, or .csv / .tsv / .jsonl (label, text)");
  args.option("out", "RUN_DIR", "", "run directory to create (or continue with --resume)", true);
  args.option("model", "KIND", "transformer", "transformer, lstm or bow (TF-IDF logistic regression)");
  args.option("epochs", "N", "8", "maximum epochs");
  args.option("batch", "N", "32", "batch size");
  args.option("lr", "X", "", "peak learning rate (default: transformer/lstm 2e-3, bow 1e-2)");
  args.option("warmup", "N", "", "warm-up steps (default: a third of the first epoch)");
  args.option("weight-decay", "X", "0.01", "AdamW weight decay");
  args.option("patience", "N", "3", "epochs without a better validation macro-F1 before stopping");
  args.option("seed", "N", "0", "seed of the split, initialisation, shuffling and dropout");
  args.option("threads", "N", "1", "CPU threads (0: all; 1 is fastest on a busy machine)");
  args.option("max-length", "N", "256", "tokens per text, the first one [CLS]");
  args.option("embed", "N", "64", "embedding size (d_model)");
  args.option("layers", "N", "1", "encoder (or LSTM) layers");
  args.option("heads", "N", "4", "attention heads");
  args.option("feedforward", "N", "", "feed-forward size (default 4 x embed)");
  args.option("dropout", "X", "0.3", "dropout on the embeddings and the pooled vector");
  args.option("pooling", "KIND", "attention", "transformer pooling: attention, or attention+mean");
  args.option("word-dropout", "X", "0", "chance that a training token is replaced by [UNK] (transformer, lstm)");
  args.option("label-smoothing", "X", "0", "label smoothing of the training loss");
  args.option("tokenizer", "KIND", "", "word or bpe (default: bpe; word for bow)");
  args.option("vocab", "N", "", "largest vocabulary (default: 8000; 20000 for bow)");
  args.option("email", "MODE", "auto", "auto, on or off: read texts as RFC 822 emails (subject + body)");
  args.option("device", "DEV", "cpu", apps::kDeviceHelp);
  args.option("limit", "N", "0", "use at most N examples (stratified), for quick runs; 0: all");
  args.option("stop-after", "N", "0", "stop after N epochs in this session, as if interrupted (0: never)");
  args.flag("resume", "continue the run in --out from its last checkpoint");
}

// The settings of a new run, from the command line.
nlohmann::json settings_from_args(const apps::Args& args) {
  std::string model = args.get_choice("model", {"transformer", "lstm", "bow"});
  int64_t embed = args.get_int("embed");
  nlohmann::json s = {
      {"model", model},
      {"epochs", args.get_int("epochs")},
      {"batch", args.get_int("batch")},
      {"lr", args.given("lr") ? args.get_double("lr") : (model == "bow" ? 1e-2 : 2e-3)},
      {"warmup", args.given("warmup") ? args.get_int("warmup") : -1},
      {"weight_decay", args.get_double("weight-decay")},
      {"patience", args.get_int("patience")},
      {"seed", args.get_int("seed")},
      {"max_length", args.get_int("max-length")},
      {"embed", embed},
      {"layers", args.get_int("layers")},
      {"heads", args.get_int("heads")},
      {"feedforward", args.given("feedforward") ? args.get_int("feedforward") : 4 * embed},
      {"dropout", args.get_double("dropout")},
      {"pooling", args.get_choice("pooling", {"attention", "attention+mean"})},
      {"word_dropout", args.get_double("word-dropout")},
      {"label_smoothing", args.get_double("label-smoothing")},
      {"tokenizer", args.given("tokenizer") ? args.get_choice("tokenizer", {"word", "bpe"}) : model == "bow" ? "word" : "bpe"},
      {"vocab", args.given("vocab") ? args.get_int("vocab") : model == "bow" ? 20000 : 8000},
      {"email", args.get_choice("email", {"auto", "on", "off"})},
      {"limit", args.get_int("limit")},
      {"clip", 1.0}};
  HEED_CHECK(s["epochs"] > 0 && s["batch"] > 0 && s["lr"] > 0 && s["patience"] > 0 && s["vocab"] > 3 &&
                 s["weight_decay"] >= 0 && s["seed"] >= 0 && s["max_length"] > 1,
             "train: --epochs, --batch, --lr, --patience, --max-length must be positive, --vocab > 3, --seed and "
             "--weight-decay >= 0");
  HEED_CHECK(s["word_dropout"] >= 0 && s["word_dropout"] < 1 && s["label_smoothing"] >= 0 && s["label_smoothing"] < 1,
             "train: --word-dropout and --label-smoothing must be in [0, 1)");
  return s;
}

}  // namespace

int train_command(int argc, const char* const* argv) {
  apps::Args args("heed-text train", "Trains a text classifier on a labelled corpus and writes a run directory.");
  add_options(args);
  if (!args.parse(argc, argv, 2)) return 0;
  // Under mpirun: one process per rank, each on its part of every batch; rank 0 writes the run.
  auto job = apps::join_training_job(args.get_int("threads"));
  const Device device = apps::select_device(args.get("device"), *job);
  const bool writer = job->rank() == 0;
  const fs::path out = args.get("out");
  const bool resume = args.is_set("resume");
  std::error_code ec;

  // Settings: from the command line for a new run, from config.json when resuming.
  nlohmann::json config, settings;
  if (resume) {
    config = read_config(out);
    settings = config.at("settings");
  } else {
    apps::require_new_run_dir(out, "train");
    job->barrier();  // every rank has checked the directory before rank 0 creates it
    HEED_CHECK(args.given("data"), "train: missing --data DIR|FILE (see --help)");
    settings = settings_from_args(args);
  }
  const fs::path data_path = args.given("data") ? fs::absolute(args.get("data")) : fs::path(config.at("data"));
  const auto seed = settings["seed"].get<uint64_t>();
  const std::string kind = settings["model"];

  // Corpus, subset, split.
  bool email = false;
  data::TextCorpus corpus = load_corpus(data_path, settings["email"], &email);
  std::vector<int64_t> subset = stratified_subset(corpus.labels, settings["limit"], seed);
  std::vector<int64_t> labels;
  std::map<int64_t, int64_t> per_class;
  for (int64_t i : subset) labels.push_back(corpus.labels[i]), ++per_class[corpus.labels[i]];
  HEED_CHECK(per_class.size() >= 2, "train: corpus {} has a single class ('{}'); a classifier needs at least two",
             data_path.string(), corpus.label_names[per_class.begin()->first]);
  for (auto [label, count] : per_class)
    HEED_CHECK(count >= 3, "train: class '{}' has {} example(s); each class needs at least 3 (train, validation, test)",
               corpus.label_names[label], count);
  if (resume)
    HEED_CHECK(config.at("label_names").get<std::vector<std::string>>() == corpus.label_names,
               "train --resume: the corpus's classes differ from the run's");
  data::Split split = resume ? data::load_split(out / "split.json") : data::stratified_split(labels, 0.8, 0.1, seed);
  data::check_split(split, labels.size());

  // Tokenizer, trained on the training part only.
  std::unique_ptr<data::Tokenizer> tokenizer;
  if (resume) {
    tokenizer = data::Tokenizer::load(out / "tokenizer.json");
  } else {
    std::vector<std::string> train_texts;
    for (int64_t i : split.train) train_texts.push_back(corpus.texts[subset[i]]);
    if (settings["tokenizer"] == "word")
      tokenizer = std::make_unique<data::WordTokenizer>(
          data::WordTokenizer::train(train_texts, {.min_frequency = 2, .max_size = settings["vocab"]}));
    else
      tokenizer = std::make_unique<data::BpeTokenizer>(
          data::BpeTokenizer::train(train_texts, {.vocab_size = settings["vocab"], .min_frequency = 2}));
  }
  const int64_t max_length = settings["max_length"];
  auto examples_of = [&](const std::vector<int64_t>& part) {
    std::vector<Example> examples;
    for (int64_t i : part) examples.push_back({encode_text(*tokenizer, corpus.texts[subset[i]], max_length).ids, labels[i]});
    return examples;
  };
  std::vector<Example> train_examples = examples_of(split.train), validation_examples = examples_of(split.validation),
                       test_examples = examples_of(split.test);

  // Model and optimisation.
  manual_seed(seed);
  ModelConfig model_config{kind, tokenizer->vocab_size(), int64_t(corpus.label_names.size()), settings["embed"],
                           settings["layers"], settings["heads"], settings["feedforward"], max_length,
                           settings["dropout"], settings.value("pooling", "attention")};
  std::shared_ptr<TextModel> model = make_model(model_config);
  if (kind == "bow") {
    std::vector<std::vector<int64_t>> documents;
    for (const auto& e : train_examples) documents.push_back(e.ids);
    set_idf(*model, documents);
  }
  model->to(device);
  auto train_set = std::make_shared<data::VectorDataset<Example>>(train_examples);
  // --batch is the global batch: N processes take the same steps as one.
  data::DataLoader<Example, Batch> loader(
      train_set, {.batch_size = settings["batch"], .shuffle = true, .seed = seed, .shard = {job->rank(), job->size()}},
      collate);
  dist::DistributedDataParallel ddp(*model, apps::gradient_group(job, device));
  apps::own_random_stream(*job, seed);
  const int64_t epochs = settings["epochs"], steps_per_epoch = int64_t(loader.num_batches());
  int64_t warmup = settings["warmup"];
  if (warmup < 0) warmup = std::max<int64_t>(1, steps_per_epoch / 3);
  optim::AdamW optimizer(model->parameters(), {.lr = settings["lr"], .weight_decay = settings["weight_decay"]});
  optim::WarmupDecayLR scheduler(optimizer, {.warmup_steps = std::min(warmup, epochs * steps_per_epoch - 1),
                                             .total_steps = epochs * steps_per_epoch});
  optim::EarlyStopping stopper({.mode = optim::Mode::Max, .patience = settings["patience"]});
  optim::CheckpointParts parts{.model = model.get(), .optimizer = &optimizer, .scheduler = &scheduler,
                               .early_stopping = &stopper};

  // The run directory: created only now that the input has been checked.
  if (!resume && writer) {
    fs::create_directories(out, ec);
    HEED_CHECK(!ec, "train: cannot create {}: {}", out.string(), ec.message());
    config = {{"app", kAppName},
              {"format_version", kConfigVersion},
              {"data", data_path.string()},
              {"email", email},
              {"label_names", corpus.label_names},
              {"tokenizer", {{"type", tokenizer->type()}, {"vocab_size", tokenizer->vocab_size()}}},
              {"model", to_json(model_config)},
              {"settings", settings},
              {"examples", {{"train", split.train.size()}, {"validation", split.validation.size()},
                            {"test", split.test.size()}}}};
    apps::write_file_atomic(out / "config.json", config.dump(2) + "\n");
    tokenizer->save(out / "tokenizer.json");
    data::save_split(split, out / "split.json");
  }

  std::vector<EpochRecord> history;
  int64_t start_epoch = 0, step = 0;
  const fs::path last = out / "last.safetensors";
  if (resume && fs::exists(last, ec)) {
    optim::Progress progress = optim::load_checkpoint(last.string(), parts);
    start_epoch = progress.epoch, step = progress.step;
    history = history_from_json(nlohmann::json::parse(progress.extra.at("history")));
    fmt::print(stderr, "resuming {} after epoch {}\n", out.string(), start_epoch);
  }
  fmt::print(stderr, "{}: {} model, {} parameters, vocabulary {}, {} train / {} validation / {} test texts, email {}\n",
             kAppName, kind, model->num_parameters(), tokenizer->vocab_size(), train_examples.size(),
             validation_examples.size(), test_examples.size(), email ? "on" : "off");

  const double clip = settings["clip"];
  const double word_dropout = settings.value("word_dropout", 0.0), label_smoothing = settings.value("label_smoothing", 0.0);
  const int64_t stop_after = args.get_int("stop-after");
  const auto started = std::chrono::steady_clock::now();
  for (int64_t epoch = start_epoch; epoch < epochs && !stopper.should_stop(); ++epoch) {
    if (stop_after > 0 && epoch - start_epoch == stop_after) {
      fmt::print(stderr, "stopping after {} epoch(s) as asked; continue with --resume\n", stop_after);
      return 0;
    }
    const auto epoch_started = std::chrono::steady_clock::now();
    model->train();
    loader.set_epoch(uint64_t(epoch));
    apps::ProgressBar bar(fmt::format("epoch {}/{}", epoch + 1, epochs), steps_per_epoch);
    double loss_sum = 0;
    int64_t seen = 0, correct = 0;
    for (Batch& batch : loader) {
      Tensor ids = word_dropout > 0 && kind != "bow" ? drop_words(batch.ids, word_dropout, data::SplitMix64(seed).next() ^ uint64_t(step))
                                                     : batch.ids;
      const Tensor labels = batch.labels.to(device);
      Tensor logits = model->classify(ids.to(device), batch.padding_mask.to(device)).logits;
      Tensor loss = cross_entropy(logits, labels, Tensor(), -100, label_smoothing);
      optimizer.zero_grad();
      ddp.set_samples(double(batch.size));
      ddp.backward(loss);
      optim::clip_grad_norm_(model->parameters(), clip);
      optimizer.step();
      scheduler.step();
      ++step;
      double value = loss.item();
      HEED_CHECK(std::isfinite(value), "train: the loss became {} at step {}; try a smaller --lr", value, step);
      loss_sum += value * double(batch.size);
      seen += batch.size;
      correct += eq(argmax(logits.detach(), 1), labels).sum().item<int64_t>();
      bar.advance(1, batch.size, loss_sum / double(seen));
    }
    bar.finish();
    const auto totals = apps::sum_over_job(*job, {loss_sum, double(seen), double(correct)});
    loss_sum = totals[0], seen = int64_t(totals[1]), correct = int64_t(totals[2]);
    Evaluation validation = evaluate(*model, validation_examples, corpus.label_names, 64, job.get());
    EpochRecord record{epoch + 1, loss_sum / double(seen), double(correct) / double(seen), validation.loss,
                       validation.report.accuracy, validation.report.macro_avg.f1, scheduler.get_last_lr()[0],
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_started).count()};
    history.push_back(record);
    bool best = stopper.step(record.validation_macro_f1);  // the same on every rank: same model, same data
    if (!writer) continue;
    if (best) model->save((out / "best.safetensors").string());
    fmt::print(stderr, "epoch {}/{}  train loss {:.4f} acc {:.4f}  val loss {:.4f} acc {:.4f} macro-F1 {:.4f}{}\n",
               epoch + 1, epochs, record.train_loss, record.train_accuracy, record.validation_loss,
               record.validation_accuracy, record.validation_macro_f1, best ? "  (best)" : "");
    apps::write_file_atomic(out / "history.json", history_json(history).dump(2) + "\n");
    write_curves(out / "curves.png", history);
    optim::save_checkpoint(last.string(), parts, {.epoch = epoch + 1, .step = step,
                                                  .extra = {{"history", history_json(history).dump()}}});
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (writer && stopper.should_stop())
    fmt::print(stderr, "early stop: no better validation macro-F1 for {} epochs\n", int64_t(settings["patience"]));

  // The best model on the test part: rank 0 has the file, every rank scores a share.
  if (writer) model->load((out / "best.safetensors").string());
  if (job->size() > 1) dist::broadcast_state(*model, *job);
  Evaluation test = evaluate(*model, test_examples, corpus.label_names, 64, job.get());
  if (!writer) return 0;
  std::string report = apps::format_report(test.report) + "\nconfusion matrix (rows: true, columns: predicted)\n" +
                       apps::format_confusion_matrix(test.report);
  double total_seconds = 0;
  for (const auto& r : history) total_seconds += r.seconds;
  nlohmann::json metrics = {{"test", apps::report_to_json(test.report)},
                            {"test_loss", test.loss},
                            {"best_epoch", stopper.best_step() + 1},
                            {"best_validation_macro_f1", stopper.best()},
                            {"epochs_run", history.size()},
                            {"training_seconds", total_seconds},
                            {"this_session_seconds", seconds}};
  apps::write_file_atomic(out / "report.txt", report);
  std::string errors;  // the test texts the model got wrong, to read
  for (size_t k = 0; k < split.test.size(); ++k)
    if (test.predictions[k] != test_examples[k].label)
      errors += nlohmann::json{{"source", corpus.sources[size_t(subset[size_t(split.test[k])])]},
                               {"label", corpus.label_names[size_t(test_examples[k].label)]},
                               {"predicted", corpus.label_names[size_t(test.predictions[k])]}}
                    .dump() +
                "\n";
  apps::write_file_atomic(out / "test_errors.jsonl", errors);
  apps::write_file_atomic(out / "metrics.json", metrics.dump(2) + "\n");
  fmt::print("test set ({} texts), best epoch {}:\n\n{}\n", test_examples.size(), stopper.best_step() + 1, report);
  fmt::print("training time {:.1f} s; run directory {}\n", total_seconds, out.string());
  return 0;
}

}  // namespace heed::text
