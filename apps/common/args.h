// A small command-line parser for the apps' subcommands: --name VALUE (or --name=VALUE)
// options with defaults, --name switches, positional arguments, and a generated --help.
//
//   apps::Args args("heed-text train", "Trains a text classifier.");
//   args.option("epochs", "N", "8", "training epochs");
//   args.flag("resume", "continue an interrupted run");
//   if (!args.parse(argc, argv, 2)) return 0;  // --help was printed
//   int64_t epochs = args.get_int("epochs");
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace heed::apps {

class Args {
 public:
  Args(std::string program, std::string summary);
  // default_value empty with required: the option must be given.
  void option(const std::string& name, const std::string& value_name, const std::string& default_value,
              const std::string& help, bool required = false);
  void flag(const std::string& name, const std::string& help);
  void positional(const std::string& name, const std::string& help, bool required = true);

  // Parses argv[start..argc). Returns false when --help/-h was given (help printed to stdout).
  // Throws heed::Error on an unknown option, a missing value or a missing required argument.
  bool parse(int argc, const char* const* argv, int start);
  std::string help() const;

  const std::string& get(const std::string& name) const;  // option or positional ("" when absent)
  bool given(const std::string& name) const;               // set on the command line
  bool is_set(const std::string& name) const;              // a flag
  int64_t get_int(const std::string& name) const;          // throws naming the option when not an integer
  double get_double(const std::string& name) const;
  // The value, checked against the allowed choices.
  const std::string& get_choice(const std::string& name, const std::vector<std::string>& choices) const;

 private:
  struct Spec {
    std::string value_name, default_value, help;
    bool is_flag = false, required = false;
  };
  std::string program_, summary_;
  std::vector<std::string> option_order_;
  std::map<std::string, Spec> options_;
  std::vector<std::pair<std::string, Spec>> positionals_;
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> given_;
};

}  // namespace heed::apps
