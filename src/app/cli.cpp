#include "cli.hpp"

#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <map>
#include <optional>
#include <vector>

#include "error.hpp"
#include "slab/version.hpp"

namespace slab::app {
namespace {

std::string version_text() { return std::string("slab ") + version + " (commit " + git_commit + ")"; }

void add_output_options(CLI::App& cmd, OutputConfig& out, bool& quiet, std::string& petsc,
                        const std::string& default_out) {
  out.out = default_out;
  cmd.add_option("--out", out.out, "Output file: .h5 (HDF5), .npz (NumPy), .json, or .csv (a directory of CSVs)")
      ->capture_default_str();
  const std::map<std::string, io::IoMode> modes{{"parallel", io::IoMode::parallel}, {"gather", io::IoMode::gather}};
  cmd.add_option("--io", out.io,
                 "HDF5 write mode: parallel (collective MPI-IO) or gather (rank 0 writes with serial HDF5)")
      ->transform(CLI::CheckedTransformer(modes, CLI::ignore_case))
      ->default_str("parallel");
  cmd.add_flag("--overwrite", out.overwrite, "Replace an existing output file");
  cmd.add_option("--checkpoint-every", out.checkpoint_every,
                 "Write <out>.ckpt.h5 every N steps (heat) or iterations (gd); 0: never")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--restart", out.restart,
                 "Resume from a checkpoint, on any number of ranks, with the same parameters");
  cmd.add_flag("-q,--quiet", quiet, "No progress or summary on stderr");
  std::string config_help;
  cmd.add_option("--config", config_help,
                 "TOML file with these options as keys (in a [heat] or [regress] table); command-line options win");
  cmd.add_option("--petsc", petsc,
                 "PETSc options, e.g. \"-ksp_type cg -pc_type jacobi\" (PETSC_OPTIONS in the environment also works)");
}

// The options a TOML file holds for `command`, as command-line words: keys of the [command] table
// (and top-level keys), '_' read as '-', true booleans as bare flags.
std::vector<std::string> options_from_config(const std::string& path, const std::string& command) {
  toml::table file;
  try {
    file = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw InputError("--config " + path + ": " + std::string(e.description()) + " at line " +
                     std::to_string(e.source().begin.line));
  }
  std::vector<std::string> words;
  auto add = [&](const std::string& key, const toml::node& value) {
    std::string flag = "--" + key;
    for (char& c : flag)
      if (c == '_') c = '-';
    if (const auto* b = value.as_boolean()) {
      if (b->get()) words.push_back(flag);
    } else if (const auto i = value.as_integer()) {
      words.insert(words.end(), {flag, std::to_string(i->get())});
    } else if (const auto d = value.as_floating_point()) {
      char text[32];
      std::snprintf(text, sizeof text, "%.17g", d->get());
      words.insert(words.end(), {flag, text});
    } else if (const auto str = value.as_string()) {
      words.insert(words.end(), {flag, str->get()});
    } else {
      throw InputError("--config " + path + ": '" + key + "' must be a number, a string or a boolean");
    }
  };
  for (const auto& [key, value] : file)
    if (!value.is_table()) add(std::string(key.str()), value);
  if (const auto* table = file[command].as_table())
    for (const auto& [key, value] : *table) add(std::string(key.str()), value);
  return words;
}

// Replaces "--config FILE" by the options FILE holds, placed right after the subcommand so that
// options given on the command line come later and win.
std::vector<std::string> expand_config(std::vector<std::string> args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string path;
    std::size_t consumed = 0;
    if (args[i] == "--config" && i + 1 < args.size()) {
      path = args[i + 1];
      consumed = 2;
    } else if (args[i].starts_with("--config=")) {
      path = args[i].substr(9);
      consumed = 1;
    } else {
      continue;
    }
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(i), args.begin() + static_cast<std::ptrdiff_t>(i + consumed));
    const auto command =
        std::find_if(args.begin() + 1, args.end(), [](const std::string& a) { return a == "heat" || a == "regress"; });
    if (command == args.end()) throw InputError("--config needs a command: slab heat|regress --config FILE");
    const auto words = options_from_config(path, *command);
    args.insert(command + 1, words.begin(), words.end());
    return args;
  }
  return args;
}

// One subcommand's output options (each subcommand binds its own).
struct CommonFlags {
  OutputConfig out;
  bool quiet = false;
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
  heat.add_option("--length", q.length, "Domain length L [length]");
  heat.add_option("--alpha", q.alpha, "Diffusivity alpha [length^2/time]");
  const std::map<std::string, heat::Scheme> schemes{{"explicit", heat::Scheme::explicit_euler},
                                                    {"implicit", heat::Scheme::implicit_euler},
                                                    {"crank-nicolson", heat::Scheme::crank_nicolson}};
  heat.add_option("--scheme", q.scheme, "explicit (FTCS), implicit (backward Euler) or crank-nicolson")
      ->transform(CLI::CheckedTransformer(schemes, CLI::ignore_case))
      ->default_str("explicit");
  const std::map<std::string, heat::Boundary> bcs{{"dirichlet", heat::Boundary::dirichlet},
                                                  {"neumann", heat::Boundary::neumann},
                                                  {"periodic", heat::Boundary::periodic}};
  heat.add_option("--bc", q.bc, "Boundary condition: dirichlet, neumann (zero flux) or periodic (dx = L/nx)")
      ->transform(CLI::CheckedTransformer(bcs, CLI::ignore_case))
      ->default_str("dirichlet");
  heat.add_option("--left", q.left, "Dirichlet value at x = 0");
  heat.add_option("--right", q.right, "Dirichlet value at x = L");
  heat.add_option("--init", cfg.init, "Initial condition: sine, gaussian, step, or FILE.h5:/dataset of shape (nx,)");
  heat.add_option("--mode", cfg.mode, "k of the sine initial condition sin(k pi x / L)");
}

