// File: api_client.h
// How the CLI commands that talk to a running server (deploy, rollback, status, perf report,
// queue stats, services) reach its HTTP API: the address, the token (--token, PIER_TOKEN or
// DATA_DIR/token, which the server wrote) and HTTPS (--cacert).
//   ApiFlags api;  api.AddTo(sub, "pier up");  auto r = api.Call("GET", "/v1/status");
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <utility>
#include <vector>

#include "pier/base/status.h"
#include "pier/net/http_fetch.h"

namespace pier::app {

struct ApiFlags {
  std::string http = "127.0.0.1:7900";
  std::string token;
  std::string data_dir = "pier-data";
  std::string cacert;  // HTTPS, verified against this CA

  // --http (named `address_flag`), --token, --data-dir, --cacert.
  void AddTo(CLI::App* sub, const std::string& server, const std::string& address_flag = "--http");
  // The token to send ("" when none is found).
  Result<std::string> Token() const;
  // One request with the token; Unavailable (saying where the server was expected) when it
  // cannot be reached.
  Result<net::HttpFetchReply> Call(
      const std::string& method, const std::string& target, const std::string& body = "",
      std::vector<std::pair<std::string, std::string>> headers = {}) const;
  net::TlsClientOptions Tls() const;
};

}  // namespace pier::app
