#include "app/checkpoint_record.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/error.hpp"
#include "core/text.hpp"

namespace slab::app {

std::string describe(const io::AttributeValue& value) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  if (const auto* s = std::get_if<std::string>(&value)) return "'" + *s + "'";
  if (const auto* d = std::get_if<double>(&value)) return format_number(*d, round_trip_digits);
  return "a list of " + std::to_string(std::get<std::vector<double>>(value).size()) + " numbers";
}

namespace {

// Exact: the same alternative and the same value (doubles bit for bit, so NaN never matches).
bool same(const io::AttributeValue& a, const io::AttributeValue& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<double>(&a)) {
    const double y = std::get<double>(b);
    return std::memcmp(x, &y, sizeof y) == 0;
  }
  return a == b;
}

std::string kind_of(const io::AttributeValue& value) {
  switch (value.index()) {
    case 0:
      return "an integer";
    case 1:
      return "a floating-point number";
    case 2:
      return "text";
    default:
      return "a list";
  }
}

[[noreturn]] void refuse(const CheckpointRules& rules, const std::string& what) {
  throw InputError(rules.where + ": " + what);
}

}  // namespace

void check_parameters_and_step(const CheckpointRecord& record, const CheckpointRules& rules) {
  if (record.complete != 1)
    refuse(rules, "the file is not marked complete (attribute complete = 1, which slab writes last, is " +
                      (record.complete ? "= " + std::to_string(*record.complete) : std::string("missing")) +
                      "): not a whole checkpoint");
  if (!record.format)
    refuse(rules, "the checkpoint does not record its format (slab writes format = '" + std::string(checkpoint_format) +
                      "' on /checkpoint): it is not a slab checkpoint");
  if (*record.format != checkpoint_format)
    refuse(rules, "the checkpoint's format is " + describe(as_utf8(*record.format)) + ", not '" + checkpoint_format +
                      "' (another version of slab wrote it, or it is not a slab checkpoint); start the run over");
  std::map<std::string, const io::AttributeValue*> stored;
  for (const auto& [name, value] : record.parameters) stored.emplace(name, &value);
  for (const auto& [name, value] : rules.parameters) {
    const auto found = stored.find(name);
    if (found == stored.end())
      refuse(rules, "the checkpoint does not record " + name + " (this run has " + name + " = " + describe(value) +
                        "); it is not a checkpoint of this kind of run");
    if (found->second->index() != value.index())
      refuse(rules, "the checkpoint has " + name + " = " + describe(*found->second) + " as " + kind_of(*found->second) +
                        ", but this run's " + name + " is " + kind_of(value) + " (" + describe(value) +
                        "); it is not a checkpoint slab wrote for this run");
    if (!same(*found->second, value))
      refuse(rules, "the checkpoint has " + name + " = " + describe(*found->second) + " but this run has " +
                        describe(value) + "; give the parameters the checkpoint was made with");
    stored.erase(found);
  }
  if (!stored.empty())
    refuse(rules, "the checkpoint records " + stored.begin()->first + " = " + describe(*stored.begin()->second) +
                      ", which this run does not have");
  if (!record.step) refuse(rules, "the checkpoint does not record its " + rules.step_name);
  if (*record.step < 1 || *record.step >= rules.last_step)
    refuse(rules, "the checkpoint's " + rules.step_name + " is " + std::to_string(*record.step) +
                      ", outside this run (a checkpoint lies between 1 and " + std::to_string(rules.last_step - 1) +
                      ")");
}

void check_shapes(const CheckpointRecord& record, const CheckpointRules& rules) {
  for (const auto& [name, shape] : rules.shapes(*record.step)) {
    const auto found = record.shapes.find(name);
    if (found == record.shapes.end() || !found->second)
      refuse(rules, "the checkpoint has no dataset of numbers '" + name + "' (of float64, as slab writes)");
    if (*found->second != shape)
      refuse(rules, "the checkpoint's '" + name + "' has shape " + to_string(*found->second) + ", but at " +
                        rules.step_name + " " + std::to_string(*record.step) + " it must be " + to_string(shape));
  }
}

void check_values(const CheckpointRecord& record, const CheckpointRules& rules) {
  for (const auto& [name, values] : record.values)
    for (std::size_t i = 0; i < values.size(); ++i)
      if (!std::isfinite(values[i]))
        refuse(rules, "the checkpoint's '" + name + "' holds NaN or infinity (element " + std::to_string(i) + ")");
  if (rules.check_values) rules.check_values(*record.step, record.values);
}

namespace {
// SplitMix64's finaliser: every input bit affects every output bit.
std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
}  // namespace

