// The command line: `slab heat [options]` and `slab regress [options]`, parsed with CLI11.
#pragma once

#include <string>
#include <variant>

#include "app/config.hpp"

namespace slab::app {

// What the command line asks for: a run, or text to print before exiting 0 (--help, --version).
struct PrintAndExit {
  std::string text;
};
using Parsed = std::variant<Config, PrintAndExit>;

// Pure: the same arguments give the same result on every rank. Throws InputError (exit 2) with
// CLI11's message for an unknown flag, a missing value or a value of the wrong type.
[[nodiscard]] Parsed parse_command_line(int argc, const char* const* argv);

}  // namespace slab::app
