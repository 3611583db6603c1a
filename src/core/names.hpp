// One name table per enum: the words a user types (--scheme crank-nicolson), the words slab prints
// and the values its files record all come from it. Lookup is by name only (no numbers) and
// ignores case.
#pragma once

#include <array>
#include <cctype>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace slab {

template <class E>
struct Named {
  E value;
  std::string_view name;
};

template <class E, std::size_t N>
using NameTable = std::array<Named<E>, N>;

template <class E, std::size_t N>
[[nodiscard]] std::string name_of(const NameTable<E, N>& table, E value) {
  for (const auto& entry : table)
    if (entry.value == value) return std::string(entry.name);
  return "?";
}

template <class E, std::size_t N>
[[nodiscard]] std::optional<E> value_of(const NameTable<E, N>& table, std::string_view name) {
  for (const auto& entry : table) {
    if (entry.name.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; same && i < name.size(); ++i)
      same = std::tolower(static_cast<unsigned char>(name[i])) == entry.name[i];
    if (same) return entry.value;
  }
  return std::nullopt;
}

// "explicit|implicit|crank-nicolson"
template <class E, std::size_t N>
[[nodiscard]] std::string choices(const NameTable<E, N>& table) {
  std::string text;
  for (const auto& entry : table) text += (text.empty() ? "" : "|") + std::string(entry.name);
  return text;
}

}  // namespace slab
