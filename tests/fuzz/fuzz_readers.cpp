// libFuzzer target for slab's input readers: .npy and .npz parsing, CSV parsing, the command
// line and --config TOML files (written to a file and parsed as `slab heat|regress --config FILE`,
// the path the command line takes). Any input must either parse or throw slab::Error; crashes, hangs and sanitizer
// reports are failures. Built and run by tests/fuzz/run_fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "app/cli.hpp"
#include "core/error.hpp"
#include "io/numpy_format.hpp"
#include "io/text_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    switch (data[0] % 6) {
      case 0:
        (void)slab::io::parse_npy(bytes, "fuzz");
        break;
      case 1:
        (void)slab::io::parse_npz(bytes, "fuzz");
        break;
      case 2:
        (void)slab::io::parse_csv(std::string(bytes), "fuzz");
        break;
      case 3: {
        // Command-line values: split the input into words after "slab".
        std::vector<std::string> words{"slab"};
        std::string word;
        for (const char c : bytes) {
          if (c == ' ' || c == '\n') {
            if (!word.empty()) words.push_back(word);
            word.clear();
          } else {
            word += c;
          }
        }
        if (!word.empty()) words.push_back(word);
        std::vector<const char*> argv;
        for (const auto& w : words) argv.push_back(w.c_str());
        (void)slab::app::parse_command_line(static_cast<int>(argv.size()), argv.data());
        break;
      }
      case 4:
      case 5: {
        static const std::string path = "fuzz-config-" + std::to_string(::getpid()) + ".toml";
        {
          std::ofstream file(path, std::ios::binary | std::ios::trunc);
          file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        }
        const char* argv[] = {"slab", data[0] % 6 == 4 ? "heat" : "regress", "--config", path.c_str()};
        (void)slab::app::parse_command_line(4, argv);
        break;
      }
    }
  } catch (const slab::Error&) {
    // A clear error is the right answer to bad input.
  }
  return 0;
}
