#include "app/cli.hpp"

#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <vector>

#include <cstdlib>

#include "core/checked.hpp"
#include "core/error.hpp"
#include "core/version.hpp"
#include "io/input_file.hpp"
#include "io/text_format.hpp"

namespace slab::app {
namespace {

std::string version_text() { return std::string("slab ") + version + " (commit " + git_commit + ")"; }

// An option taking one name of an enum's table: help shows `--scheme explicit|implicit|crank-nicolson`
// with the default, and anything else (a number included) is refused with the choices listed.
template <class E, std::size_t N>
CLI::Option* add_choice(CLI::App& cmd, const std::string& flag, E& target, const NameTable<E, N>& table,
                        const std::string& help) {
  auto* option = cmd.add_option_function<std::string>(
      flag, [&target, &table](const std::string& name) { target = *value_of(table, name); }, help);
  option->type_name(choices(table))->default_str(name_of(table, target));
  option->check(CLI::Validator(
      [&table](std::string& name) {
        return value_of(table, name) ? std::string() : "'" + name + "' is not one of " + choices(table);
      },
      ""));
  return option;
}

// --layout and --compress of the datasets a command writes (heat's u, regression's X, y and loss).
void add_storage_options(CLI::App& cmd, bool& extendible, int& compress, const std::string& datasets) {
  cmd.add_option_function<std::string>(
         "--layout",
         [&extendible](const std::string& name) {
           extendible = *value_of(io::layout_names, name) == io::Layout::extendible;
         },
         "HDF5 layout of " + datasets +
             ": contiguous, or extendible (unlimited first axis, chunks of about 1 MiB tiling both axes)")
      ->type_name(choices(io::layout_names))
      ->default_str("contiguous")
      ->check(CLI::Validator(
          [](std::string& name) {
            return value_of(io::layout_names, name) ? std::string()
                                                    : "'" + name + "' is not one of " + choices(io::layout_names);
          },
          ""));
  cmd.add_option("--compress", compress, "gzip level 1-9 (with shuffle) for --layout extendible (0: none)")
      ->check(CLI::Range(0, 9));
}

// A seed is an integer from 0 to 2^64-1 in decimal digits: "-1" and "2^64" are out of range, not
// wrapped or saturated.
const CLI::Validator unsigned_64_bits(
    [](std::string& text) -> std::string {
      std::uint64_t value = 0;
      const char* end = text.data() + text.size();
      const auto [ptr, error] = std::from_chars(text.data(), end, value);
      if (text.empty() || error != std::errc() || ptr != end)
        return "must be an integer from 0 to 18446744073709551615 (2^64-1), got " + text;
      return {};
    },
    "");

// An integer option holds a decimal integer that fits in 64 bits: CLI11 alone saturates
// 99999999999999999999 to 2^63-1 without a word.
const CLI::Validator signed_64_bits(
    [](std::string& text) -> std::string {
      std::int64_t value = 0;
      const char* begin = text.data() + (text.starts_with('+') ? 1 : 0);
      const char* end = text.data() + text.size();
      const auto [ptr, error] = std::from_chars(begin, end, value);
      if (error == std::errc::result_out_of_range) return "integer " + text + " is outside the 64-bit range";
      if (begin == end || error != std::errc() || ptr != end) return "must be an integer, got " + text;
      return {};
    },
    "");

// A count that may be 0: CLI11's NonNegativeNumber names its range with a 300-digit maximum.
const CLI::Validator at_least_zero(
    [](std::string& text) -> std::string {
      const bool negative = text.starts_with('-') && text.find_first_not_of('0', 1) != std::string::npos;
      return negative ? "must be at least 0, got " + text : "";
    },
    "");

// A size in bytes, with or without a unit (core/checked.hpp: parse_bytes).
const CLI::Validator size_in_bytes(
    [](std::string& text) -> std::string {
      return parse_bytes(text)
                 ? ""
                 : "must be a size in bytes, as 4194304, 4MiB or 4M (units B, KiB, MiB, GiB, TiB), got " + text;
    },
    "");

// The environment variable a site sets MPI-IO hints in: "key=value;key=value".
constexpr const char* io_hints_variable = "SLAB_IO_HINTS";

// Applies signed_64_bits to every integer option of cmd.
void check_integers(CLI::App& cmd) {
  for (CLI::Option* option : cmd.get_options())
    if (option->get_type_name() == "INT") option->check(signed_64_bits);
}

// How HDF5 files meet a parallel file system (docs/parallel-io.md).
void add_parallel_io_options(CLI::App& cmd, OutputConfig& out) {
  cmd.add_option_function<std::string>(
         "--align", [&out](const std::string& text) { out.access.alignment = *parse_bytes(text); },
         "Start every HDF5 dataset of min(SIZE, 1 MiB) bytes or more on a multiple of SIZE: the file system's "
         "stripe (Lustre) or block (GPFS) size; units B, KiB, MiB, GiB (or K, M, G); 0 or 1: no alignment")
      ->type_name("SIZE")
      ->default_str("1MiB")
      ->check(size_in_bytes);
  cmd.add_option("--io-hint", out.io_hints,
                 "An MPI-IO hint KEY=VALUE for every HDF5 file opened with MPI-IO, e.g. cb_buffer_size=16777216 or "
                 "striping_factor=8; repeatable; wins over the site's " +
                     std::string(io_hints_variable) + "=\"KEY=VALUE;KEY=VALUE\" in the environment")
      ->type_name("KEY=VALUE")
      ->default_str("")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->expected(1);
}

void add_output_options(CLI::App& cmd, OutputConfig& out, bool& quiet, bool& plan, std::string& petsc,
                        const std::string& default_out) {
  out.out = default_out;
  cmd.add_option("--out", out.out, "Output file: .h5 (HDF5), .npz (NumPy), .json, or .csv (a directory of CSVs)")
      ->capture_default_str();
  add_choice(cmd, "--io", out.io, io::io_mode_names,
             "HDF5 write mode: parallel (collective MPI-IO) or gather (rank 0 writes with serial HDF5)");
  cmd.add_flag("--overwrite", out.overwrite, "Replace an existing output file");
  cmd.add_option("--checkpoint-every", out.checkpoint_every,
                 "Write <out>.ckpt.h5 every N steps (heat) or iterations (gd); 0: never")
      ->check(at_least_zero);
  cmd.add_option("--restart", out.restart,
                 "Resume from a checkpoint, on any number of ranks, with the same parameters");
  cmd.add_option("--time-limit", out.time_limit,
                 "Stop before this many seconds of wall time (at most 1e9), with a checkpoint to --restart from "
                 "(exit code 75)");  // its range: app::run
  cmd.add_flag("-q,--quiet", quiet, "No progress or summary on stderr");
  cmd.add_flag("--plan", plan,
               "Print the resource plan (memory per rank, bytes of every file) and what is available, then stop");
  // Expanded before parsing (expand_config); bound to nothing, so nothing can outlive its scope.
  cmd.add_option(
      "--config",
      "TOML file with these options as keys (in a [heat] or [regress] table); may be repeated (a later file wins); "
      "command-line options win");
  cmd.add_option("--petsc", petsc,
                 "PETSc options, e.g. \"-ksp_type cg -pc_type jacobi\" (PETSC_OPTIONS in the environment also works)");
  add_parallel_io_options(cmd, out);
  cmd.set_version_flag("--version", version_text());
}

// The text of a --config file: a regular file of at most 1 MiB. A character device that reads as
// empty (/dev/null) is an empty file; anything else (a folder, a fifo, /dev/zero) is refused
// before it is read, so nothing blocks or reads forever.
std::string config_text(const std::string& path) {
  const std::string what = "--config " + path;
  constexpr std::uintmax_t limit = 1 << 20;
  if (io::file_kind(path) == "a character device") {
    std::ifstream in(path, std::ios::binary);
    if (in && in.peek() == std::ifstream::traits_type::eof()) return {};
    throw InputError(what + " is a character device that is not empty, not a regular file");
  }
  try {
    return io::read_regular_file(path, "'" + path + "'", limit);
  } catch (const InputError& e) {
    throw InputError(what + ": " + e.what());
  }
}

// A config file's float as a command-line word that reads back as the same double.
std::string exact_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

// Checks that `key` of a --config file is an option of `cmd` that takes `value`'s kind.
void check_config_key(const CLI::App& cmd, const std::string& path, const std::string& key, const std::string& flag,
                      const toml::node& value) {
  const std::string where = "--config " + path + ": key '" + key + "'";
  if (flag == "--config")
    throw InputError(where + ": a --config file cannot name another (give both on the command line)");
  const CLI::Option* option = cmd.get_option_no_throw(flag);
  if (option == nullptr || flag == "--help")
    throw InputError(where + " is not an option of slab " + cmd.get_name() +
                     " (keys are option names; '_' may stand for '-')");
  const bool is_flag = option->get_expected_min() == 0;
  if (is_flag && !value.is_boolean()) throw InputError(where + " is a flag: write true or false");
  if (!is_flag && value.is_boolean())
    throw InputError(where + " needs a value, not " + (value.as_boolean()->get() ? "true" : "false"));
  const std::string type = option->get_type_name();
  if (value.is_string() && (type == "INT" || type == "UINT" || type == "FLOAT"))
    throw InputError(where + " must be a number, not the string \"" + value.as_string()->get() + "\"");
  if (value.is_floating_point() && (type == "INT" || type == "UINT"))
    throw InputError(where + " must be an integer (as on the command line), not the float " +
                     exact_text(value.as_floating_point()->get()));
}

// A key of a --config file as the option it names ('_' read as '-'), checked against `cmd`.
std::string config_flag(const CLI::App& cmd, const std::string& path, const std::string& key, const toml::node& value) {
  std::string flag = "--" + key;
  for (char& c : flag)
    if (c == '_') c = '-';
  if (!value.is_boolean() && !value.is_integer() && !value.is_floating_point() && !value.is_string())
    throw InputError("--config " + path + ": key '" + key + "' must be a number, a string or a boolean");
  check_config_key(cmd, path, key, flag, value);
  return flag;
}

// The options a TOML file holds for `cmd`, as command-line words: keys of the [heat] or [regress]
// table named like the command (and top-level keys), '_' read as '-', true booleans as bare flags.
// The other command's table is checked against that command (`commands`) and skipped, so one file
// may serve both.
std::vector<std::string> options_from_config(const std::string& path, const CLI::App& cmd,
                                             const std::vector<const CLI::App*>& commands) {
  const std::string text = config_text(path);
  // TOML allows no control character but tab, LF and CR anywhere (toml++ asserts on some NULs).
  const auto control = std::find_if(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7f;
  });
  if (control != text.end()) {
    char code[8];
    std::snprintf(code, sizeof code, "0x%02x", static_cast<unsigned char>(*control));
    throw InputError("--config " + path + ": line " + std::to_string(1 + std::count(text.begin(), control, '\n')) +
                     " holds the control character " + code + ", which TOML does not allow");
  }
  toml::table file;
  try {
    file = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    throw InputError("--config " + path + ": " + std::string(e.description()) + " at line " +
                     std::to_string(e.source().begin.line));
  }
  std::vector<std::string> words;
  auto add = [&](const std::string& key, const toml::node& value) {
    const std::string flag = config_flag(cmd, path, key, value);
    if (const auto* b = value.as_boolean()) {
      if (b->get()) words.push_back(flag);
    } else if (const auto i = value.as_integer()) {
      words.insert(words.end(), {flag, std::to_string(i->get())});
    } else if (const auto d = value.as_floating_point()) {
      words.insert(words.end(), {flag, exact_text(d->get())});
    } else {
      words.insert(words.end(), {flag, value.as_string()->get()});
    }
  };
  for (const auto& [key, value] : file) {
    const std::string name(key.str());
    if (!value.is_table())
      add(name, value);
    else if (name != "heat" && name != "regress")
      throw InputError("--config " + path + ": unknown table [" + name + "]; slab reads [heat] and [regress]");
  }
  for (const CLI::App* other : commands)
    if (const auto* table = file[other->get_name()].as_table(); table != nullptr && other != &cmd)
      for (const auto& [key, value] : *table) (void)config_flag(*other, path, std::string(key.str()), value);
  if (const auto* table = file[cmd.get_name()].as_table())
    for (const auto& [key, value] : *table) add(std::string(key.str()), value);
  return words;
}

// Replaces every "--config FILE" by the options FILE holds, placed right after the subcommand in
// the order the files were given, so that a later file wins over an earlier one and options given
// on the command line win over every file. `commands` are the subcommands' parsers.
std::vector<std::string> expand_config(std::vector<std::string> args, const std::vector<const CLI::App*>& commands) {
  std::vector<std::string> paths;
  for (std::size_t i = 1; i < args.size();) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      paths.push_back(args[i + 1]);
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i), args.begin() + static_cast<std::ptrdiff_t>(i + 2));
    } else if (args[i].starts_with("--config=")) {
      paths.push_back(args[i].substr(9));
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  if (paths.empty()) return args;
  const auto command = std::find_if(args.begin() + 1, args.end(), [&](const std::string& a) {
    return std::any_of(commands.begin(), commands.end(), [&](const CLI::App* c) { return c->get_name() == a; });
  });
  if (command == args.end()) throw InputError("--config needs a command: slab heat|regress --config FILE");
  const CLI::App& cmd =
      **std::find_if(commands.begin(), commands.end(), [&](const CLI::App* c) { return c->get_name() == *command; });
  std::vector<std::string> words;
  for (const auto& path : paths) {
    const auto more = options_from_config(path, cmd, commands);
    words.insert(words.end(), more.begin(), more.end());
  }
  args.insert(command + 1, words.begin(), words.end());
  return args;
}

