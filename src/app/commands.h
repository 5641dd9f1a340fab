// File: commands.h
// Each subcommand registers itself on the CLI11 app; its callback hands main() the action to run.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace pier::app {

using SetAction = std::function<void(std::function<int()>)>;

void AddCacheCommand(CLI::App& app, SetAction set_action);
void AddCacheSimCommand(CLI::App& app, SetAction set_action);
void AddRegistryCommand(CLI::App& app, SetAction set_action);
void AddRegistryListCommands(CLI::App& app, SetAction set_action);

}  // namespace pier::app
