// File: resp_builtins.h
// The commands every RespServer serves before its services' (Redis's connection and server
// groups): resp_connection_commands.cc (PING ECHO HELLO AUTH SELECT QUIT RESET CLIENT) and
// resp_server_commands.cc (INFO CONFIG TIME COMMAND) resp_transaction.cc (MULTI EXEC DISCARD
// UNWATCH), resp_pubsub.cc (SUBSCRIBE PUBLISH PUBSUB...) and resp_diagnostic_commands.cc
// (SLOWLOG LATENCY).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "pier/net/resp_service.h"

namespace pier::net {

struct BuiltinCommand : RespCommand {
  using Handler = void (*)(RespService::Call&);
  BuiltinCommand(std::string name, int arity, uint32_t flags, Handler handler, std::string group,
                 std::string summary, std::string since)
      : RespCommand{std::move(name),    arity,           flags, 0, 0, 0, std::move(group),
                    std::move(summary), std::move(since)},
        handler(handler) {}
  Handler handler;
};

void AddConnectionCommands(std::vector<BuiltinCommand>& table);
void AddServerCommands(std::vector<BuiltinCommand>& table);
void AddTransactionCommands(std::vector<BuiltinCommand>& table);
void AddPubSubCommands(std::vector<BuiltinCommand>& table);
// SLOWLOG and LATENCY (resp_diagnostic_commands.cc) and their CONFIG parameters.
void AddDiagnosticCommands(std::vector<BuiltinCommand>& table);
std::vector<RespConfigParam> DiagnosticParams(RespServer& srv);
// CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO (resp_tracking.cc); false for another
// subcommand.
bool ClientTrackingCommand(RespService::Call& c, std::string_view sub);
// CONFIG's client-output-buffer-limit (the pubsub class's limits).
RespConfigParam OutputBufferLimitParam(RespServer& srv);
std::unique_ptr<RespService> NewRespBuiltins();

inline constexpr std::string_view kErrSyntaxText = "ERR syntax error";
inline constexpr std::string_view kErrNotInteger = "ERR value is not an integer or out of range";
// Redis's wrong-arity error for the call's command.
void WrongArity(RespService::Call& c);

}  // namespace pier::net