// One subcommand's output options (each subcommand binds its own).
struct CommonFlags {
  OutputConfig out;
  bool quiet = false;
  bool plan = false;
  std::string petsc;
};

// The heat options whose meaning depends on which of them were given.
struct TimeFlags {
  double t_end = 0.01, dt = 0, cfl = 0.4;
  std::int64_t steps = 0;
  CLI::Option* steps_opt = nullptr;
  CLI::Option* dt_opt = nullptr;
  CLI::Option* cfl_opt = nullptr;
};

void add_time_options(CLI::App& heat, TimeFlags& time) {
  auto* t_end_opt = heat.add_option("--t-end", time.t_end,
                                    "End time [time]; dt = t_end/steps with steps the fewest that keep R <= --cfl "
                                    "(or dt <= --dt), so the last step lands exactly on t_end");
  time.steps_opt = heat.add_option("--steps", time.steps, "Number of steps instead of --t-end (t_end = steps * dt)");
  time.dt_opt = heat.add_option("--dt", time.dt, "Time step [time] (upper bound with --t-end)");
  time.cfl_opt =
      heat.add_option("--cfl", time.cfl, "R = alpha dt / dx^2 (upper bound with --t-end); explicit needs R <= 1/2");
  time.steps_opt->excludes(t_end_opt);
  time.dt_opt->excludes(time.cfl_opt);
}

