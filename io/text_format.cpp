#include "io/text_format.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "io/numpy_format.hpp"

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

namespace {

void json_document(std::ostream& out, const NamedTensors& datasets, const GroupAttributes& attributes,
                   const DatasetDims& dims, bool with_data) {
  out << "{\n";
  for (const auto& [name, tensor] : datasets) {
    out << "  " << json_string(name) << ": {\"shape\": [";
    for (std::size_t i = 0; i < tensor->shape().size(); ++i) out << (i ? ", " : "") << tensor->shape()[i];
    out << "]";
    if (const auto found = dims.find(name); found != dims.end()) {
      out << ", \"dims\": [";
      for (std::size_t i = 0; i < found->second.size(); ++i) out << (i ? ", " : "") << json_string(found->second[i]);
      out << "]";
    }
    if (with_data) {
      out << ", \"data\": [";
      const auto data = tensor->data();
      for (std::size_t i = 0; i < data.size(); ++i) out << (i ? ", " : "") << json_number(data[i]);
      out << "]";
    }
    out << "},\n";
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
}

}  // namespace

void write_json(const std::string& path, const NamedTensors& datasets, const GroupAttributes& attributes,
                const DatasetDims& dims) {
  std::ofstream out(path, std::ios::out | std::ios::__noreplace);  // exclusive: see write_npz
  if (!out) throw RuntimeFailure("cannot create '" + path + "' (does it exist already?)");
  json_document(out, datasets, attributes, dims, true);
  finish(out, path);
}

std::string json_metadata(const NamedTensors& datasets, const GroupAttributes& attributes, const DatasetDims& dims) {
  std::ostringstream out;
  json_document(out, datasets, attributes, dims, false);
  return out.str();
}

namespace {
// A CSV value that reads back as a float everywhere: "0" would make pandas type a column int64.
std::string csv_number(double value) {
  std::string text = format_double(value);
  if (text.find_first_of(".eEnN") == std::string::npos) text += ".0";
  return text;
}
}  // namespace

void write_csv(const std::string& path, const Tensor& tensor, const std::string& name) {
  std::ofstream out(path, std::ios::out | std::ios::__noreplace);  // exclusive: see write_npz
  if (!out) throw RuntimeFailure("cannot create '" + path + "' (does it exist already?)");
  const std::size_t rows = tensor.shape().empty() ? 1 : tensor.shape()[0];
  const std::size_t per_row = rows == 0 ? 0 : tensor.size() / rows;
  if (tensor.shape().size() <= 1) {
    out << name << "\n";
  } else {
    for (std::size_t c = 0; c < per_row; ++c) out << (c ? "," : "") << name << "[" << c << "]";
    out << "\n";
  }
  const auto data = tensor.data();
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < per_row; ++c) out << (c ? "," : "") << csv_number(data[r * per_row + c]);
    out << "\n";
  }
  finish(out, path);
}

namespace {

struct Field {
  std::string text;    // without quotes and surrounding blanks
  std::size_t column;  // 1-based character position where the field starts
};

// One CSV line split at commas; RFC 4180 quotes ("a,b" is one field, "" inside quotes is a quote).
std::vector<Field> split_fields(std::string_view line) {
  std::vector<Field> fields(1, Field{{}, 1});
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      fields.back().text += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.push_back(Field{{}, i + 2});
    } else if (!((c == ' ' || c == '\t') && !quoted && fields.back().text.empty())) {
      fields.back().text += c;
    }
  }
  for (Field& f : fields)
    while (!f.text.empty() && (f.text.back() == ' ' || f.text.back() == '\t')) f.text.pop_back();
  return fields;
}

enum class Number { ok, not_a_number, too_large };

// A decimal number as C++ reads it, with an optional leading '+'; "nan" and "inf" are numbers
// (the driver refuses them with their own message). Values below the smallest double become 0.
Number parse_number(const std::string& text, double& value) {
  std::string_view digits(text);
  if (digits.size() > 1 && digits.front() == '+' && digits[1] != '-' && digits[1] != '+') digits.remove_prefix(1);
  if (digits.empty()) return Number::not_a_number;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (end != digits.data() + digits.size()) return Number::not_a_number;
  if (error == std::errc()) return Number::ok;
  if (error != std::errc::result_out_of_range) return Number::not_a_number;
  value = std::strtod(std::string(digits).c_str(), nullptr);  // +-HUGE_VAL on overflow, +-0 on underflow
  return std::isinf(value) ? Number::too_large : Number::ok;
}

// The lines of a text, split at "\n", "\r\n" or a lone "\r".
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n' && text[i] != '\r') continue;
    lines.push_back(text.substr(start, i - start));
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

bool skipped(std::string_view line) {
  const auto first = line.find_first_not_of(" \t");
  return first == std::string_view::npos || line[first] == '#';
}

}  // namespace

Tensor parse_csv(const std::string& text, const std::string& what) {
  std::string_view body(text);
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);  // UTF-8 byte-order mark
  if (body.starts_with("\xFF\xFE") || body.starts_with("\xFE\xFF"))
    throw InputError(what + " is UTF-16 text; save it as UTF-8 (or plain ASCII) CSV");
  std::vector<double> values;
  std::size_t columns = 0, rows = 0, first_row_line = 0;
  bool first = true;
  const auto lines = split_lines(body);
  for (std::size_t number = 1; number <= lines.size(); ++number) {
    if (skipped(lines[number - 1])) continue;
    const auto fields = split_fields(lines[number - 1]);
    const auto at = [&](const Field& f) {
      return what + " line " + std::to_string(number) + ", column " + std::to_string(f.column);
    };
    std::vector<double> row(fields.size());
    const Field* bad = nullptr;
    std::size_t numbers = 0;
    for (std::size_t c = 0; c < fields.size(); ++c) {
      const Number n = parse_number(fields[c].text, row[c]);
      if (n == Number::too_large)
        throw InputError(at(fields[c]) + ": '" + fields[c].text + "' is beyond the range of double");
      if (n == Number::ok) ++numbers;
      if (n == Number::not_a_number && bad == nullptr) bad = &fields[c];
    }
    const bool header = first && numbers == 0;
    first = false;
    if (header) continue;  // the rule: the first line that holds no number at all is a header
    if (bad != nullptr)
      throw InputError(at(*bad) + ": " + (bad->text.empty() ? "empty field" : "'" + bad->text + "'") +
                       " is not a number" + (rows == 0 ? " (a header line holds no numbers at all)" : ""));
    if (rows == 0) {
      columns = row.size();
      first_row_line = number;
    }
    if (row.size() != columns)
      throw InputError(what + " line " + std::to_string(number) + ": " + std::to_string(row.size()) +
                       " fields, expected " + std::to_string(columns) + " as on line " +
                       std::to_string(first_row_line));
    values.insert(values.end(), row.begin(), row.end());
    ++rows;
  }
  return Tensor({rows, columns}, std::move(values));
}

Tensor read_csv(const std::string& path) { return parse_csv(read_file(path), "'" + path + "'"); }

}  // namespace slab::io
