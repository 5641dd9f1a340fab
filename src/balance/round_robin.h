// File: round_robin.h
// round_robin: each host in turn (weights ignored); unusable hosts are skipped.
#pragma once
#include "balance/policy.h"
