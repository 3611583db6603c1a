#include "io/numpy_format.hpp"

#include <zlib.h>

#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.hpp"
#include "io/input_file.hpp"
#include "io/text_format.hpp"

namespace slab::io {

static_assert(std::endian::native == std::endian::little, "slab writes '<f8' from native doubles");

namespace {

constexpr std::string_view npy_magic = "\x93NUMPY";

std::string shape_tuple(const Shape& shape) { return to_string(shape); }

void put16(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
}
void put32(std::string& out, std::uint32_t v) {
  put16(out, v & 0xffff);
  put16(out, v >> 16);
}
std::uint32_t get16(std::string_view b, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 8;
}
std::uint32_t get32(std::string_view b, std::size_t at) { return get16(b, at) | get16(b, at + 2) << 16; }

std::uint32_t crc_of(std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  for (std::size_t done = 0; done < data.size();) {
    const auto n = static_cast<uInt>(std::min<std::size_t>(data.size() - done, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data() + done), n);
    done += n;
  }
  return static_cast<std::uint32_t>(crc);
}

void write_all(const std::string& path, const std::string& bytes) {
  // Exclusive (O_EXCL): slab writes only files it creates, never through a symlink.
  std::ofstream out(path, std::ios::binary | std::ios::out | std::ios::__noreplace);
  if (!out) throw RuntimeFailure("cannot create '" + path + "' (does it exist already?)");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw RuntimeFailure("write failed for '" + path + "' (disk full?)");
}

// The value of `key` in the header dict: the text after "'key':" up to the next top-level comma.
std::string_view dict_value(std::string_view dict, std::string_view key, const std::string& what) {
  const std::string quoted = "'" + std::string(key) + "'";
  const auto at = dict.find(quoted);
  if (at == std::string_view::npos) throw InputError(what + ": .npy header has no " + quoted);
  auto pos = dict.find(':', at + quoted.size());
  if (pos == std::string_view::npos) throw InputError(what + ": malformed .npy header");
  ++pos;
  while (pos < dict.size() && dict[pos] == ' ') ++pos;
  std::size_t end = pos;
  int depth = 0;
  while (end < dict.size()) {
    const char c = dict[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if ((c == ',' && depth == 0) || c == '}') break;
    ++end;
  }
  while (end > pos && dict[end - 1] == ' ') --end;
  return dict.substr(pos, end - pos);
}

Shape parse_shape(std::string_view text, const std::string& what) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')')
    throw InputError(what + ": malformed shape in .npy header");
  Shape shape;
  std::size_t pos = 1;
  const std::size_t end = text.size() - 1;
  while (pos < end) {
    while (pos < end && (text[pos] == ' ' || text[pos] == ',')) ++pos;
    if (pos >= end) break;
    std::uint64_t dim = 0;
    const auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + end, dim);
    if (ec != std::errc()) throw InputError(what + ": malformed shape in .npy header");
    shape.push_back(static_cast<std::size_t>(dim));
    pos = static_cast<std::size_t>(ptr - text.data());
  }
  return shape;
}

}  // namespace

std::string npy_header(const Shape& shape) {
  std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape_tuple(shape) + ", }";
  // Magic (6) + version (2) + length field (2 or 4) + dict + padding + '\n' is a multiple of 64.
  for (const int version : {1, 2}) {
    const std::size_t prefix = version == 1 ? 10 : 12;
    const std::size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
    const std::size_t length = total - prefix;
    if (version == 1 && length > 0xffff) continue;
    std::string header(npy_magic);
    header.push_back(static_cast<char>(version));
    header.push_back(0);
    if (version == 1)
      put16(header, static_cast<std::uint32_t>(length));
    else
      put32(header, static_cast<std::uint32_t>(length));
    header += dict;
    header.append(total - header.size() - 1, ' ');
    header.push_back('\n');
    return header;
  }
  throw RuntimeFailure("shape too long for a .npy header");
}

namespace {

// UTF-8 to code points; a malformed byte becomes U+FFFD.
std::vector<std::uint32_t> code_points(std::string_view text) {
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool valid = n > 0 && i + n <= text.size();
    std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (std::size_t k = 1; valid && k < n; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      valid = (b >> 6) == 2;
      cp = cp << 6 | (b & 0x3f);
    }
    out.push_back(valid ? cp : 0xfffd);
    i += valid ? n : 1;
  }
  return out;
}

}  // namespace

std::string npy_text_bytes(const std::string& text) {
  const std::vector<std::uint32_t> points = code_points(text);
  const std::size_t n = std::max<std::size_t>(points.size(), 1);
  std::string bytes = npy_header({});
  bytes.replace(bytes.find("'<f8'"), 5, "'<U" + std::to_string(n) + "'");
  // The dict grew by a few characters: re-pad to a multiple of 64 (the length field is 16 bits).
  const std::size_t dict_end = bytes.find('}') + 1;
  bytes.resize(dict_end);
  const std::size_t total = (dict_end + 1 + 63) / 64 * 64;
  bytes.append(total - dict_end - 1, ' ');
  bytes.push_back('\n');
  bytes[8] = static_cast<char>((total - 10) & 0xff);
  bytes[9] = static_cast<char>((total - 10) >> 8);
  for (std::size_t i = 0; i < n; ++i) put32(bytes, i < points.size() ? points[i] : 0);
  return bytes;
}

