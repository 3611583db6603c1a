// Which hosts a run ran on, and which ranks on each, for /provenance: "node1:0-1,node2:2-3" (one
// entry per host, in the order of its lowest rank; a host whose ranks are not one range lists
// them joined by '+', "node1:0+2,node2:1+3").
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/mpi.hpp"

namespace slab::app {

struct HostMap {
  std::string hosts;       // "node1:0-1,node2:2-3"
  std::int64_t nodes = 0;  // the number of distinct hosts
};

// Collective, once at start-up; the same value on every rank. Each node's ranks meet on their node
// (Comm::split_by_node), its leader sends one line per host to rank 0 only (a message per node, not
// per rank), and rank 0 broadcasts the result, which every rank must write alike (O(nodes) bytes).
[[nodiscard]] HostMap host_map(const mpi::Comm& comm);

// Ascending ranks as ranges: {0, 1, 2, 5, 7, 8} -> "0-2+5+7-8". Pure.
[[nodiscard]] std::string rank_ranges(std::span<const int> sorted_ranks);

}  // namespace slab::app
