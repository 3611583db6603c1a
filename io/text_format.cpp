#include "text_format.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "error.hpp"
#include "numpy_format.hpp"

namespace slab::io {
namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// JSON has no NaN or infinity: they become null.
std::string json_number(double v) { return std::isfinite(v) ? format_double(v) : "null"; }

std::string json_value(const AttributeValue& value) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&value)) return json_number(*d);
  if (const auto* s = std::get_if<std::string>(&value)) return json_string(*s);
  std::string out = "[";
  for (const double d : std::get<std::vector<double>>(value)) out += (out.size() > 1 ? ", " : "") + json_number(d);
  return out + "]";
}

void finish(std::ofstream& out, const std::string& path) {
  out.close();
  if (!out) throw RuntimeFailure("write failed for '" + path + "' (disk full?)");
}

}  // namespace

std::string format_double(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  return buf;
}

void write_json(const std::string& path, const NamedTensors& datasets, const GroupAttributes& attributes) {
  std::ofstream out(path, std::ios::out | std::ios::__noreplace);  // exclusive: see write_npz
  if (!out) throw RuntimeFailure("cannot create '" + path + "' (does it exist already?)");
  out << "{\n";
  for (const auto& [name, tensor] : datasets) {
    out << "  " << json_string(name) << ": {\"shape\": [";
    for (std::size_t i = 0; i < tensor->shape().size(); ++i) out << (i ? ", " : "") << tensor->shape()[i];
    out << "], \"data\": [";
    const auto data = tensor->data();
    for (std::size_t i = 0; i < data.size(); ++i) out << (i ? ", " : "") << json_number(data[i]);
    out << "]},\n";
  }
  out << "  \"attributes\": {";
  bool first_group = true;
  for (const auto& [group, attrs] : attributes) {
    out << (first_group ? "\n" : ",\n") << "    " << json_string(group.empty() ? "/" : group) << ": {";
    first_group = false;
    bool first = true;
    for (const auto& [key, value] : attrs) {
      out << (first ? "" : ", ") << json_string(key) << ": " << json_value(value);
      first = false;
    }
    out << "}";
  }
  out << "\n  }\n}\n";
  finish(out, path);
}

void write_csv(const std::string& path, const Tensor& tensor) {
  std::ofstream out(path, std::ios::out | std::ios::__noreplace);  // exclusive: see write_npz
  if (!out) throw RuntimeFailure("cannot create '" + path + "' (does it exist already?)");
  out << "# shape: " << to_string(tensor.shape()) << "\n";
  const std::size_t rows = tensor.shape().empty() ? 1 : tensor.shape()[0];
  const std::size_t per_row = rows == 0 ? 0 : tensor.size() / rows;
  const auto data = tensor.data();
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < per_row; ++c) out << (c ? "," : "") << format_double(data[r * per_row + c]);
    out << "\n";
  }
  finish(out, path);
}

Tensor parse_csv(const std::string& text, const std::string& what) {
  std::vector<double> values;
  std::size_t columns = 0;
  std::size_t rows = 0;
  std::istringstream in(text);
  std::string line;
  std::size_t number = 0;
  bool seen_data = false;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[line.find_first_not_of(" \t")] == '#') continue;
    std::vector<double> row;
    bool numeric = true;
    std::size_t pos = 0;
    while (true) {
      const std::size_t comma = line.find(',', pos);
      std::string_view field(line.data() + pos, (comma == std::string::npos ? line.size() : comma) - pos);
      while (!field.empty() && field.front() == ' ') field.remove_prefix(1);
      while (!field.empty() && field.back() == ' ') field.remove_suffix(1);
      double v = 0;
      const auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
      if (field.empty() || ec != std::errc() || ptr != field.data() + field.size()) {
        numeric = false;
        break;
      }
      row.push_back(v);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    if (!numeric) {
      if (!seen_data && rows == 0 && columns == 0) {  // a header line
        seen_data = true;
        continue;
      }
      throw InputError(what + " line " + std::to_string(number) + ": not a number");
    }
    seen_data = true;
    if (rows == 0) columns = row.size();
    if (row.size() != columns)
      throw InputError(what + " line " + std::to_string(number) + ": " + std::to_string(row.size()) +
                       " columns, expected " + std::to_string(columns));
    values.insert(values.end(), row.begin(), row.end());
    ++rows;
  }
  return Tensor({rows, columns}, std::move(values));
}

Tensor read_csv(const std::string& path) { return parse_csv(read_file(path), "'" + path + "'"); }

}  // namespace slab::io
