#include "app/hosts.hpp"

#include <algorithm>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

namespace slab::app {

std::string rank_ranges(std::span<const int> sorted_ranks) {
  std::string text;
  for (std::size_t i = 0; i < sorted_ranks.size();) {
    std::size_t j = i;
    while (j + 1 < sorted_ranks.size() && sorted_ranks[j + 1] == sorted_ranks[j] + 1) ++j;
    if (!text.empty()) text += '+';
    text += std::to_string(sorted_ranks[i]);
    if (j > i) text += "-" + std::to_string(sorted_ranks[j]);
    i = j + 1;
  }
  return text;
}

namespace {

// On a node's leader: "host\tranges\n" for each host name its ranks report (one, unless MPI's idea
// of a node spans several names), in the order of each host's lowest rank.
std::string node_lines(const std::vector<int>& ranks, const std::vector<std::string>& names) {
  std::vector<std::pair<std::string, std::vector<int>>> by_host;
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    auto host = std::find_if(by_host.begin(), by_host.end(), [&](const auto& h) { return h.first == names[i]; });
    if (host == by_host.end()) host = by_host.insert(by_host.end(), {names[i], {}});
    host->second.push_back(ranks[i]);
  }
  std::string lines;
  for (auto& [host, members] : by_host) {
    std::sort(members.begin(), members.end());
    lines += host + "\t" + rank_ranges(members) + "\n";
  }
  return lines;
}

// On rank 0: the leaders' lines merged into "host:ranges,..." (a host named by two nodes, which MPI
// should never report, keeps both range lists).
HostMap merge_lines(const std::vector<std::string>& from_leaders) {
  std::vector<std::pair<std::string, std::string>> hosts;
  for (const auto& lines : from_leaders) {
    std::istringstream in(lines);
    std::string line;
    while (std::getline(in, line)) {
      const auto tab = line.find('\t');
      std::string host = line.substr(0, tab), ranges = line.substr(tab + 1);
      auto same = std::find_if(hosts.begin(), hosts.end(), [&](const auto& h) { return h.first == host; });
      if (same == hosts.end())
        hosts.emplace_back(std::move(host), std::move(ranges));
      else
        same->second += "+" + ranges;
    }
  }
  HostMap map;
  for (const auto& [host, ranges] : hosts) map.hosts += (map.hosts.empty() ? "" : ",") + host + ":" + ranges;
  map.nodes = static_cast<std::int64_t>(hosts.size());
  return map;
}

}  // namespace

HostMap host_map(const mpi::Comm& comm) {
  const mpi::Comm node = comm.split_by_node();
  // Within the node only: its ranks and their host names, on its leader.
  const int rank = comm.rank();
  const std::vector<int> ranks = node.gather(std::span<const int>(&rank, 1), 0);
  const std::vector<std::string> names = node.gather_text(mpi::processor_name(), 0);
  // One text per node, to rank 0 (the leader of its own node, and first among the leaders).
  const std::optional<mpi::Comm> leaders = comm.split_members(node.is_root());
  HostMap map;
  if (leaders) {
    const std::vector<std::string> lines = leaders->gather_text(node_lines(ranks, names), 0);
    if (comm.is_root()) map = merge_lines(lines);
  }
  comm.broadcast(map.hosts);
  map.nodes = comm.allreduce_max(map.nodes);
  return map;
}

}  // namespace slab::app