void add_model_options(CLI::App& heat, HeatConfig& cfg) {
  heat::Request& q = cfg.request;
  heat.add_option("--nx", q.nx, "Grid nodes, boundaries included");
  heat.add_option("--length", q.length, "Domain length L [length: 1, or m with --units si]");
  heat.add_option("--alpha", q.alpha, "Diffusivity alpha [length^2/time: 1, or m^2/s with --units si]");
  add_choice(heat, "--scheme", q.scheme, heat::scheme_names,
             "explicit (FTCS), implicit (backward Euler) or crank-nicolson");
  add_choice(heat, "--bc", q.bc, heat::boundary_names,
             "Boundary condition: dirichlet, neumann (zero flux) or periodic (dx = L/nx)");
  add_choice(heat, "--solver", q.solver, heat::solver_names,
             "Implicit schemes: direct (slab's tridiagonal solver, the same bits on any rank count) or petsc "
             "(PETSc KSP; takes --petsc options)");
  heat.add_option("--left", q.left, "Dirichlet value at x = 0");
  heat.add_option("--right", q.right, "Dirichlet value at x = L");
  heat.add_option("--init", cfg.init, "Initial condition: sine, gaussian, step, or FILE.h5:/dataset of shape (nx,)");
  heat.add_option("--mode", cfg.mode, "k of the sine initial condition sin(k pi x / L)");
  add_choice(heat, "--units", cfg.units, unit_system_names,
             "Units of the numbers given and written: nondimensional (units \"1\"), or si (x, length in m; t, dt "
             "in s; alpha in m^2/s)");
  heat.add_option("--u-units", cfg.u_units, "Units of u, written as is (a UDUNITS string: K, degC, mol m-3)");
}

