// File: weighted_round_robin.h
// weighted_round_robin: nginx's smooth weighted round robin, precomputed per snapshot into a
// schedule a pick walks with one atomic increment: weights 5,1,1 give a a b a c a a, never a
// burst of one host. Unusable hosts are skipped.
#pragma once
#include "balance/policy.h"
