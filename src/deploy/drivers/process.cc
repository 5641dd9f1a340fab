#include "pier/deploy/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

extern char** environ;

namespace pier::deploy {

namespace {

// Runs every fork on one thread that lives as long as the process: a child's parent-death
// signal fires when the thread that forked it ends, not only when the process does.
class Spawner {
 public:
  static Spawner& Get() {
    static Spawner s;
    return s;
  }
  Result<pid_t> Run(std::function<Result<pid_t>()> fn) {
    std::packaged_task<Result<pid_t>()> task(std::move(fn));
    auto done = task.get_future();
    {
      std::lock_guard l(mu_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
    return done.get();
  }

 private:
  Spawner() : thread_([this] { Loop(); }) {}
  ~Spawner() {
    {
      std::lock_guard l(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void Loop() {
    std::unique_lock l(mu_);
    for (;;) {
      cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto task = std::move(queue_.front());
      queue_.pop_front();
      l.unlock();
      task();
      l.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<Result<pid_t>()>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

// argv[0] as execvp would find it, resolved before fork (the child only calls what is safe
// after fork in a threaded process).
std::string FindProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  for (;;) {
    const size_t colon = dirs.find(':', start);
    std::string dir = dirs.substr(start, colon == std::string::npos ? colon : colon - start);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string::npos) return name;  // execve reports ENOENT
    start = colon + 1;
  }
}

// The child's side: only async-signal-safe calls until execve. It dies with pier (SIGKILL when
// the spawning thread, and so pier, ends), starts with no signals blocked or ignored (pier's
// servers block SIGINT/SIGTERM/SIGHUP and ignore SIGPIPE), and is in its own process group, so
// a Ctrl-C reaches pier, which stops it in order. An exec failure goes back on `error_fd`.
[[noreturn]] void ExecChild(pid_t parent, const char* program, char* const* argv, char* const* envp,
                            const char* log_path, int error_fd) {
  int err = 0;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
  setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  const int in = open("/dev/null", O_RDONLY);
  const int out = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (in < 0 || out < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
      dup2(out, STDERR_FILENO) < 0) {
    err = errno;
  } else {
    execve(program, argv, envp);
    err = errno;
  }
  (void)!write(error_fd, &err, sizeof err);
  _exit(127);
}

}  // namespace

Result<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
    const std::string& log_path) {
  if (argv.empty()) return Status::InvalidArgument("an empty command");
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv(*e);
    const std::string name = kv.substr(0, kv.find('='));
    // pier's own API token stays with pier: a service it runs does not get it; nor does it get
    // systemd's notification socket and watchdog, which are for pier's main process.
    if (name == "PIER_TOKEN" || name == "NOTIFY_SOCKET" || name.starts_with("WATCHDOG_")) continue;
    if (!env.count(name)) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env_strings) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  const std::string program = FindProgram(argv[0]);

  auto pid = Spawner::Get().Run([&]() -> Result<pid_t> {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return Status::Internal(std::strerror(errno));
    const pid_t parent = getpid();
    const pid_t child = fork();
    if (child == 0)
      ExecChild(parent, program.c_str(), cargv.data(), cenv.data(), log_path.c_str(), fds[1]);
    close(fds[1]);
    if (child < 0) {
      close(fds[0]);
      return Status::Unavailable(std::string("fork: ") + std::strerror(errno));
    }
    int err = 0;
    ssize_t n;
    do {
      n = read(fds[0], &err, sizeof err);
    } while (n < 0 && errno == EINTR);
    close(fds[0]);
    if (n == sizeof err) {  // the exec failed: the child has exited
      waitpid(child, nullptr, 0);
      return Status::InvalidArgument("cannot start '" + argv[0] + "': " + std::strerror(err));
    }
    return child;
  });
  if (!pid.ok()) return pid.status();
  return std::unique_ptr<ChildProcess>(new ChildProcess(*pid));
}

ChildProcess::~ChildProcess() {
  if (!reaped_) Stop(std::chrono::seconds(5));
}

bool ChildProcess::Running() {
  if (reaped_) return false;
  if (waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

int ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (!Running()) return status_;
  kill(pid_, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < until) {
    if (!Running()) return status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a child's exit
  }
  kill(pid_, SIGKILL);
  if (waitpid(pid_, &status_, 0) == pid_) reaped_ = true;
  return status_;
}

}  // namespace pier::deploy
