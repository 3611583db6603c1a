#include "checkpoint.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "stop.hpp"

namespace slab::app {

std::string checkpoint_path(const std::string& out) { return io::output_target(out) + ".ckpt.h5"; }

void write_replicated(const mpi::Comm& comm, io::Sink& sink, const std::string& name, const std::vector<double>& v) {
  sink.create({name, {v.size()}});
  sink.write(name, comm.is_root() && !v.empty() ? io::Block{{0}, {v.size()}, v.data()} : io::Block::none(1));
}

void write_checkpoint(const mpi::Comm& comm, const std::string& path, io::IoMode mode, const Fingerprint& fingerprint,
                      std::int64_t step, const std::function<void(io::Sink&)>& fill) {
  const auto started = std::chrono::steady_clock::now();
  io::Output out(comm, {path, mode, /*overwrite=*/true});
  fill(out.sink());
  std::vector<double> values;
  std::string names;
  for (const auto& [name, value] : fingerprint) {
    values.push_back(value);
    names += (names.empty() ? "" : ",") + name;
  }
  write_replicated(comm, out.sink(), "checkpoint/fingerprint", values);
  write_replicated(comm, out.sink(), "checkpoint/step", {static_cast<double>(step)});
  out.sink().annotate("checkpoint", {{"step", step}, {"fingerprint", names}});
  out.commit();
  stop::note_checkpoint(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

std::int64_t check_checkpoint(const mpi::Comm& comm, const io::H5Input& checkpoint, const std::string& path,
                              const Fingerprint& expected) {
  const Tensor stored = checkpoint.whole("/checkpoint/fingerprint", {1, expected.size(), 1});
  mpi::collectively(comm, [&] {
    for (std::size_t i = 0; i < expected.size(); ++i)
      if (stored.data()[i] != expected[i].second) {
        char text[160];
        std::snprintf(text, sizeof text, "the checkpoint has %s = %.17g but this run has %.17g",
                      expected[i].first.c_str(), stored.data()[i], expected[i].second);
        throw InputError("--restart " + path + ": " + text + "; give the parameters the checkpoint was made with");
      }
  });
  const Tensor step = checkpoint.whole("/checkpoint/step", {1, 1, 1});
  return static_cast<std::int64_t>(step.data()[0]);
}

void remove_checkpoint(const mpi::Comm& comm, const std::string& path) {
  comm.barrier();
  if (comm.is_root()) {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
}

}  // namespace slab::app