void add_layout_options(CLI::App& heat, HeatConfig& cfg) {
  heat.add_option("--snapshots", cfg.request.snapshots,
                  "Snapshots K, evenly spaced from t = 0 to t_end (both included)");
  add_storage_options(heat, cfg.extendible, cfg.compress, "/heat/u and /heat/t");
}

CLI::App* add_heat_command(CLI::App& app, HeatConfig& cfg, TimeFlags& time, CommonFlags& common) {
  CLI::App* heat = app.add_subcommand("heat", "Solve u_t = alpha u_xx on [0, L] on a grid split over the ranks");
  add_model_options(*heat, cfg);
  add_time_options(*heat, time);
  add_layout_options(*heat, cfg);
  add_output_options(*heat, common.out, common.quiet, common.plan, common.petsc, "heat.h5");
  return heat;
}

CLI::App* add_regress_command(CLI::App& app, RegressConfig& r, CommonFlags& common) {
  CLI::App* reg = app.add_subcommand("regress", "Fit y ~ X w + b by least squares on rows split over the ranks");
  reg->add_option("--rows", r.rows, "Rows N of the synthetic data");
  reg->add_option("--cols", r.cols, "Features D of the synthetic data");
  reg->add_option("--seed", r.seed, "Seed of the synthetic data (the same data for any rank count)")
      ->check(unsigned_64_bits);  // CLI11 alone reads -1 as 2^64-1
  reg->add_option("--noise", r.noise, "Standard deviation of the noise added to y");
  reg->add_option("--data", r.data,
                  "Read X and y instead: .h5 (/regression/X (N, D), /regression/y (N,)), .npz (X, y) or .csv "
                  "(last column y)");
  add_choice(*reg, "--method", r.method, regression::method_names,
             "qr (TSQR least squares: the recommended direct method, as accurate as LAPACK, the same bits on "
             "any rank count), lstsq (PETSc LSQR; options via --petsc), normal (normal equations: fastest, "
             "least accurate) or gd (gradient descent)");
  add_choice(*reg, "--rank-deficient", r.rank_deficient, regression::rank_deficient_names,
             "--method qr on linearly dependent columns: error (exit 2, naming them) or min-norm (the "
             "minimum-norm solution)");
  reg->add_option("--lr", r.gd.lr, "Learning rate of gd");
  reg->add_option("--iters", r.gd.iters, "Maximum iterations of gd");
  reg->add_option("--tol", r.gd.tol, "gd stops when the relative change of the loss is at most this");
  reg->add_flag("--standardize", r.standardize,
                "Scale features to zero mean, unit variance (w reported in original units)");
  reg->add_flag_callback(
      "--no-data", [&r] { r.write_data = false; }, "Do not write X and y to the output (for very large N)");
  add_storage_options(*reg, r.extendible, r.compress, "/regression/X, y and the loss history");
  add_output_options(*reg, common.out, common.quiet, common.plan, common.petsc, "reg.h5");
  return reg;
}