void add_layout_options(CLI::App& heat, HeatConfig& cfg) {
  heat.add_option("--snapshots", cfg.request.snapshots,
                  "Snapshots K, evenly spaced from t = 0 to t_end (both included)");
  const std::map<std::string, bool> layouts{{"contiguous", false}, {"extendible", true}};
  heat.add_option("--layout", cfg.extendible,
                  "HDF5 layout of /heat/u: contiguous, or extendible (unlimited first axis, one chunk per snapshot)")
      ->transform(CLI::CheckedTransformer(layouts, CLI::ignore_case))
      ->default_str("contiguous");
  heat.add_option("--compress", cfg.compress, "gzip level 1-9 for --layout extendible (0: none)")
      ->check(CLI::Range(0, 9));
}

CLI::App* add_heat_command(CLI::App& app, HeatConfig& cfg, TimeFlags& time, CommonFlags& common) {
  CLI::App* heat = app.add_subcommand("heat", "Solve u_t = alpha u_xx on [0, L] on a grid split over the ranks");
  add_model_options(*heat, cfg);
  add_time_options(*heat, time);
  add_layout_options(*heat, cfg);
  add_output_options(*heat, common.out, common.quiet, common.petsc, "heat.h5");
  return heat;
}

CLI::App* add_regress_command(CLI::App& app, RegressConfig& r, CommonFlags& common) {
  CLI::App* reg = app.add_subcommand("regress", "Fit y ~ X w + b by least squares on rows split over the ranks");
  reg->add_option("--rows", r.rows, "Rows N of the synthetic data");
  reg->add_option("--cols", r.cols, "Features D of the synthetic data");
  reg->add_option("--seed", r.seed, "Seed of the synthetic data (the same data for any rank count)");
  reg->add_option("--noise", r.noise, "Standard deviation of the noise added to y");
  reg->add_option("--data", r.data,
                  "Read X and y instead: .h5 (/regression/X (N, D), /regression/y (N,)), .npz (X, y) or .csv "
                  "(last column y)");
  const std::map<std::string, regression::Method> methods{
      {"gd", regression::Method::gd}, {"lstsq", regression::Method::lstsq}, {"normal", regression::Method::normal}};
  reg->add_option("--method", r.method, "gd (gradient descent), lstsq (PETSc LSQR) or normal (normal equations)")
      ->transform(CLI::CheckedTransformer(methods, CLI::ignore_case))
      ->default_str("gd");
  reg->add_option("--lr", r.gd.lr, "Learning rate of gd");
  reg->add_option("--iters", r.gd.iters, "Maximum iterations of gd");
  reg->add_option("--tol", r.gd.tol, "gd stops when the relative change of the loss is at most this");
  reg->add_flag("--standardize", r.standardize,
                "Scale features to zero mean, unit variance (w reported in original units)");
  reg->add_flag("!--no-data", r.write_data, "Do not write X and y to the output (for very large N)");
  add_output_options(*reg, common.out, common.quiet, common.petsc, "reg.h5");
  return reg;
}

// Parses the words; text to print instead when they ask for help or the version.
std::optional<PrintAndExit> parse_words(CLI::App& app, const std::vector<std::string>& args) {
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
  } catch (const CLI::ParseError& e) {
    throw InputError(e.what());
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
  if (time.cfl_opt->count() > 0) q.cfl = time.cfl;
}

void take_common(Config& cfg, Command command, CommonFlags& common) {
  cfg.command = command;
  cfg.output = std::move(common.out);
  cfg.quiet = common.quiet;
  cfg.petsc_options = std::move(common.petsc);
}

}  // namespace

Parsed parse_command_line(int argc, const char* const* argv) {
  Config cfg;
  for (int i = 0; i < argc; ++i) cfg.command_line += (i ? " " : "") + std::string(argv[i]);
  const std::vector<std::string> args = expand_config(std::vector<std::string>(argv, argv + argc));

  CLI::App app{"slab: MPI-distributed heat equation and linear regression, written to HDF5 for NumPy", "slab"};
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);
  // An option given twice (in --config and on the command line) takes the later value.
  app.option_defaults()->always_capture_default()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  TimeFlags time;
  CommonFlags heat_common, regress_common;
  CLI::App* heat = add_heat_command(app, cfg.heat, time, heat_common);
  add_regress_command(app, cfg.regress, regress_common);
  if (auto print = parse_words(app, args)) return *print;

  if (heat->parsed()) {
    take_common(cfg, Command::heat, heat_common);
    resolve_time(cfg.heat.request, time);
  } else {
    take_common(cfg, Command::regress, regress_common);
  }
  return cfg;
}

}  // namespace slab::app
