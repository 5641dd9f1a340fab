// File: commands.h
// Each subcommand registers itself on the CLI11 app; its callback hands main() the action to run.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <string>

#include "pier/base/status.h"

namespace pier::app {

using SetAction = std::function<void(std::function<int()>)>;

// Prints "pier COMMAND: what is wrong" and returns the exit code for it (1 bad input,
// 2 environment).
inline int Fail(const std::string& command, const Status& s) {
  std::cerr << "pier " << command << ": " << s.message() << "\n";
  return s.ExitCode();
}

void AddCacheCommand(CLI::App& app, SetAction set_action);
void AddCacheSimCommand(CLI::App& app, SetAction set_action);
void AddRegistryCommand(CLI::App& app, SetAction set_action);
void AddRegistryListCommands(CLI::App& app, SetAction set_action);
void AddQueueCommand(CLI::App& app, SetAction set_action);
void AddProxyCommand(CLI::App& app, SetAction set_action);
void AddValidateCommand(CLI::App& app, SetAction set_action);
void AddExportCommand(CLI::App& app, SetAction set_action);
void AddDemoServiceCommand(CLI::App& app, SetAction set_action);
void AddUpCommand(CLI::App& app, SetAction set_action);
void AddRolloutCommands(CLI::App& app, SetAction set_action);
void AddPerfCommand(CLI::App& app, SetAction set_action);
void AddHealthCommand(CLI::App& app, SetAction set_action);

}  // namespace pier::app
