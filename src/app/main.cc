// pier: one binary, one subcommand per module. Exit codes: 0 ok, 1 bad input, 2 environment.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/build_info.h"
#include "app/commands.h"

#ifndef PIER_VERSION
#define PIER_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  // Block SIGINT/SIGTERM in every thread; servers take them with sigwait on the main thread
  // (and SIGHUP, which ServerRuntime blocks, as "reload").
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  CLI::App app{"pier: a microservice infrastructure runtime", "pier"};
  app.set_version_flag("--version",
                       std::string("pier ") + PIER_VERSION + " (git " + PIER_GIT_REVISION + ")");
  app.require_subcommand(1);
  std::function<int()> action;
  auto set_action = [&action](std::function<int()> a) { action = std::move(a); };
  pier::app::AddCacheCommand(app, set_action);
  pier::app::AddCacheSimCommand(app, set_action);
  pier::app::AddRegistryCommand(app, set_action);
  pier::app::AddRegistryListCommands(app, set_action);
  pier::app::AddQueueCommand(app, set_action);
  pier::app::AddProxyCommand(app, set_action);
  pier::app::AddValidateCommand(app, set_action);
  pier::app::AddExportCommand(app, set_action);
  pier::app::AddDemoServiceCommand(app, set_action);
  pier::app::AddUpCommand(app, set_action);
  pier::app::AddRolloutCommands(app, set_action);
  pier::app::AddPerfCommand(app, set_action);
  pier::app::AddHealthCommand(app, set_action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help/version (code 0) or the error
    return code == 0 ? 0 : 1;
  }
  return action ? action() : 1;
}
