// See compute_replay.cpp: computation measured on this machine, injected into the simulation.
#pragma once

// Collective in spirit: every rank calls it at the start of each repetition of a unit of work, at
// the same point of its code. From then on, each compute section injects the least CPU time this
// path (compute_replay.cpp) measured so far, by any rank in any repetition.
void replay_next_repetition();