// "The following arguments were not expected: ...", listed in the order they were typed.
std::string not_expected(const CLI::App& app, const std::vector<std::string>& args) {
  std::vector<std::string> extras = app.remaining(true);
  const auto position = [&](const std::string& word) {
    return std::find(args.begin(), args.end(), word) - args.begin();
  };
  std::stable_sort(extras.begin(), extras.end(),
                   [&](const std::string& a, const std::string& b) { return position(a) < position(b); });
  std::string text =
      extras.size() == 1 ? "The following argument was not expected:" : "The following arguments were not expected:";
  for (const auto& word : extras) text += " " + word;
  return text;
}

// A CLI11 message about an option that only a --config file holds names that file. `typed`: the
// words of the command line before the file was expanded.
std::string with_config_file(const std::string& message, const std::vector<std::string>& typed) {
  std::string config;
  for (std::size_t i = 1; i < typed.size(); ++i) {
    if (typed[i] == "--config" && i + 1 < typed.size()) config = typed[i + 1];
    if (typed[i].starts_with("--config=")) config = typed[i].substr(9);
  }
  const auto start = message.find("--");
  if (config.empty() || start == std::string::npos) return message;
  const std::string option = message.substr(start, message.find_first_of(" :=,", start) - start);
  for (const auto& word : typed)
    if (word == option || word.starts_with(option + "=")) return message;
  return "--config " + config + ": " + message;
}

