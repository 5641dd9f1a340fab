// File: least_connections.h
// least_connections: the usable host with the fewest requests in flight per unit of (slow
// start) weight; ties go to the first found from a rotating start. Scans every host.
#pragma once
#include "balance/policy.h"
