// File: zset_commands.h
// What the sorted-set command files share: a range reply and storing a result.
#pragma once

#include <vector>

#include "cache/server/collections.h"
#include "cache/server/command.h"

namespace pier::cache::server {

// Members, with scores when asked: flat in RESP2, [member, score] pairs in RESP3 (Redis 7.0).
void ReplyScored(CommandContext& c, const std::vector<ScoreMemberView>& items, bool withscores);
// Replaces `dst` (locked) with a sorted set of `items`; an empty result deletes it.
void StoreZSet(CommandContext& c, const KeyRef& dst, const std::vector<ScoreMember>& items);
void RegisterZSetOpsCommands(CommandTable& t);

}  // namespace pier::cache::server