// The refusal of words that name no command: a first word that is not an option was meant as one.
std::string no_command(const std::vector<std::string>& args) {
  const std::string usage = "slab heat|regress [options]";
  if (args.size() < 2 || args[1].starts_with('-')) return "a command comes first: " + usage;
  return "unknown command '" + io::printable(args[1]) + "': " + usage;
}

// Parses the words; text to print instead when they ask for help or the version.
std::optional<PrintAndExit> parse_words(CLI::App& app, const std::vector<std::string>& args,
                                        const std::vector<std::string>& typed) {
  try {
    // CLI11 wants the words after the program name, last first.
    std::vector<std::string> reversed(args.rbegin(), args.rend() - 1);
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return PrintAndExit{app.help()};
  } catch (const CLI::CallForAllHelp&) {
    return PrintAndExit{app.help("", CLI::AppFormatMode::All)};
  } catch (const CLI::CallForVersion&) {
    return PrintAndExit{version_text() + "\n"};
  } catch (const CLI::ExtrasError&) {
    throw InputError(not_expected(app, args));
  } catch (const CLI::ParseError& e) {
    if (app.get_subcommands().empty()) throw InputError(no_command(args));
    throw InputError(with_config_file(e.what(), typed));
  }
  return std::nullopt;
}

// --t-end unless --steps was given; --dt and --cfl only when given.
void resolve_time(heat::Request& q, const TimeFlags& time) {
  if (time.steps_opt->count() > 0)
    q.steps = time.steps;
  else
    q.t_end = time.t_end;
  if (time.dt_opt->count() > 0) q.dt = time.dt;
  if (time.cfl_opt->count() > 0) q.diffusion_number = time.cfl;
}

// The MPI-IO hints of a run: the site's (SLAB_IO_HINTS), then --io-hint, a later value of a key
// replacing an earlier one.
mpi::Hints io_hints(const std::vector<std::string>& typed) {
  mpi::Hints hints;
  if (const char* site = std::getenv(io_hints_variable)) hints = io::parse_hint_list(site, io_hints_variable);
  for (const auto& text : typed) io::set_hint(hints, io::parse_hint(text, "--io-hint"));
  return hints;
}

void take_common(Config& cfg, Command command, CommonFlags& common) {
  cfg.command = command;
  common.out.access.hints = io_hints(common.out.io_hints);
  cfg.output = std::move(common.out);
  cfg.quiet = common.quiet;
  cfg.print_plan = common.plan;
  cfg.petsc_options = std::move(common.petsc);
}

}  // namespace

Parsed parse_command_line(int argc, const char* const* argv) {
  Config cfg;
  for (int i = 0; i < argc; ++i) cfg.command_line += (i ? " " : "") + std::string(argv[i]);

  CLI::App app{"slab: MPI-distributed heat equation and linear regression, written to HDF5 for NumPy", "slab"};
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);
  // An option given twice (in --config and on the command line) takes the later value.
  app.option_defaults()->always_capture_default()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  TimeFlags time;
  CommonFlags heat_common, regress_common;
  CLI::App* heat = add_heat_command(app, cfg.heat, time, heat_common);
  CLI::App* reg = add_regress_command(app, cfg.regress, regress_common);
  check_integers(*heat);
  check_integers(*reg);
  const std::vector<std::string> typed(argv, argv + argc);
  const std::vector<std::string> args = expand_config(typed, {heat, reg});
  if (auto print = parse_words(app, args, typed)) return *print;

  if (heat->parsed()) {
    take_common(cfg, Command::heat, heat_common);
    resolve_time(cfg.heat.request, time);
  } else {
    take_common(cfg, Command::regress, regress_common);
  }
  return cfg;
}

}  // namespace slab::app
