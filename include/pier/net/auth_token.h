// File: auth_token.h
// Where a server's API token comes from, and how a CLI finds it: --token, then PIER_TOKEN, then a
// token file, then DATA_DIR/token, which a server bound to loopback creates (random, mode 0600)
// on its first start.
//   auto token = ResolveToken({.flag = f.token, .data_dir = f.data_dir, .create = true});
#pragma once

#include <string>

#include "pier/base/status.h"

namespace pier::net {

struct TokenSources {
  std::string flag;      // --token
  std::string file;      // --token-file / token_file: a file holding the token
  std::string data_dir;  // DATA_DIR/token, when the others give none ("" : no data dir)
  bool create = false;   // create DATA_DIR/token when it does not exist
};

// The token ("" when no source has one and none may be created). Errors name the file.
Result<std::string> ResolveToken(const TokenSources& sources);

// 32 random bytes as 64 hex digits (OpenSSL's RAND_bytes).
std::string GenerateToken();

}  // namespace pier::net
