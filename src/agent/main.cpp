// cellblock-agent: the in-sandbox daemon. Standalone it serves envd on TCP 49983 and the code interpreter on
// 49999 (what the E2B SDKs use in debug mode); inside a sandbox it serves both on one Unix socket, routed by
// header.

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include "agent/agent_router.h"
#include "agent/envd/envd_service.h"
#include "agent/interpreter/context_registry.h"
#include "agent/interpreter/interpreter_service.h"
#include "agent/sandbox_deadline.h"
#include "common/agent_protocol.h"
#include "http/server.h"
#include "jupyter/kernel.h"

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace cellblock;

struct Options {
  std::string listen = "127.0.0.1";
  int envd_port = agent_protocol::kEnvdPort;
  int interpreter_port = agent_protocol::kInterpreterPort;
  std::string unix_socket;
  std::string workdir;
  std::string user;
  std::vector<std::string> env;
  std::string runtime_dir;
  std::string python = "/usr/bin/python3";
  std::string kernel_pythonpath;
  std::string log_level = "info";
  std::string ready_file;
  int ready_fd = -1;
};

// Where the kernel start-up module (templates/code-interpreter/python) lives: the flag, the environment, next
// to an installed binary, or the source tree of a development build.
std::string find_kernel_pythonpath(const Options& options) {
  if (!options.kernel_pythonpath.empty()) return options.kernel_pythonpath;
  if (const char* env = std::getenv("CELLBLOCK_KERNEL_PYTHONPATH"); env && *env) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = exe.parent_path().parent_path() / "share" / "cellblock" / "python";
    if (fs::is_directory(installed / "cellblock_kernel", ec)) return installed.string();
  }
  fs::path source = CELLBLOCK_SOURCE_KERNEL_PYTHONPATH;
  if (fs::is_directory(source / "cellblock_kernel", ec)) return source.string();
  return {};
}

std::vector<std::string> python_argv(const Options& options, bool with_startup_module) {
  std::vector<std::string> argv = jupyter::python_kernel_argv();
  argv[0] = options.python;
  if (with_startup_module)
    argv.emplace_back("--IPKernelApp.exec_lines=import cellblock_kernel; cellblock_kernel.install()");
  return argv;
}

std::map<std::string, std::string> parse_env(const std::vector<std::string>& pairs) {
  std::map<std::string, std::string> env;
  for (const auto& pair : pairs) {
    auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "cellblock-agent: --env expects KEY=VALUE, got '%s'\n", pair.c_str());
      std::exit(2);
    }
    env[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return env;
}

std::string make_runtime_dir(const Options& options) {
  std::string dir = options.runtime_dir;
  if (dir.empty())
    dir = (fs::temp_directory_path() / ("cellblock-agent-" + std::to_string(::getpid()))).string();
  std::error_code ec;
  // A sandbox rebooted on its saved files finds the previous agent's connection files: none is valid now.
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  fs::permissions(dir, fs::perms::owner_all, ec);
  return dir;
}

