// Pub/sub: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE SSUBSCRIBE SUNSUBSCRIBE PUBLISH SPUBLISH
// PUBSUB, and CONFIG's client-output-buffer-limit. The registry and delivery are PubSub's
// (pubsub.h); replies and errors are Redis 7.0's.
#include <fmt/format.h>

#include "net/resp_builtins.h"
#include "pier/base/memory_units.h"
#include "pier/base/strings.h"
#include "pier/net/pubsub.h"
#include "pier/net/resp_server.h"

namespace pier::net {

namespace {

using Kind = PubSub::Kind;

void WrongSubcommandArity(RespService::Call& c) {
  c.out.Error(
      fmt::format("ERR wrong number of arguments for 'pubsub|{}' command", AsciiLower(c.args[1])));
}

std::vector<std::string> SplitWhitespace(std::string_view v) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && v[i] == ' ') ++i;
    size_t j = i;
    while (j < v.size() && v[j] != ' ') ++j;
    if (j > i) out.emplace_back(v.substr(i, j - i));
    i = j;
  }
  return out;
}

// The client's subscriptions, created on its first SUBSCRIBE.
const std::shared_ptr<PubSubClient>& ClientOf(RespService::Call& c) {
  return c.server.PubSubOf(c.client);
}

std::vector<std::string_view> Names(const RespService::Call& c) {
  return {c.args.begin() + 1, c.args.end()};
}

template <Kind kind>
void Subscribe(RespService::Call& c) {
  c.server.pubsub().Subscribe(ClientOf(c), kind, Names(c), c.out);
}

template <Kind kind>
void Unsubscribe(RespService::Call& c) {
  c.server.pubsub().Unsubscribe(ClientOf(c), kind, Names(c), c.out);
}

template <Kind kind>
void Publish(RespService::Call& c) {
  const size_t n =
      c.server.pubsub().Publish(kind, c.args[1], c.args[2], c.client.pubsub.get(), c.out);
  // Cluster mode: PUBLISH reaches every node; SPUBLISH stays in the shard (Redis's rules). The
  // count is this node's receivers, as Redis Cluster answers.
  if (kind == Kind::kChannel) c.server.pubsub().Forward(c.args[1], c.args[2]);
  c.out.Integer(static_cast<int64_t>(n));
}

void ChannelList(RespService::Call& c, Kind kind) {
  if (c.argc() > 3) {
    return c.out.Error(fmt::format(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
        c.args[1]));
  }
  auto names = c.server.pubsub().Channels(kind, c.argc() == 3 ? c.args[2] : "");
  c.out.ArrayHeader(static_cast<int64_t>(names.size()));
  for (const auto& n : names) c.out.Bulk(n);
}

void NumSub(RespService::Call& c, Kind kind) {
  c.out.ArrayHeader(static_cast<int64_t>(2 * (c.argc() - 2)));  // flat, in RESP3 too (Redis)
  for (size_t i = 2; i < c.argc(); ++i) {
    c.out.Bulk(c.args[i]);
    c.out.Integer(static_cast<int64_t>(c.server.pubsub().Subscribers(kind, c.args[i])));
  }
}

void PubSubCommand(RespService::Call& c) {
  const std::string sub = AsciiLower(c.args[1]);
  if (sub == "channels") return ChannelList(c, Kind::kChannel);
  if (sub == "shardchannels") return ChannelList(c, Kind::kShard);
  if (sub == "numsub") return NumSub(c, Kind::kChannel);
  if (sub == "shardnumsub") return NumSub(c, Kind::kShard);
  if (sub == "numpat") {
    if (c.argc() != 2) return WrongSubcommandArity(c);
    return c.out.Integer(static_cast<int64_t>(c.server.pubsub().PatternCount()));
  }
  if (sub == "help" && c.argc() == 2) {
    c.out.Lines(
        {"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "CHANNELS [<pattern>]",
         "    Return the currently active channels matching a <pattern> (default: '*').", "NUMPAT",
         "    Return number of subscriptions to patterns.", "NUMSUB [<channel> ...]",
         "    Return the number of subscribers for the specified channels, excluding",
         "    pattern subscriptions(default: no channels).", "SHARDCHANNELS [<pattern>]",
         "    Return the currently active shard level channels matching a <pattern> (default: "
         "'*').",
         "SHARDNUMSUB [<shardchannel> ...]",
         "    Return the number of subscribers for the specified shard level channel(s)", "HELP",
         "    Prints this help."});
    return;
  }
  c.out.Error(fmt::format("ERR unknown subcommand '{}'. Try PUBSUB HELP.", c.args[1]));
}

