// File: random.h
// random: a host at random in proportion to its weight (a binary search in the snapshot's
// cumulative weights; slow start by rejection). Unusable picks are drawn again, then scanned.
#pragma once
#include "balance/policy.h"