std::string npy_bytes(const Tensor& tensor) {
  std::string bytes = npy_header(tensor.shape());
  const auto data = tensor.data();
  bytes.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(double));
  return bytes;
}

Tensor parse_npy(std::string_view bytes, const std::string& what) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != npy_magic) throw InputError(what + ": not a .npy array");
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t prefix = 10;
  std::size_t length = 0;
  if (major == 1) {
    length = get16(bytes, 8);
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw InputError(what + ": truncated .npy header");
    length = get32(bytes, 8);
    prefix = 12;
  } else {
    throw InputError(what + ": unsupported .npy format version " + std::to_string(major));
  }
  if (bytes.size() < prefix + length) throw InputError(what + ": truncated .npy header");
  const std::string_view dict = bytes.substr(prefix, length);
  const auto descr = dict_value(dict, "descr", what);
  if (descr != "'<f8'")
    throw InputError(what + ": dtype " + std::string(descr) + " is not float64 ('<f8'); convert with .astype('<f8')");
  const auto order = dict_value(dict, "fortran_order", what);
  if (order != "False" && order != "True") throw InputError(what + ": malformed fortran_order in .npy header");
  const Shape shape = parse_shape(dict_value(dict, "shape", what), what);
  std::size_t count = 1;
  for (const auto d : shape) {
    if (d != 0 && count > std::numeric_limits<std::size_t>::max() / 8 / d)
      throw InputError(what + ": .npy shape is too large");
    count *= d;
  }
  const std::string_view payload = bytes.substr(prefix + length);
  if (payload.size() != count * sizeof(double))
    throw InputError(what + ": .npy data holds " + std::to_string(payload.size()) + " bytes, shape " +
                     to_string(shape) + " needs " + std::to_string(count * sizeof(double)));
  std::vector<double> data(count);
  if (count > 0) std::memcpy(data.data(), payload.data(), payload.size());
  Tensor t(shape, std::move(data));
  if (order == "True" && shape.size() >= 2) {
    // Fortran order: the reversed shape in C order, then axes reversed.
    Shape reversed(shape.rbegin(), shape.rend());
    const Tensor f(reversed, t.to_vec());
    Tensor c(shape);
    std::vector<std::size_t> index(shape.size(), 0);
    for (std::size_t flat = 0; flat < count; ++flat) {
      std::size_t f_offset = 0;
      for (std::size_t a = shape.size(); a-- > 0;) f_offset = f_offset * shape[a] + index[a];
      c.data()[flat] = f.data()[f_offset];
      for (std::size_t a = shape.size(); a-- > 0;) {
        if (++index[a] < shape[a]) break;
        index[a] = 0;
      }
    }
    return c;
  }
  return t;
}

// The fields a zip entry's local header and central directory record share, from "version needed"
// to the extra field's length: stored (method 0), no data descriptor, DOS date 1980-01-01.
static void put_entry(std::string& out, std::uint32_t crc, std::size_t size, std::size_t name_length) {
  put16(out, 20);
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  put16(out, 0x21);
  put32(out, crc);
  put32(out, static_cast<std::uint32_t>(size));
  put32(out, static_cast<std::uint32_t>(size));
  put16(out, static_cast<std::uint32_t>(name_length));
  put16(out, 0);
}

void write_npz(const std::string& path, const std::vector<std::pair<std::string, const Tensor*>>& members,
               const std::vector<std::pair<std::string, std::string>>& texts) {
  std::string zip;
  std::string directory;
  const std::size_t count = members.size() + texts.size();
  for (std::size_t i = 0; i < count; ++i) {
    const bool text = i >= members.size();
    const std::string member = (text ? texts[i - members.size()].first : members[i].first) + ".npy";
    const std::string data = text ? npy_text_bytes(texts[i - members.size()].second) : npy_bytes(*members[i].second);
    if (data.size() >= 0xffffffffu || zip.size() >= 0xffffffffu)
      throw InputError("'" + path + "': .npz output is limited to 4 GiB per member and archive; use an .h5 output");
    const std::uint32_t crc = crc_of(data);
    const auto offset = static_cast<std::uint32_t>(zip.size());
    put32(zip, 0x04034b50);  // local file header
    put_entry(zip, crc, data.size(), member.size());
    zip += member;
    zip += data;
    put32(directory, 0x02014b50);  // central directory entry
    put16(directory, 20);          // made by zip 2.0
    put_entry(directory, crc, data.size(), member.size());
    put16(directory, 0);
    put16(directory, 0);
    put16(directory, 0);
    put32(directory, 0);
    put32(directory, offset);
    directory += member;
  }
  if (zip.size() + directory.size() >= 0xffffffffu)
    throw InputError("'" + path + "': .npz output is limited to 4 GiB; use an .h5 output");
  const auto directory_offset = static_cast<std::uint32_t>(zip.size());
  zip += directory;
  put32(zip, 0x06054b50);
  put16(zip, 0);
  put16(zip, 0);
  put16(zip, static_cast<std::uint32_t>(count));
  put16(zip, static_cast<std::uint32_t>(count));
  put32(zip, static_cast<std::uint32_t>(directory.size()));
  put32(zip, directory_offset);
  put16(zip, 0);
  write_all(path, zip);
}