// CONFIG client-output-buffer-limit: Redis's three classes; only pubsub's can change here
// (normal clients are unbounded, as Redis's default, and pier has no replicas yet).
constexpr std::string_view kFixedClasses = "normal 0 0 0 slave 268435456 67108864 60";

Status SetOutputLimits(RespServer& srv, std::string_view v) {
  const std::vector<std::string> parts = SplitWhitespace(v);
  if (parts.size() % 4 != 0) return Status::InvalidArgument("Wrong number of arguments");
  PubSubLimits l = srv.pubsub().limits();
  const std::vector<std::string> fixed = SplitWhitespace(kFixedClasses);
  for (size_t i = 0; i < parts.size(); i += 4) {
    const std::string cls = AsciiLower(parts[i]);
    auto hard = ParseMemory(parts[i + 1]);
    auto soft = ParseMemory(parts[i + 2]);
    int64_t secs = 0;
    if (!hard.ok() || !soft.ok() || !ParseRespInt(parts[i + 3], &secs) || secs < 0) {
      return Status::InvalidArgument("Invalid client-output-buffer-limit value");
    }
    if (cls == "pubsub") {
      l = {*hard, *soft, secs};
      continue;
    }
    if (cls != "normal" && cls != "slave" && cls != "replica") {
      return Status::InvalidArgument(
          "Invalid client class specified in buffer limit configuration.");
    }
    const size_t at = cls == "normal" ? 0 : 4;
    if (std::to_string(*hard) != fixed[at + 1] || std::to_string(*soft) != fixed[at + 2] ||
        std::to_string(secs) != fixed[at + 3]) {
      return Status::InvalidArgument("only the pubsub class's limits can be changed in pier");
    }
  }
  srv.pubsub().set_limits(l);
  return Status::Ok();
}

}  // namespace

RespConfigParam OutputBufferLimitParam(RespServer& srv) {
  return {"client-output-buffer-limit",
          [&srv] {
            const PubSubLimits l = srv.pubsub().limits();
            return fmt::format("{} pubsub {} {} {}", kFixedClasses, l.hard, l.soft, l.soft_seconds);
          },
          [&srv](std::string_view v) { return SetOutputLimits(srv, v); }};
}

void AddPubSubCommands(std::vector<BuiltinCommand>& t) {
  using F = RespCommand;
  const uint32_t sub = F::kSubscriberOk | F::kLoading | F::kStale;
  t.emplace_back("subscribe", -2, sub, Subscribe<Kind::kChannel>, "pubsub",
                 "Listens for messages published to channels.", "2.0.0");
  t.emplace_back("unsubscribe", -1, sub, Unsubscribe<Kind::kChannel>, "pubsub",
                 "Stops listening to messages posted to channels.", "2.0.0");
  t.emplace_back("psubscribe", -2, sub, Subscribe<Kind::kPattern>, "pubsub",
                 "Listens for messages published to channels that match one or more patterns.",
                 "2.0.0");
  t.emplace_back("punsubscribe", -1, sub, Unsubscribe<Kind::kPattern>, "pubsub",
                 "Stops listening to messages published to channels that match one or more "
                 "patterns.",
                 "2.0.0");
  // Shard channels are keys, as Redis's key specs say: cluster mode routes them by slot.
  auto channel_keys = [](BuiltinCommand& c, int last_key) {
    c.first_key = 1;
    c.last_key = last_key;
    c.step = 1;
  };
  t.emplace_back("ssubscribe", -2, sub, Subscribe<Kind::kShard>, "pubsub",
                 "Listens for messages published to shard channels.", "7.0.0");
  channel_keys(t.back(), -1);
  t.emplace_back("sunsubscribe", -1, sub, Unsubscribe<Kind::kShard>, "pubsub",
                 "Stops listening to messages posted to shard channels.", "7.0.0");
  channel_keys(t.back(), -1);
  t.emplace_back("publish", 3, F::kLoading | F::kStale | F::kFast, Publish<Kind::kChannel>,
                 "pubsub", "Posts a message to a channel.", "2.0.0");
  t.emplace_back("spublish", 3, F::kLoading | F::kStale | F::kFast, Publish<Kind::kShard>, "pubsub",
                 "Post a message to a shard channel", "7.0.0");
  channel_keys(t.back(), 1);
  t.emplace_back("pubsub", -2, F::kLoading | F::kStale, PubSubCommand, "pubsub",
                 "A container for Pub/Sub commands.", "2.8.0");
}

}  // namespace pier::net
