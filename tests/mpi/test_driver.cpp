// The driver's steps, called one at a time as run_heat and run_regress call them.
#include <gtest/gtest.h>

#include <filesystem>

#include "app/hosts.hpp"
#include "app/run_heat.hpp"
#include "app/run_regress.hpp"
#include "comms.hpp"

using namespace slab;
using slab::test::world;

namespace {

// A folder for outputs, the same on every rank, removed at the end of the test.
class SharedFolder {
 public:
  SharedFolder() {
    if (world().is_root()) {
      path_ = std::filesystem::temp_directory_path() / "slab-driver-test-XXXXXX";
      path_ = mkdtemp(path_.data());
    }
    world().broadcast(path_);
  }
  ~SharedFolder() {
    world().barrier();
    if (world().is_root()) std::filesystem::remove_all(path_);
  }
  [[nodiscard]] std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace

TEST(Driver, HeatPlanResolvesTheProblemAndSizesTheOutput) {
  app::Config config;
  const SharedFolder folder;
  config.output.out = folder / "heat.h5";
  config.heat.request.nx = 101;
  config.heat.request.steps = 10;
  config.heat.request.snapshots = 3;
  const app::HeatPlan plan = app::plan_heat(world(), config);
  EXPECT_EQ(plan.problem.steps, 10);
  EXPECT_EQ(plan.checkpoint, config.output.out + ".ckpt.h5");
  // u (K, nx) plus a row of headroom, x and t, each 8 bytes a value plus 4 KiB, and 64 KiB of metadata.
  EXPECT_EQ(plan.output.expected_bytes, (8 * 4 * 101 + 4096) + (8 * 3 + 4096) + 65536u);
  EXPECT_EQ(plan.fingerprint.front(), (app::Fingerprint::value_type{"kind", std::string("heat")}));
  EXPECT_EQ(plan.fingerprint[1], (app::Fingerprint::value_type{"nx", std::int64_t{101}}));
}

TEST(Driver, HeatPlanRefusesContradictoryOptionsOnEveryRank) {
  app::Config config;
  const SharedFolder folder;
  config.output.out = folder / "heat.h5";
  config.heat.compress = 3;  // without --layout extendible
  EXPECT_THROW((void)app::plan_heat(world(), config), mpi::CollectiveError);
  config.heat.compress = 0;
  config.heat.init = "parabola";
  EXPECT_THROW((void)app::plan_heat(world(), config), mpi::CollectiveError);
}

TEST(Driver, RegressPlanRefusesCheckpointsForDirectMethods) {
  app::Config config;
  config.command = app::Command::regress;
  const SharedFolder folder;
  config.output.out = folder / "reg.h5";
  config.regress.method = regression::Method::normal;
  config.output.checkpoint_every = 10;
  try {
    (void)app::plan_regress(world(), config);
    ADD_FAILURE() << "expected an error";
  } catch (const mpi::CollectiveError& e) {
    EXPECT_EQ(e.code(), ExitCode::usage);
    EXPECT_NE(std::string(e.what()).find("--method gd only"), std::string::npos) << e.what();
  }
}

TEST(Driver, SyntheticDataIsLoadedWithItsTrueModel) {
  app::RegressConfig cfg;
  cfg.rows = 7;
  cfg.cols = 3;
  const app::Dataset data = app::load_data(world(), cfg);
  EXPECT_EQ(data.X.global_shape(), (Shape{7, 3}));
  EXPECT_EQ(data.y.global_shape(), (Shape{7}));
  ASSERT_TRUE(data.truth.has_value());
  EXPECT_EQ(data.truth->w.size(), 3u);
  EXPECT_EQ(app::describe(data, cfg, 2, "r.h5").rfind("slab regress: N=7 D=3 data=synthetic", 0), 0u);
}

// One node: this host with every rank, the same text on every rank.
TEST(Driver, HostMapOfOneNodeNamesThisHostWithEveryRank) {
  const app::HostMap map = app::host_map(world());
  const std::string ranks = world().size() == 1 ? "0" : "0-" + std::to_string(world().size() - 1);
  EXPECT_EQ(map.hosts, mpi::processor_name() + ":" + ranks);
  EXPECT_EQ(map.nodes, 1);
}
