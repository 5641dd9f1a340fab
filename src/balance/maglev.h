// File: maglev.h
// maglev: Maglev hashing (Eisenbud et al., NSDI'16): a lookup table of a prime size filled by
// each host's permutation (offset and skip from two hashes of its address), turns in proportion
// to weight, so a pick is one table read and a host change moves few entries. An unusable
// host's entries fall to the next entries of the table.
#pragma once
#include "balance/policy.h"
