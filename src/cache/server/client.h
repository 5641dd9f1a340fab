// File: client.h
// ClientState: what the server knows of one connection (net::RespClient: CLIENT LIST fields,
// protocol, auth).
#pragma once

#include "pier/net/resp_service.h"

namespace pier::cache::server {

using ClientState = net::RespClient;

}  // namespace pier::cache::server
