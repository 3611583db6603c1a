#include "io/text_format.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/text.hpp"
#include "io/numpy_format.hpp"

namespace slab::io {
namespace {

// A JSON string of well-formed UTF-8, whatever `text` holds: a byte that is not UTF-8 becomes U+FFFD.
std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const char c : as_utf8(text)) {
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
std::string json_number(double v) { return std::isfinite(v) ? format_number(v, round_trip_digits) : "null"; }

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

std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", byte);
      out += buf;
    }
  }
  return out;
}

namespace {
// A CSV value that reads back as a float everywhere: "0" would make pandas type a column int64.
std::string csv_number(double value) {
  std::string text = format_number(value, round_trip_digits);
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
  std::string text;    // unquoted: without surrounding blanks; quoted: as between the quotes
  std::size_t column;  // 1-based character position where the field starts
};

std::size_t skip_blanks(std::string_view line, std::size_t at) {
  while (at < line.size() && (line[at] == ' ' || line[at] == '\t')) ++at;
  return at;
}

// The field from `start` to the first comma at or after `from`, as written: for error messages.
std::string raw_field(std::string_view line, std::size_t start, std::size_t from) {
  return printable(line.substr(start, line.find(',', from) - start));
}

// Where in the file a CSV error is, for its message: built only when there is an error.
struct Place {
  const std::string& what;
  std::size_t line;
  [[nodiscard]] std::string line_text() const { return what + " line " + std::to_string(line); }
  [[nodiscard]] std::string column(std::size_t at) const {  // `at`: 0-based index in the line
    return line_text() + ", column " + std::to_string(at + 1);
  }
};

// The text of the quoted field whose opening quote is at `open` ("" inside it is one quote);
// returns the position just past the closing quote, which must be on the same line.
std::size_t read_quoted(std::string_view line, std::size_t open, std::string& text, const Place& where) {
  for (std::size_t i = open + 1; i < line.size(); ++i) {
    if (line[i] != '"') {
      text += line[i];
    } else if (i + 1 < line.size() && line[i + 1] == '"') {
      text += '"';
      ++i;
    } else {
      return i + 1;
    }
  }
  throw InputError(where.column(open) + ": the quoted field '" + printable(line.substr(open)) +
                   "' has no closing quote on its line (a quoted field cannot hold a line break)");
}

// The text of the unquoted field from `start` to the next comma, without trailing blanks; returns
// the position of that comma (or the end of the line). A quote may not appear in it.
std::size_t read_unquoted(std::string_view line, std::size_t start, std::string& text, const Place& where) {
  const std::size_t end = std::min(line.find(',', start), line.size());
  if (const auto quote = line.substr(start, end - start).find('"'); quote != std::string_view::npos)
    throw InputError(where.column(start + quote) + ": a quote inside the unquoted field '" +
                     raw_field(line, start, start) + "' (quote the whole field and double the quotes in it)");
  std::size_t last = end;
  while (last > start && (line[last - 1] == ' ' || line[last - 1] == '\t')) --last;
  text = line.substr(start, last - start);
  return end;
}

// One CSV line split at commas, with RFC 4180 quotes: a field is either unquoted, without any
// quote, or quoted from its first to its last non-blank character ("a,b" is one field, "" inside
// is a quote). InputError names the place of anything else.
std::vector<Field> split_fields(std::string_view line, const Place& where) {
  std::vector<Field> fields;
  for (std::size_t at = 0;; ++at) {  // `at` is where a field starts; ++ steps over its comma
    Field field{{}, at + 1};
    const std::size_t start = skip_blanks(line, at);
    if (start < line.size() && line[start] == '"') {
      at = skip_blanks(line, read_quoted(line, start, field.text, where));
      if (at < line.size() && line[at] != ',')
        throw InputError(where.column(at) + ": text after the closing quote in the field '" +
                         raw_field(line, start, at) + "' (a quote inside a quoted field is written \"\")");
    } else {
      at = read_unquoted(line, start, field.text, where);
    }
    fields.push_back(std::move(field));
    if (at >= line.size()) return fields;
  }
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
    const Place where{what, number};
    const auto fields = split_fields(lines[number - 1], where);
    const auto at = [&](const Field& f) { return where.column(f.column - 1); };
    std::vector<double> row(fields.size());
    const Field* bad = nullptr;
    std::size_t numbers = 0;
    for (std::size_t c = 0; c < fields.size(); ++c) {
      const Number n = parse_number(fields[c].text, row[c]);
      if (n == Number::too_large)
        throw InputError(at(fields[c]) + ": '" + printable(fields[c].text) + "' is beyond the range of double");
      if (n == Number::ok) ++numbers;
      if (n == Number::not_a_number && bad == nullptr) bad = &fields[c];
    }
    const bool header = first && numbers == 0;
    first = false;
    if (header) continue;  // the rule: the first line that holds no number at all is a header
    if (bad != nullptr)
      throw InputError(at(*bad) + ": " + (bad->text.empty() ? "empty field" : "'" + printable(bad->text) + "'") +
                       " is not a number" + (rows == 0 ? " (a header line holds no numbers at all)" : ""));
    if (rows == 0) {
      columns = row.size();
      first_row_line = number;
    }
    if (row.size() != columns)
      throw InputError(where.line_text() + ": " + std::to_string(row.size()) + " fields, expected " +
                       std::to_string(columns) + " as on line " + std::to_string(first_row_line));
    values.insert(values.end(), row.begin(), row.end());
    ++rows;
  }
  return Tensor({rows, columns}, std::move(values));
}

Tensor read_csv(const std::string& path) { return parse_csv(read_file(path), "'" + path + "'"); }

}  // namespace slab::io
