// File: least_request.h
// least_request: the power of two choices (Mitzenmacher): two different random usable hosts, the
// one with fewer requests in flight per unit of (slow start) weight wins. O(1) per pick, and close
// to least_connections' balance without its scan.
#pragma once
#include "balance/policy.h"
