// File: definition_json.h
// Consul's JSON forms of a service registration, read and written: the body of
// PUT /v1/agent/service/register (keys matched as Consul's decoder does: any case, with or
// without underscores), Go duration strings ("1m30s"), and the check URL.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "pier/base/duration.h"
#include "pier/base/status.h"
#include "pier/registry/types.h"

namespace pier::registry {

// Limits on a registration body (beyond the HTTP body limit).
inline constexpr size_t kMaxJsonDepth = 16;
inline constexpr size_t kMaxTags = 256;
inline constexpr size_t kMaxChecks = 32;
inline constexpr size_t kMaxMetaPairs = 64;  // Consul's
inline constexpr size_t kMaxMetaKeyLength = 128;
inline constexpr size_t kMaxMetaValueLength = 512;

// Parses the body of a service registration. Errors name the field, e.g.
// `Request decode failed: Check.Interval: time: invalid duration "abc"`.
Result<ServiceDefinition> ParseServiceRegistration(std::string_view body);
Result<ServiceDefinition> ServiceFromJson(const nlohmann::json& j);
// The same form back (ServiceFromJson(ServiceToJson(d)) == d, maintenance aside).
nlohmann::json ServiceToJson(const ServiceDefinition& d);
nlohmann::json CheckDefinitionToJson(const CheckDefinition& c);
// How stores keep a registration: the Consul form plus maintenance state, as one JSON text.
std::string StoreRow(const ServiceDefinition& d);
Result<ServiceDefinition> FromStoreRow(std::string_view row);

struct HttpUrl {
  std::string host;
  uint16_t port = 80;
  std::string target = "/";  // path and query
};
// http://HOST[:PORT][/PATH[?QUERY]]; https is refused (pier's checks speak plain HTTP).
Result<HttpUrl> ParseHttpUrl(std::string_view url);

}  // namespace pier::registry
