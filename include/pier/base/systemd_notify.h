// File: systemd_notify.h
// systemd's readiness protocol (sd_notify(3)) without libsystemd: a datagram to the socket
// named by $NOTIFY_SOCKET, so units can be Type=notify with WatchdogSec=.
//   NotifySystemd("READY=1");   // a no-op outside systemd
#pragma once

#include <chrono>
#include <string_view>

namespace pier {

// Sends `state` ("READY=1", "STOPPING=1", "WATCHDOG=1"...) to $NOTIFY_SOCKET (a path, or an
// abstract socket when it starts with '@'). False when the variable is unset or sending failed.
bool NotifySystemd(std::string_view state);

// How often systemd wants WATCHDOG=1 from this process ($WATCHDOG_USEC, when $WATCHDOG_PID is
// unset or this process), or zero.
std::chrono::microseconds SystemdWatchdogInterval();

}  // namespace pier