namespace {

// The name numpy.load gives a member: its file name without ".npy".
std::string array_name(const std::string& file) {
  return file.size() > 4 && file.ends_with(".npy") ? file.substr(0, file.size() - 4) : file;
}

// Two members of one array name: numpy.load reads one of them and slab would read another.
std::string duplicate_member(const std::string& what, const std::string& first, const std::string& second) {
  const std::string shown = "'" + printable(first) + "'";
  if (first == second) return what + ": the archive holds two members named " + shown + "; keep one of them";
  return what + ": members " + shown + " and '" + printable(second) + "' are both the array '" +
         printable(array_name(first)) + "'; keep one of them";
}

}  // namespace

std::map<std::string, Tensor> parse_npz(std::string_view bytes, const std::string& what, const MemberFilter& wanted) {
  // Find the end-of-central-directory record (it may be followed by a comment).
  if (bytes.size() < 22) throw InputError(what + ": not a .npz (zip) archive");
  std::size_t eocd = bytes.size() - 22;
  while (get32(bytes, eocd) != 0x06054b50) {
    if (eocd == 0 || bytes.size() - eocd > 22 + 0xffff) throw InputError(what + ": not a .npz (zip) archive");
    --eocd;
  }
  const std::size_t entries = get16(bytes, eocd + 10);
  std::size_t at = get32(bytes, eocd + 16);
  std::map<std::string, Tensor> members;
  std::map<std::string, std::string> files;  // array name -> member file name, for every member
  for (std::size_t e = 0; e < entries; ++e) {
    if (at + 46 > bytes.size() || get32(bytes, at) != 0x02014b50) throw InputError(what + ": corrupt zip directory");
    const std::uint32_t method = get16(bytes, at + 10);
    const std::uint32_t crc = get32(bytes, at + 16);
    const std::size_t compressed = get32(bytes, at + 20);
    const std::size_t size = get32(bytes, at + 24);
    const std::size_t name_length = get16(bytes, at + 28);
    const std::size_t next = at + 46 + name_length + get16(bytes, at + 30) + get16(bytes, at + 32);
    const std::size_t local = get32(bytes, at + 42);
    if (at + 46 + name_length > bytes.size()) throw InputError(what + ": corrupt zip directory");
    const std::string file(bytes.substr(at + 46, name_length));
    at = next;
    const std::string name = array_name(file);
    if (const auto [seen, fresh] = files.emplace(name, file); !fresh)
      throw InputError(duplicate_member(what, seen->second, file));
    if (wanted && !wanted(name)) continue;  // a member nobody asked for is not even decompressed
    const std::string member = "member '" + printable(name) + "'";
    if (local + 30 > bytes.size() || get32(bytes, local) != 0x04034b50) throw InputError(what + ": corrupt zip entry");
    const std::size_t data_at = local + 30 + get16(bytes, local + 26) + get16(bytes, local + 28);
    if (data_at > bytes.size() || compressed > bytes.size() - data_at)
      throw InputError(what + ": " + member + " is truncated");
    const std::string_view stored = bytes.substr(data_at, compressed);
    std::string inflated;
    std::string_view data = stored;
    if (method == 8) {
      // Deflate cannot expand more than about 1032:1; a larger declared size is a lie.
      if (size / 1032 > compressed + 64) throw InputError(what + ": " + member + " declares an impossible size");
      inflated.resize(size);
      z_stream z{};
      if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw RuntimeFailure("zlib inflateInit2 failed");
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(stored.data()));
      z.avail_in = static_cast<uInt>(stored.size());
      z.next_out = reinterpret_cast<Bytef*>(inflated.data());
      z.avail_out = static_cast<uInt>(inflated.size());
      const int status = inflate(&z, Z_FINISH);
      inflateEnd(&z);
      if (status != Z_STREAM_END || z.total_out != size) throw InputError(what + ": " + member + " is corrupt");
      data = inflated;
    } else if (method != 0) {
      throw InputError(what + ": " + member + " uses zip method " + std::to_string(method));
    }
    if (data.size() != size || crc_of(data) != crc) throw InputError(what + ": " + member + " fails its CRC");
    members.emplace(name, parse_npy(data, what + " " + member));
  }
  return members;
}

std::map<std::string, Tensor> read_npz(const std::string& path, const MemberFilter& wanted) {
  return parse_npz(read_file(path), "'" + path + "'", wanted);
}

std::string read_file(const std::string& path) { return read_regular_file(path, "'" + path + "'"); }

}  // namespace slab::io
