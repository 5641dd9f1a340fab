// CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO, with Redis 7.0's replies and errors.
#include "pier/base/strings.h"
#include "pier/net/resp_server.h"
#include "resp_builtins.h"

namespace pier::net {

namespace {

// Redis's prefix check for BCAST: no two of a client's prefixes may be prefixes of each other.
bool PrefixesCollide(RespService::Call& c, const std::vector<std::string>& given,
                     const std::vector<std::string>& existing) {
  auto overlap = [](const std::string& a, const std::string& b) {
    return a.starts_with(b) || b.starts_with(a);
  };
  for (size_t i = 0; i < given.size(); ++i) {
    for (const std::string& e : existing) {
      if (overlap(given[i], e)) {
        c.out.Error("ERR Prefix '" + given[i] + "' overlaps with an existing prefix '" + e +
                    "'. Prefixes for a single client must not overlap.");
        return true;
      }
    }
    for (size_t j = i + 1; j < given.size(); ++j) {
      if (overlap(given[i], given[j])) {
        c.out.Error("ERR Prefix '" + given[i] + "' overlaps with another provided prefix '" +
                    given[j] + "'. Prefixes for a single client must not overlap.");
        return true;
      }
    }
  }
  return false;
}

// The receiver of a REDIRECT: its pub/sub outbox; null after the error. The receiver must have
// subscribed (to __redis__:invalidate, as Redis's docs ask): its outbox is created by its own
// thread, so a client that never subscribed has none to write to (Redis would send anyway).
std::shared_ptr<PubSubClient> RedirectTarget(RespService::Call& c, uint64_t id) {
  std::shared_ptr<PubSubClient> sink;
  bool found = false;
  c.server.ForEachClient([&](RespClient& cl) {
    if (cl.id != id) return;
    found = true;
    sink = cl.pubsub;
  });
  if (!found) {
    c.out.Error("ERR The client ID you want redirect to does not exist");
  } else if (!sink) {
    c.out.Error(
        "ERR The client ID you want redirect to must SUBSCRIBE to __redis__:invalidate "
        "first");
  }
  return sink;
}

void Tracking(RespService::Call& c) {
  RespClient::Tracking mode;
  for (size_t i = 3; i < c.argc(); ++i) {
    const std::string_view opt = c.args[i];
    const bool more = i + 1 < c.argc();
    if (EqualsIgnoreCase(opt, "REDIRECT") && more) {
      int64_t id;
      if (!ParseRespInt(c.args[++i], &id)) return c.out.Error(kErrNotInteger);
      mode.redirect = static_cast<uint64_t>(id);
    } else if (EqualsIgnoreCase(opt, "BCAST")) {
      mode.bcast = true;
    } else if (EqualsIgnoreCase(opt, "OPTIN")) {
      mode.optin = true;
    } else if (EqualsIgnoreCase(opt, "OPTOUT")) {
      mode.optout = true;
    } else if (EqualsIgnoreCase(opt, "NOLOOP")) {
      mode.noloop = true;
    } else if (EqualsIgnoreCase(opt, "PREFIX") && more) {
      mode.prefixes.emplace_back(c.args[++i]);
    } else {
      return c.out.Error(kErrSyntaxText);
    }
  }
  RespClient::Tracking* cur = c.client.tracking.get();
  if (EqualsIgnoreCase(c.args[2], "off")) {
    if (cur) c.server.tracking().Disable(c.client.id);
    c.client.tracking.reset();
    return c.out.Ok();
  }
  if (!EqualsIgnoreCase(c.args[2], "on")) return c.out.Error(kErrSyntaxText);
  if (!mode.bcast && !mode.prefixes.empty()) {
    return c.out.Error("ERR PREFIX option requires BCAST mode to be enabled");
  }
  if (cur && cur->bcast != mode.bcast) {
    return c.out.Error(
        "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and "
        "then re-enabling it with a different mode.");
  }
  if (mode.bcast && (mode.optin || mode.optout)) {
    return c.out.Error("ERR OPTIN and OPTOUT are not compatible with BCAST");
  }
  if (mode.optin && mode.optout) {
    return c.out.Error("ERR You can't specify both OPTIN mode and OPTOUT mode");
  }
  if (cur && ((mode.optin && cur->optout) || (mode.optout && cur->optin))) {
    return c.out.Error(
        "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and "
        "then re-enabling it with a different mode.");
  }
  const std::vector<std::string> existing = cur ? cur->prefixes : std::vector<std::string>{};
  if (mode.bcast && PrefixesCollide(c, mode.prefixes, existing)) return;
  std::shared_ptr<PubSubClient> sink;
  if (mode.redirect != 0 && mode.redirect != c.client.id) {
    sink = RedirectTarget(c, mode.redirect);
    if (!sink) return;
  } else {
    sink = c.server.PubSubOf(c.client);
  }
  mode.prefixes.insert(mode.prefixes.begin(), existing.begin(), existing.end());
  KeyTracking::Mode m{mode.bcast, mode.noloop, mode.prefixes};
  c.client.tracking = std::make_unique<RespClient::Tracking>(std::move(mode));
  // A RESP2 client without REDIRECT is accepted and told nothing, as Redis.
  if (c.client.tracking->redirect != 0 || c.client.protocol >= 3) {
    c.server.tracking().Enable(c.client.id, std::move(sink), std::move(m));
  }
  c.out.Ok();
}

void Caching(RespService::Call& c) {
  RespClient::Tracking* t = c.client.tracking.get();
  if (!t) {
    return c.out.Error(
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or "
        "OPTOUT mode enabled");
  }
  if (EqualsIgnoreCase(c.args[2], "yes")) {
    if (!t->optin) {
      return c.out.Error(
          "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
    }
    t->caching = 1;
  } else if (EqualsIgnoreCase(c.args[2], "no")) {
    if (!t->optout) {
      return c.out.Error(
          "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
    }
    t->caching = 0;
  } else {
    return c.out.Error(kErrSyntaxText);
  }
  c.out.Ok();
}

void TrackingInfo(RespService::Call& c) {
  const RespClient::Tracking* t = c.client.tracking.get();
  c.out.MapHeader(3);
  c.out.Bulk("flags");
  std::vector<std::string_view> flags;
  if (!t) {
    flags.push_back("off");
  } else {
    flags.push_back("on");
    if (t->bcast) flags.push_back("bcast");
    if (t->optin) flags.push_back("optin");
    if (t->optout) flags.push_back("optout");
    if (t->caching == 1) flags.push_back("caching-yes");
    if (t->caching == 0) flags.push_back("caching-no");
    if (t->noloop) flags.push_back("noloop");
  }
  c.out.SetHeader(static_cast<int64_t>(flags.size()));
  for (std::string_view f : flags) c.out.Bulk(f);
  c.out.Bulk("redirect");
  c.out.Integer(t ? static_cast<int64_t>(t->redirect) : -1);
  c.out.Bulk("prefixes");
  c.out.ArrayHeader(t ? static_cast<int64_t>(t->prefixes.size()) : 0);
  if (t) {
    for (const std::string& p : t->prefixes) c.out.Bulk(p);
  }
}

}  // namespace

bool ClientTrackingCommand(RespService::Call& c, std::string_view sub) {
  auto arity = [&](bool ok) {
    if (!ok)
      c.out.Error("ERR wrong number of arguments for 'client|" + std::string(sub) + "' command");
    return ok;
  };
  if (sub == "tracking") {
    if (arity(c.argc() >= 3)) Tracking(c);
  } else if (sub == "caching") {
    if (arity(c.argc() == 3)) Caching(c);
  } else if (sub == "getredir") {
    if (!arity(c.argc() == 2)) return true;
    const RespClient::Tracking* t = c.client.tracking.get();
    c.out.Integer(t ? static_cast<int64_t>(t->redirect) : -1);
  } else if (sub == "trackinginfo") {
    if (arity(c.argc() == 2)) TrackingInfo(c);
  } else {
    return false;
  }
  return true;
}

}  // namespace pier::net
