#include "registry/definition_json.h"

#include <cctype>
#include <charconv>

namespace pier::registry {

using nlohmann::json;

namespace {

// Consul's decoder matches keys case-insensitively and accepts snake_case: "deregister_critical_
// service_after" and "DeregisterCriticalServiceAfter" are the same field.
std::string KeyOf(std::string_view k) {
  std::string out;
  for (char c : k) {
    if (c != '_') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

Status DecodeError(const std::string& field, const std::string& what) {
  return Status::InvalidArgument("Request decode failed: " + field + ": " + what);
}

const char* TypeName(const json& v) { return v.type_name(); }

Status WantString(const json& v, const std::string& field, std::string* out) {
  if (v.is_null()) return Status::Ok();
  if (!v.is_string()) {
    return DecodeError(field, std::string("expected a string, got ") + TypeName(v));
  }
  *out = v.get<std::string>();
  return Status::Ok();
}

Status WantInt(const json& v, const std::string& field, int64_t lo, int64_t hi, int* out) {
  if (v.is_null()) return Status::Ok();
  if (!v.is_number_integer() && !v.is_number_unsigned()) {
    return DecodeError(field, std::string("expected an integer, got ") + TypeName(v));
  }
  // nlohmann reads non-negative numbers as unsigned: compare in the matching type.
  bool in_range = v.is_number_unsigned()
                      ? v.get<uint64_t>() <= static_cast<uint64_t>(hi) &&
                            (lo <= 0 || v.get<uint64_t>() >= static_cast<uint64_t>(lo))
                      : v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
  if (!in_range) {
    return DecodeError(field, "out of range " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  *out = static_cast<int>(v.get<int64_t>());
  return Status::Ok();
}

Status WantDuration(const json& v, const std::string& field, Duration* out) {
  if (v.is_null()) return Status::Ok();
  if (v.is_number_integer()) {  // nanoseconds
    if ((v.is_number_unsigned() && v.get<uint64_t>() > uint64_t{INT64_MAX}) ||
        (!v.is_number_unsigned() && v.get<int64_t>() == INT64_MIN)) {
      return DecodeError(field, "duration out of range");
    }
    *out = Duration(v.get<int64_t>());
    return Status::Ok();
  }
  if (!v.is_string()) {
    return DecodeError(field, std::string("expected a duration string, got ") + TypeName(v));
  }
  auto d = ParseGoDuration(v.get<std::string>());
  if (!d.ok()) return DecodeError(field, d.status().message());
  *out = *d;
  return Status::Ok();
}

// Calls fn(normalized key, value, field path) for each member; refuses non-objects.
template <typename Fn>
Status ForEachField(const json& obj, const std::string& where, Fn fn) {
  if (!obj.is_object()) {
    return DecodeError(where.empty() ? "body" : where,
                       std::string("expected an object, got ") + TypeName(obj));
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    std::string field = where.empty() ? it.key() : where + "." + it.key();
    if (Status s = fn(KeyOf(it.key()), it.value(), field); !s.ok()) return s;
  }
  return Status::Ok();
}

Status Unknown(const std::string& field) { return DecodeError(field, "unknown field"); }

Status ParseCheck(const json& obj, const std::string& where, CheckDefinition* c) {
  std::string ttl_text, status_text;
  bool has_ttl = false;
  Status s = ForEachField(
      obj, where, [&](const std::string& k, const json& v, const std::string& field) -> Status {
        if (k == "checkid" || k == "id") return WantString(v, field, &c->id);
        if (k == "name") return WantString(v, field, &c->name);
        if (k == "notes") return WantString(v, field, &c->notes);
        if (k == "http") return WantString(v, field, &c->http);
        if (k == "method") return WantString(v, field, &c->method);
        if (k == "tcp") return WantString(v, field, &c->tcp);
        if (k == "interval") return WantDuration(v, field, &c->interval);
        if (k == "timeout") return WantDuration(v, field, &c->timeout);
        if (k == "ttl") {
          has_ttl = !v.is_null();
          return WantDuration(v, field, &c->ttl);
        }
        if (k == "deregistercriticalserviceafter") {
          return WantDuration(v, field, &c->deregister_critical_after);
        }
        if (k == "successbeforepassing") {
          return WantInt(v, field, 0, 1000, &c->success_before_passing);
        }
        if (k == "failuresbeforecritical") {
          return WantInt(v, field, 0, 1000, &c->failures_before_critical);
        }
        if (k == "expectedstatus") return WantInt(v, field, 0, 599, &c->expected_status);
        if (k == "status") {
          if (Status st = WantString(v, field, &status_text); !st.ok()) return st;
          if (status_text.empty()) return Status::Ok();
          if (status_text == "maintenance" || !ParseHealthStatus(status_text, &c->initial_status)) {
            return DecodeError(field, "\"" + status_text +
                                          "\" is not a check status (passing, warning, critical)");
          }
          return Status::Ok();
        }
        if (k == "header") {
          if (v.is_null()) return Status::Ok();
          return ForEachField(
              v, field,
              [&](const std::string&, const json& vals, const std::string& hfield) -> Status {
                std::string name = hfield.substr(field.size() + 1);
                if (!vals.is_array()) return DecodeError(hfield, "expected a list of strings");
                for (const auto& one : vals) {
                  if (!one.is_string()) return DecodeError(hfield, "expected a list of strings");
                  c->headers.emplace_back(name, one.get<std::string>());
                }
                return Status::Ok();
              });
        }
        if (k == "serviceid" || k == "tlsskipverify" || k == "tlsservername" ||
            k == "outputmaxsize" || k == "failuresbeforewarning" || k == "type") {
          return Status::Ok();  // Consul fields with no effect here
        }
        if (k == "args" || k == "scriptargs" || k == "script" || k == "grpc" || k == "grpcusetls" ||
            k == "h2ping" || k == "udp" || k == "dockercontainerid" || k == "aliasservice" ||
            k == "aliasnode" || k == "osservice" || k == "body" || k == "disableredirects") {
          if (v.is_null() || (v.is_string() && v.get<std::string>().empty())) return Status::Ok();
          return Status::InvalidArgument("Invalid check: " + field +
                                         " is not supported; pier runs HTTP, TCP and TTL checks");
        }
        return Unknown(field);
      });
  if (!s.ok()) return s;
  int kinds = !c->http.empty() + !c->tcp.empty() + has_ttl;
  if (kinds != 1) {
    return Status::InvalidArgument("Invalid check: " + where +
                                   " needs exactly one of HTTP, TCP or TTL");
  }
  if (!c->http.empty()) {
    c->type = CheckType::kHttp;
    if (auto u = ParseHttpUrl(c->http); !u.ok()) {
      return Status::InvalidArgument("Invalid check: " + where + ".HTTP: " + u.status().message());
    }
  } else if (!c->tcp.empty()) {
    c->type = CheckType::kTcp;
    if (c->tcp.rfind(':') == std::string::npos) {
      return Status::InvalidArgument("Invalid check: " + where + ".TCP: \"" + c->tcp +
                                     "\" is not HOST:PORT");
    }
  } else {
    c->type = CheckType::kTtl;
  }
  return Status::Ok();
}

Status ParseStringList(const json& v, const std::string& field, size_t max,
                       std::vector<std::string>* out) {
  if (v.is_null()) return Status::Ok();
  if (!v.is_array()) return DecodeError(field, "expected a list of strings");
  if (v.size() > max) return DecodeError(field, "more than " + std::to_string(max) + " entries");
  for (const auto& one : v) {
    if (!one.is_string()) return DecodeError(field, "expected a list of strings");
    out->push_back(one.get<std::string>());
  }
  return Status::Ok();
}

Status ParseMeta(const json& v, const std::string& field, std::map<std::string, std::string>* out) {
  if (v.is_null()) return Status::Ok();
  if (!v.is_object()) return DecodeError(field, "expected an object of strings");
  if (v.size() > kMaxMetaPairs) {
    return Status::InvalidArgument("Invalid Service Meta: Node metadata cannot contain more than " +
                                   std::to_string(kMaxMetaPairs) + " key/value pairs");
  }
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string& key = it.key();
    if (key.empty() || key.size() > kMaxMetaKeyLength) {
      return Status::InvalidArgument("Invalid Service Meta: Key is too long (limit: " +
                                     std::to_string(kMaxMetaKeyLength) + " characters)");
    }
    if (!it.value().is_string()) return DecodeError(field + "." + key, "expected a string");
    std::string value = it.value().get<std::string>();
    if (value.size() > kMaxMetaValueLength) {
      return Status::InvalidArgument("Invalid Service Meta: Value is too long (limit: " +
                                     std::to_string(kMaxMetaValueLength) + " characters)");
    }
    (*out)[key] = std::move(value);
  }
  return Status::Ok();
}

// The deepest nesting of arrays and objects in `body`, counted without parsing it.
size_t NestingDepth(std::string_view body) {
  size_t depth = 0, max = 0;
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      max = std::max(max, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return max;
}

}  // namespace

Result<ServiceDefinition> ServiceFromJson(const json& j) {
  ServiceDefinition d;
  std::vector<const json*> checks;
  std::vector<std::string> check_fields;
  Status s = ForEachField(
      j, "", [&](const std::string& k, const json& v, const std::string& field) -> Status {
        if (k == "id") return WantString(v, field, &d.id);
        if (k == "name") return WantString(v, field, &d.name);
        if (k == "address") return WantString(v, field, &d.address);
        if (k == "port") return WantInt(v, field, 0, 65535, &d.port);
        if (k == "tags") return ParseStringList(v, field, kMaxTags, &d.tags);
        if (k == "meta") return ParseMeta(v, field, &d.meta);
        if (k == "weights") {
          if (v.is_null()) return Status::Ok();
          return ForEachField(
              v, field,
              [&](const std::string& wk, const json& wv, const std::string& wfield) -> Status {
                if (wk == "passing") return WantInt(wv, wfield, 1, 1 << 30, &d.weights.passing);
                if (wk == "warning") return WantInt(wv, wfield, 0, 1 << 30, &d.weights.warning);
                return Unknown(wfield);
              });
        }
        if (k == "check") {
          if (!v.is_null()) {
            checks.push_back(&v);
            check_fields.push_back(field);
          }
          return Status::Ok();
        }
        if (k == "checks") {
          if (v.is_null()) return Status::Ok();
          if (!v.is_array()) return DecodeError(field, "expected a list of checks");
          for (size_t i = 0; i < v.size(); ++i) {
            checks.push_back(&v[i]);
            check_fields.push_back(field + "[" + std::to_string(i) + "]");
          }
          return Status::Ok();
        }
        if (k == "enabletagoverride" || k == "taggedaddresses" || k == "namespace" ||
            k == "partition" || k == "kind" || k == "locality" || k == "socketpath") {
          if (k == "kind" && v.is_string() && !v.get<std::string>().empty()) {
            return DecodeError(field, "only typical services are supported (Kind \"\")");
          }
          return Status::Ok();  // Consul fields with no effect here
        }
        return Unknown(field);
      });
  if (!s.ok()) return s;
  if (checks.size() > kMaxChecks) {
    return DecodeError("Checks", "more than " + std::to_string(kMaxChecks) + " checks");
  }
  for (size_t i = 0; i < checks.size(); ++i) {
    CheckDefinition c;
    if (Status cs = ParseCheck(*checks[i], check_fields[i], &c); !cs.ok()) return cs;
    d.checks.push_back(std::move(c));
  }
  return d;
}

Result<ServiceDefinition> ParseServiceRegistration(std::string_view body) {
  if (NestingDepth(body) > kMaxJsonDepth) {
    return Status::InvalidArgument("Request decode failed: nested deeper than " +
                                   std::to_string(kMaxJsonDepth) + " levels");
  }
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("Request decode failed: ") + e.what());
  }
  return ServiceFromJson(j);
}

json CheckDefinitionToJson(const CheckDefinition& c) {
  // Every field that differs from its default is written, whatever the type, so a definition
  // round-trips exactly (the fuzz target checks it).
  const CheckDefinition defaults;
  json j = {{"CheckID", c.id}, {"Name", c.name}};
  if (!c.notes.empty()) j["Notes"] = c.notes;
  switch (c.type) {
    case CheckType::kHttp:
      j["HTTP"] = c.http;
      break;
    case CheckType::kTcp:
      j["TCP"] = c.tcp;
      break;
    case CheckType::kTtl:
      j["TTL"] = FormatGoDuration(c.ttl);
      break;
  }
  if (c.type == CheckType::kHttp || c.method != defaults.method) j["Method"] = c.method;
  if (!c.headers.empty()) {
    json h = json::object();
    for (const auto& [k, v] : c.headers) h[k].push_back(v);
    j["Header"] = h;
  }
  if (c.expected_status) j["ExpectedStatus"] = c.expected_status;
  if (c.type != CheckType::kTtl || c.interval != defaults.interval) {
    j["Interval"] = FormatGoDuration(c.interval);
  }
  if (c.type != CheckType::kTtl || c.timeout != defaults.timeout) {
    j["Timeout"] = FormatGoDuration(c.timeout);
  }
  if (c.deregister_critical_after != defaults.deregister_critical_after) {
    j["DeregisterCriticalServiceAfter"] = FormatGoDuration(c.deregister_critical_after);
  }
  if (c.success_before_passing) j["SuccessBeforePassing"] = c.success_before_passing;
  if (c.failures_before_critical) j["FailuresBeforeCritical"] = c.failures_before_critical;
  j["Status"] = HealthStatusName(c.initial_status);
  return j;
}

json ServiceToJson(const ServiceDefinition& d) {
  json j = {{"ID", d.id},
            {"Name", d.name},
            {"Tags", d.tags},
            {"Address", d.address},
            {"Port", d.port},
            {"Meta", d.meta},
            {"Weights", {{"Passing", d.weights.passing}, {"Warning", d.weights.warning}}}};
  json checks = json::array();
  for (const auto& c : d.checks) checks.push_back(CheckDefinitionToJson(c));
  j["Checks"] = checks;
  return j;
}

std::string StoreRow(const ServiceDefinition& d) {
  json row = {{"service", ServiceToJson(d)},
              {"maintenance", d.maintenance},
              {"maintenance_reason", d.maintenance_reason}};
  return row.dump();
}

Result<ServiceDefinition> FromStoreRow(std::string_view text) {
  json row = json::parse(text, nullptr, false);
  if (!row.is_object() || !row.contains("service")) {
    return Status::InvalidArgument("not a stored registration (a JSON object with \"service\")");
  }
  auto def = ServiceFromJson(row["service"]);
  if (!def.ok()) return def.status();
  def->maintenance = row.value("maintenance", false);
  def->maintenance_reason = row.value("maintenance_reason", "");
  return def;
}

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, 8) == "https://") {
    return Status::InvalidArgument("\"" + std::string(url) +
                                   "\": https checks are not supported, use http://");
  }
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument("\"" + std::string(url) + "\" is not an http:// URL");
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  HttpUrl out;
  if (slash != std::string_view::npos) {
    out.target = std::string(rest.substr(slash));
    if (out.target[0] == '?') out.target = "/" + out.target;
  }
  size_t colon = authority.rfind(':');
  bool bracketed = !authority.empty() && authority[0] == '[';
  if (colon != std::string_view::npos && (!bracketed || authority[colon - 1] == ']')) {
    int port = 0;
    auto p = authority.substr(colon + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || end != p.data() + p.size() || port <= 0 || port > 65535) {
      return Status::InvalidArgument("\"" + std::string(url) + "\": bad port");
    }
    out.port = static_cast<uint16_t>(port);
    authority = authority.substr(0, colon);
  }
  if (bracketed && authority.size() >= 2) authority = authority.substr(1, authority.size() - 2);
  if (authority.empty()) return Status::InvalidArgument("\"" + std::string(url) + "\": no host");
  out.host = std::string(authority);
  return out;
}

}  // namespace pier::registry