void ArrayDigest::add(std::string_view name, const Shape& shape, const std::vector<std::uint64_t>& start,
                      const std::vector<std::uint64_t>& count, const double* values) {
  if (name.starts_with('/')) name.remove_prefix(1);
  const std::size_t n = start.size();
  std::uint64_t total = n == 0 ? 0 : 1;
  for (const auto c : count) total *= c;
  if (total == 0 || values == nullptr || shape.size() != n) return;
  const std::uint64_t seed = fnv1a(name.data(), name.size());
  std::vector<std::uint64_t> at(n, 0);  // the position in the box, an odometer over its axes
  for (std::uint64_t k = 0; k < total; ++k) {
    std::uint64_t index = 0;
    for (std::size_t d = 0; d < n; ++d) index = index * shape[d] + start[d] + at[d];
    std::uint64_t bits = 0;
    std::memcpy(&bits, values + k, sizeof bits);
    sum_ += mix(mix(seed + index) ^ bits);
    for (std::size_t d = n; d-- > 0;) {
      if (++at[d] < count[d]) break;
      at[d] = 0;
    }
  }
}

std::string checkpoint_digest(const Fingerprint& parameters, std::int64_t step, std::uint64_t arrays) {
  std::string text = std::string(checkpoint_format) + "\nstep " + std::to_string(step) + "\n";
  // By name: HDF5 need not list attributes in the order they were written.
  Fingerprint sorted = parameters;
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [name, value] : sorted) {
    text += name + " " + kind_of(value) + " ";
    if (const auto* d = std::get_if<double>(&value)) {
      std::uint64_t bits = 0;
      std::memcpy(&bits, d, sizeof bits);
      text += hex64(bits);
    } else {
      text += describe(value);
    }
    text += "\n";
  }
  text += "arrays " + hex64(arrays) + "\n";
  return "fnv1a-64:" + hex64(fnv1a(text.data(), text.size()));
}

void check_digest(const CheckpointRecord& record, const CheckpointRules& rules, const std::string& computed) {
  if (!record.digest) refuse(rules, "the checkpoint does not record its digest");
  if (*record.digest != computed)
    refuse(rules, "the checkpoint's content does not match its digest (" + describe(as_utf8(*record.digest)) +
                      ", computed " + computed + "): its " + rules.step_name +
                      ", parameters or state were changed after slab wrote it");
}

CheckpointRules heat_rules(std::string where, Fingerprint parameters, std::uint64_t nx, std::int64_t steps,
                           std::function<std::int64_t(std::int64_t)> snapshots_by,
                           std::function<double(std::int64_t)> snapshot_time) {
  CheckpointRules rules{std::move(where), std::move(parameters), steps, "step", {}, {}};
  rules.shapes = [nx, snapshots_by](std::int64_t step) {
    const auto taken = static_cast<std::size_t>(snapshots_by(step));
    return std::map<std::string, Shape>{
        {"/checkpoint/u", {nx}}, {"/checkpoint/t", {taken}}, {"/checkpoint/snapshots", {taken, nx}}};
  };
  rules.check_values = [where = rules.where, snapshot_time](std::int64_t,
                                                            const std::map<std::string, std::vector<double>>& values) {
    const auto& t = values.at("/checkpoint/t");
    for (std::size_t k = 0; k < t.size(); ++k)
      if (t[k] != snapshot_time(static_cast<std::int64_t>(k)))
        throw InputError(where + ": the checkpoint's snapshot " + std::to_string(k) + " is at t = " + describe(t[k]) +
                         " but this run takes it at t = " + describe(snapshot_time(static_cast<std::int64_t>(k))));
  };
  return rules;
}

CheckpointRules gd_rules(std::string where, Fingerprint parameters, std::uint64_t cols, std::int64_t iters) {
  CheckpointRules rules{std::move(where), std::move(parameters), iters, "iteration", {}, {}};
  rules.shapes = [cols](std::int64_t step) {
    return std::map<std::string, Shape>{
        {"/checkpoint/w", {cols}}, {"/checkpoint/loss", {static_cast<std::size_t>(step)}}, {"/checkpoint/state", {2}}};
  };
  rules.check_values = [where = rules.where](std::int64_t step,
                                             const std::map<std::string, std::vector<double>>& values) {
    for (const double loss : values.at("/checkpoint/loss"))
      if (loss < 0)
        throw InputError(where + ": the checkpoint's loss history holds a negative value " + describe(loss));
    const double increases = values.at("/checkpoint/state")[1];
    if (increases < 0 || increases > static_cast<double>(step) || increases != std::floor(increases))
      throw InputError(where + ": the checkpoint counts " + describe(increases) + " loss increases in " +
                       std::to_string(step) + " iterations");
  };
  return rules;
}

std::uint64_t fnv1a(const char* data, std::size_t size, std::uint64_t state) {
  for (std::size_t i = 0; i < size; ++i) {
    state ^= static_cast<unsigned char>(data[i]);
    state *= 1099511628211ull;
  }
  return state;
}

std::string hex64(std::uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace slab::app
