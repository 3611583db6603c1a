#include "io/parallel_io.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace slab::io {

std::pair<std::string, std::string> parse_hint(const std::string& text, const std::string& origin) {
  const std::string where = origin + " '" + text + "'";
  const auto equals = text.find('=');
  if (equals == std::string::npos) throw InputError(where + ": an MPI-IO hint is key=value, and this has no '='");
  std::string key = text.substr(0, equals), value = text.substr(equals + 1);
  if (key.empty()) throw InputError(where + ": the hint's key is empty (key=value)");
  if (value.empty()) throw InputError(where + ": the hint's value is empty (key=value; MPI takes no empty value)");
  if (key.size() > mpi::Info::max_key_length)
    throw InputError(where + ": the key has " + std::to_string(key.size()) + " characters; MPI takes at most " +
                     std::to_string(mpi::Info::max_key_length) + " (MPI_MAX_INFO_KEY)");
  if (value.size() > mpi::Info::max_value_length)
    throw InputError(origin + " " + key + "=...: the value has " + std::to_string(value.size()) +
                     " characters; MPI takes at most " + std::to_string(mpi::Info::max_value_length) +
                     " (MPI_MAX_INFO_VAL)");
  return {std::move(key), std::move(value)};
}

mpi::Hints parse_hint_list(const std::string& text, const std::string& origin) {
  mpi::Hints hints;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = std::min(text.find(';', start), text.size());
    const std::string entry = text.substr(start, end - start);
    const auto first = entry.find_first_not_of(" \t");
    if (first != std::string::npos)
      set_hint(hints, parse_hint(entry.substr(first, entry.find_last_not_of(" \t") + 1 - first), origin));
    start = end + 1;
  }
  return hints;
}

void set_hint(mpi::Hints& hints, std::pair<std::string, std::string> hint) {
  const auto same = std::find_if(hints.begin(), hints.end(), [&](const auto& h) { return h.first == hint.first; });
  if (same != hints.end())
    same->second = std::move(hint.second);
  else
    hints.push_back(std::move(hint));
}

std::string hint_text(const mpi::Hints& hints) {
  std::string text;
  for (const auto& [key, value] : hints) text += (text.empty() ? "" : ";") + key + "=" + value;
  return text;
}

}  // namespace slab::io