void say(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"cellblock-agent: E2B-compatible envd and code interpreter"};
  app.add_option("--listen", options.listen, "TCP address for the two services (empty: no TCP)");
  app.add_option("--envd-port", options.envd_port, "envd port (0 picks a free port)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--interpreter-port", options.interpreter_port,
                 "code interpreter port (0 picks a free port)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--unix-socket", options.unix_socket, "also serve both services on this Unix socket");
  app.add_option("--workdir", options.workdir, "default working directory (default: the user's home)");
  app.add_option("--user", options.user, "default user for commands and files (default: the agent's user)");
  app.add_option("--env", options.env, "sandbox-level environment variable KEY=VALUE (repeatable)");
  app.add_option("--runtime-dir", options.runtime_dir, "directory for kernel connection files and logs");
  app.add_option("--python", options.python, "Python interpreter that runs ipykernel");
  app.add_option("--kernel-pythonpath", options.kernel_pythonpath,
                 "directory holding the cellblock_kernel module");
  app.add_option("--log-level", options.log_level, "trace, debug, info, warn, error");
  app.add_option("--ready-file", options.ready_file, "create this file once the default kernel is ready");
  app.add_option(std::string(agent_protocol::kReadyFdFlag), options.ready_fd,
                 "inherited descriptor: write one byte to it once the default kernel is ready, then close it")
      ->check(CLI::Range(3, 1 << 20));
  CLI11_PARSE(app, argc, argv);

  // Kernels and commands must not inherit the readiness descriptor: its end of file tells the server this
  // agent died.
  if (options.ready_fd >= 0 && ::fcntl(options.ready_fd, F_SETFD, FD_CLOEXEC) != 0) {
    std::fprintf(stderr, "cellblock-agent: --ready-fd %d is not an open descriptor\n", options.ready_fd);
    return 2;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("agent"));
  spdlog::set_level(spdlog::level::from_str(options.log_level));

  agent::AgentUsers users;
  users.default_user = options.user;
  users.default_workdir = options.workdir;
  auto default_user = agent::resolve_user(users, std::nullopt);
  if (!default_user) {
    spdlog::critical("default user: {}", default_user.error().message);
    return 2;
  }
  if (!fs::is_directory(default_user->workdir)) {
    spdlog::critical("working directory '{}' does not exist", default_user->workdir);
    return 2;
  }
  // The sandbox's access token comes from the environment, never the command line (visible in ps).
  std::optional<std::string> token;
  if (const char* value = std::getenv("CELLBLOCK_ACCESS_TOKEN"); value && *value) token = value;
  ::unsetenv("CELLBLOCK_ACCESS_TOKEN");
  agent::AccessPolicy access(token);

  asio::io_context io(1);
  asio::thread_pool blocking(2);

  interpreter::InterpreterSettings settings;
  settings.default_cwd = default_user->workdir;
  settings.runtime_dir = make_runtime_dir(options);
  std::string pythonpath = find_kernel_pythonpath(options);
  if (pythonpath.empty())
    spdlog::warn("kernel start-up module not found: charts and DataFrame data are disabled");
  settings.python_argv = python_argv(options, !pythonpath.empty());
  if (!pythonpath.empty()) settings.kernel_env.emplace_back("PYTHONPATH", pythonpath);
  interpreter::ContextRegistry contexts(io.get_executor(), blocking, settings);
  contexts.set_sandbox_env(parse_env(options.env));
  interpreter::InterpreterService interpreter_service(
      contexts, [&access](const http::Request& request) { return access.check_token(request); });
  agent::SandboxDeadline deadline(io.get_executor(), []() {
    spdlog::critical("the sandbox outlived its deadline (the server that should end it is gone): ending it");
    if (::getpid() == 1) ::kill(-1, SIGKILL);  // every process of the sandbox; init itself is spared
    std::_Exit(0);
  });
  agent::EnvdService envd(
      io.get_executor(), access, users, parse_env(options.env),
      [&contexts](const std::map<std::string, std::string>& env) { contexts.set_sandbox_env(env); },
      [&deadline](std::optional<std::int64_t> unix_ms) { deadline.set(unix_ms); });
  agent::AgentRouter router(envd, interpreter_service);
  http::Server server(io.get_executor());

  if (!options.listen.empty()) {
    for (auto [name, port, service] :
         {std::tuple{"envd", options.envd_port, agent_protocol::kEnvdPort},
          std::tuple{"interpreter", options.interpreter_port, agent_protocol::kInterpreterPort}}) {
      auto bound =
          server.listen_tcp(options.listen, static_cast<std::uint16_t>(port), router.handler_for(service));
      if (!bound) {
        spdlog::critical("{}", bound.error().message);
        return 1;
      }
      say(std::string(name) + " listening on " + options.listen + ":" + std::to_string(*bound));
    }
  }
  if (!options.unix_socket.empty()) {
    if (auto ok = server.listen_unix(options.unix_socket, router.handler_for(0)); !ok) {
      spdlog::critical("{}", ok.error().message);
      return 1;
    }
    say("listening on unix:" + options.unix_socket);
  }

  contexts.start_default();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto context = co_await contexts.default_context("python");
        if (!context) spdlog::error("the default Python context is unavailable: {}", context.error().message);
        if (!options.ready_file.empty()) {
          if (FILE* ready = std::fopen(options.ready_file.c_str(), "w")) std::fclose(ready);
        }
        if (options.ready_fd >= 0) {
          ssize_t written = ::write(options.ready_fd, "1", 1);
          if (written != 1) spdlog::error("cannot signal readiness on descriptor {}", options.ready_fd);
          ::close(options.ready_fd);
        }
        say("ready");
      },
      asio::detached);

  // As PID 1 of a sandbox, the agent inherits every orphaned process: reap them, leaving the processes that
  // the process table and the kernels wait for themselves.
  asio::signal_set children(io);
  std::function<void()> reap_on_sigchld = [&]() {
    children.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      envd.processes().reap_orphans([&contexts](pid_t pid) { return contexts.owns_process(pid); });
      reap_on_sigchld();
    });
  };
  if (::getpid() == 1) {
    children.add(SIGCHLD);
    reap_on_sigchld();
  }

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("signal {}: shutting down", signo);
    server.stop();
    envd.stop();
    children.cancel();
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await contexts.shutdown();
          io.stop();
        },
        asio::detached);
  });

  io.run();
  blocking.join();
  std::error_code ec;
  if (options.runtime_dir.empty()) fs::remove_all(settings.runtime_dir, ec);
  return 0;
}
