// libFuzzer target for the restart check (src/app/checkpoint_record.hpp): the input fills a
// checkpoint-shaped record (parameters of any type and name, a step, dataset shapes, and values
// for the datasets whose shapes pass, as read_checkpoint reads them; a completion flag, a format and
// a digest) and the complete check runs
// over it, for a heat and a gradient-descent run. Any input must either pass or throw InputError;
// crashes, other exceptions and sanitizer reports are failures. Built and run by run_fuzz.sh.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "app/checkpoint_record.hpp"
#include "core/error.hpp"

namespace {

using namespace slab;

// Consumes the input from the front; past the end it yields zeros.
class Bytes {
 public:
  Bytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | byte();
    return v;
  }
  double real() {
    // Mostly the values a run uses, sometimes any bit pattern (NaN, infinity, denormals).
    const std::uint8_t kind = byte();
    if (kind < 128) return static_cast<double>(kind) * 0.25;
    const std::uint64_t bits = u64();
    double v = 0;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  std::string text() {
    std::string s;
    for (std::uint8_t n = byte() % 12; n > 0; --n) s += static_cast<char>('a' + byte() % 26);
    return s;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_, at_ = 0;
};

io::AttributeValue value(Bytes& in, const io::AttributeValue& like) {
  switch (in.byte() % 5) {
    case 0:
      return like;  // the right value: lets the fuzzer reach the later checks
    case 1:
      return static_cast<std::int64_t>(in.u64());
    case 2:
      return in.real();
    case 3:
      return in.text();
    default:
      return std::vector<double>{in.real()};
  }
}

app::CheckpointRecord record_from(Bytes& in, const app::CheckpointRules& rules) {
  app::CheckpointRecord r;
  if (in.byte() % 8 != 0) r.complete = in.byte() % 4 ? 1 : static_cast<std::int64_t>(in.u64());
  if (in.byte() % 8 != 0) r.format = in.byte() % 4 ? std::string(app::checkpoint_format) : in.text();
  if (in.byte() % 8 != 0) r.digest = in.text();
  for (const auto& [name, v] : rules.parameters)
    if (in.byte() % 8 != 0) r.parameters.emplace_back(in.byte() % 16 == 0 ? in.text() : name, value(in, v));
  if (in.byte() % 8 != 0) r.step = in.byte() % 2 ? static_cast<std::int64_t>(in.u64()) : in.byte();
  return r;
}

void shapes_from(Bytes& in, const app::CheckpointRules& rules, app::CheckpointRecord& r) {
  for (const auto& [name, shape] : rules.shapes(*r.step)) {
    const std::uint8_t kind = in.byte() % 4;
    if (kind == 0) continue;  // missing
    if (kind == 1) {
      r.shapes[name] = std::nullopt;  // a group, a broken link, integers
      continue;
    }
    Shape s = shape;
    if (kind == 3) {
      s.resize(in.byte() % 3);
      for (auto& d : s) d = in.byte() % 8;
    }
    r.shapes[name] = s;
  }
}

void check(Bytes& in, const app::CheckpointRules& rules) {
  app::CheckpointRecord r = record_from(in, rules);
  try {
    app::check_parameters_and_step(r, rules);
    shapes_from(in, rules, r);
    app::check_shapes(r, rules);
    for (const auto& [name, shape] : r.shapes) {
      std::vector<double> values(element_count(*shape));
      for (double& v : values) v = in.real();
      r.values[name] = std::move(values);
    }
    app::check_values(r, rules);
    // The digest of what was read: the recorded one (any text) rarely matches.
    app::ArrayDigest digest;
    for (const auto& [name, values] : r.values)
      digest.add(name, *r.shapes.at(name), std::vector<std::uint64_t>(r.shapes.at(name)->size(), 0), *r.shapes.at(name),
                 values.data());
    app::check_digest(r, rules, app::checkpoint_digest(r.parameters, *r.step, digest.sum()));
  } catch (const InputError&) {
    // The right answer to a damaged or foreign checkpoint.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes in(data, size);
  const std::int64_t steps = 1 + in.byte(), snapshots = 1 + in.byte() % 16;
  // The heat schedule of src: snapshot k after step round(k S / (K - 1)).
  auto snapshot_step = [=](std::int64_t k) {
    return snapshots == 1 ? steps
                          : static_cast<std::int64_t>(
                                std::llround(static_cast<double>(k * steps) / static_cast<double>(snapshots - 1)));
  };
  auto snapshots_by = [=](std::int64_t step) {
    std::int64_t taken = 0;
    while (taken < snapshots && snapshot_step(taken) <= step) ++taken;
    return taken;
  };
  auto snapshot_time = [=](std::int64_t k) { return 0.25 * static_cast<double>(snapshot_step(k)); };
  const app::Fingerprint heat{{"kind", std::string("heat")},
                              {"nx", std::int64_t{5}},
                              {"steps", steps},
                              {"dt", 0.25},
                              {"init", std::string("sine")}};
  const app::Fingerprint gd{
      {"kind", std::string("regress")}, {"cols", std::int64_t{3}}, {"seed", std::int64_t{42}}, {"lr", 0.5}};
  if (in.byte() % 2)
    check(in, app::heat_rules("--restart fuzz", heat, 5, steps, snapshots_by, snapshot_time));
  else
    check(in, app::gd_rules("--restart fuzz", gd, 3, steps));
  return 0;
}
