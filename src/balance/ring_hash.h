// File: ring_hash.h
// ring_hash: consistent hashing (HashRing, virtual nodes in proportion to weight) on the
// request's hash, so adding or removing a host moves about 1/N of keys. Bounded load (Mirrokni,
// Thorup, Zadimoghaddam, SODA'18): a host already past `bounded_load` x the mean requests in
// flight is passed over for the next one on the ring. Unusable hosts are passed over too.
#pragma once
#include "balance/policy.h"
