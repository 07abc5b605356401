// `cellblock serve`: one process holding the E2B control plane, the sandbox proxy and the sandboxes.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include "api/control_api.h"
#include "app/app.h"
#include "app/auth.h"
#include "app/user_sandbox.h"
#include "chat/provider_settings.h"
#include "cli/commands.h"
#include "cli/network_options.h"
#include "cli/paths.h"
#include "cli/template_build.h"
#include "http/server.h"
#include "proxy/sandbox_proxy.h"
#include "runtime/ns/ns_runtime.h"
#include "sandbox/sandbox_manager.h"
#include "store/api_key_store.h"
#include "store/chat_store.h"
#include "store/kernel_store.h"
#include "store/migrations.h"
#include "store/sandbox_store.h"
#include "store/session_store.h"
#include "template/template_cache.h"

namespace cellblock::cli {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

struct ServeOptions {
  std::string listen = "127.0.0.1:3000";
  std::string state_dir;
  std::string template_cache = std::string(templates::kDefaultCacheDir);
  std::size_t pool_size = 2;
  std::int64_t default_timeout = 300;
  std::int64_t max_timeout = 24 * 3600;
  std::size_t max_sandboxes = 100;
  std::size_t boot_concurrency = 2;
  std::uint64_t layer_storage_mb = 20480;
  std::uint32_t cpu_weight = 100;
  std::string on_shutdown = "keep";
  std::uint64_t memory_mb = 2048;
  std::uint32_t pids = 1024;
  double cpus = 2;
  std::uint64_t disk_mb = 4096;
  std::string domain;
  std::string chat_config;
  std::string provider_ca_file;
  std::int64_t app_sandbox_timeout = 3600;
  std::string app_internet = "on";
  bool open_browser = false;
  NetworkOptions network;
};

// Opens the app in the desktop's browser, when there is a desktop. The link holds only URL-safe characters
// (an address, a port and a hex token), so it can be quoted for the shell as is.
void open_in_browser(const std::string& link) {
  bool desktop = std::getenv("DISPLAY") != nullptr || std::getenv("WAYLAND_DISPLAY") != nullptr;
  if (!desktop || std::system("command -v xdg-open >/dev/null 2>&1") != 0) return;
  std::string command = "xdg-open '" + link + "' >/dev/null 2>&1 &";
  if (std::system(command.c_str()) != 0) spdlog::warn("could not open a browser; open {} yourself", link);
}

Result<std::pair<std::string, std::uint16_t>> split_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return fail(ErrorCode::kInvalidArgument, "--listen expects ADDR:PORT");
  int port = std::atoi(listen.c_str() + colon + 1);
  if (port < 0 || port > 65535) return fail(ErrorCode::kInvalidArgument, "invalid port in --listen");
  return std::pair{listen.substr(0, colon), static_cast<std::uint16_t>(port)};
}

// An API key for first use: CELLBLOCK_API_KEY is seeded; a store without keys gets a new one, printed once.
Status ensure_api_key(store::ApiKeyStore& keys) {
  if (const char* seeded = std::getenv("CELLBLOCK_API_KEY"); seeded && *seeded) {
    auto ok = keys.seed(seeded);
    if (!ok) return tl::unexpected(ok.error());
  }
  auto active = keys.count_active();
  if (!active) return tl::unexpected(active.error());
  if (*active > 0) return {};
  auto created = keys.create("default");
  if (!created) return tl::unexpected(created.error());
  fmt::print("\nYour API key (shown once; `cellblock keys create` makes more):\n\n    {}\n\n", created->key);
  return {};
}

std::string install_agent_copy(const std::string& built, const std::string& state_dir) {
  if (built.empty()) return {};
  std::error_code ec;
  const fs::path bin = fs::path(state_dir) / "bin";
  fs::create_directories(bin, ec);
  const fs::path staging = bin / ".cellblock-agent.new";
  fs::copy_file(built, staging, fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::rename(staging, bin / "cellblock-agent", ec);
  if (ec) {
    spdlog::warn("cannot copy the agent into {} ({}); using {}", bin.string(), ec.message(), built);
    return built;
  }
  fs::permissions(bin, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);
  return (bin / "cellblock-agent").string();
}

int serve(const ServeOptions& options) {
  const std::string state_dir = options.state_dir.empty() ? default_state_dir() : options.state_dir;
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) {
    spdlog::critical("cannot create the state directory {}: {}", state_dir, ec.message());
    return 1;
  }
  auto listen = split_listen(options.listen);
  if (!listen) {
    spdlog::critical("{}", listen.error().message);
    return 2;
  }
  auto db = store::open_state_database((fs::path(state_dir) / "cellblock.db").string());
  if (!db) {
    spdlog::critical("state database: {}", db.error().message);
    return 1;
  }
  store::ApiKeyStore keys(*db);
  store::SandboxStore sandboxes_store(*db);
  store::SnapshotStore snapshot_store(*db);
  store::LayerStore layer_store(*db);
  store::ChatStore chat_store(*db);
  store::KernelStore kernel_store(*db);
  store::SessionStore session_store(*db);
  if (auto purged = session_store.purge_expired(); !purged) {
    spdlog::warn("cannot remove expired browser sessions: {}", purged.error().message);
  }
  if (auto ok = ensure_api_key(keys); !ok) {
    spdlog::critical("API keys: {}", ok.error().message);
    return 1;
  }

  // Sandboxes bind-mount the agent: serve a private copy, so rebuilding the project never breaks a start.
  const std::string agent = install_agent_copy(find_agent_binary(), state_dir);
  const std::string recipe = find_recipe_dir("code-interpreter");
  if (agent.empty() || recipe.empty()) {
    spdlog::critical("cannot find {} (build the project with scripts/build)",
                     agent.empty() ? "cellblock-agent" : "templates/code-interpreter");
    return 1;
  }
  auto info = build_template(options.template_cache, "code-interpreter", recipe);
  if (!info) return 1;
  auto providers =
      options.chat_config.empty()
          ? Result<std::vector<chat::ProviderSettings>>(chat::providers_from_env(chat::process_env))
          : chat::providers_from_file(options.chat_config, chat::process_env);
  if (!providers) {
    spdlog::critical("{}", providers.error().message);
    return 2;
  }

  runtime::ns::NsRuntimeOptions runtime_options;
  runtime_options.cpu_weight = options.cpu_weight;
  if (auto policy = find_seccomp_policy(); !policy.empty()) runtime_options.seccomp_policy_path = policy;
  auto runtime = runtime::ns::NsRuntime::create(runtime_options);
  if (!runtime) {
    spdlog::critical("sandbox runtime: {}", runtime.error().message);
    return 1;
  }

  asio::io_context io(1);
  std::unique_ptr<net::SandboxNetwork> network;
  if (options.network.mode == "on") {
    auto opened = open_network(io.get_executor(), options.network, state_dir);
    if (!opened) {
      spdlog::critical("sandbox network: {} (or start with --sandbox-network off: loopback only)",
                       opened.error().message);
      return 1;
    }
    network = std::move(*opened);
  }

  sandbox::ManagerSettings settings;
  settings.boot.state_dir = state_dir;
  settings.boot.agent_binary = agent;
  settings.boot.kernel_pythonpath = find_kernel_pythonpath();
  settings.boot.limits.memory_bytes = options.memory_mb << 20;
  settings.boot.limits.pids = options.pids;
  settings.boot.limits.cpus = options.cpus;
  settings.boot.limits.disk_bytes = options.disk_mb << 20;
  settings.boot_concurrency = options.boot_concurrency;
  settings.on_shutdown =
      options.on_shutdown == "kill" ? sandbox::ShutdownMode::kKill : sandbox::ShutdownMode::kKeep;
  settings.default_timeout = std::chrono::seconds(options.default_timeout);
  settings.max_timeout = std::chrono::seconds(options.max_timeout);
  settings.pool_size = options.pool_size;
  settings.max_sandboxes = options.max_sandboxes;
  settings.layer_storage_bytes = options.layer_storage_mb << 20;
  std::vector<sandbox::TemplateEntry> entries{{*info, {"code-interpreter-v1", "base"}}};

  asio::thread_pool blocking(4);
  sandbox::HttpAgentControl agents;
  sandbox::SandboxManager manager(io.get_executor(), blocking, **runtime, agents,
                                  sandbox::ManagerStores{sandboxes_store, snapshot_store, layer_store},
                                  std::move(entries), settings, network.get());
  api::ControlApi control(manager, keys, api::ApiSettings{options.domain});
  proxy::SandboxProxy sandbox_proxy(manager);
  app::Auth app_auth(session_store, keys, app::make_login_token());
  app::UserSandboxes user_sandboxes(manager, "code-interpreter",
                                    std::chrono::seconds(options.app_sandbox_timeout),
                                    options.app_internet == "on");
  app::AppSettings app_settings;
  app_settings.providers = std::move(*providers);
  app_settings.provider_ca_file = options.provider_ca_file;
  app::ChatKernels chat_kernels(kernel_store, manager);
  app::App artifacts_app(app_auth, chat_store, user_sandboxes, chat_kernels, std::move(app_settings));
  http::Server server(io.get_executor());
  auto handler = [&](http::Request& request, http::BodyReader& body,
                     http::ResponseWriter& writer) -> asio::awaitable<void> {
    auto target = proxy::target_of(request);
    if (!target) target = sandbox_proxy.target_by_signature(request);
    if (target) {
      co_await sandbox_proxy.serve(*target, request, body, writer);
    } else if (proxy::SandboxProxy::signed_file_request(request)) {
      co_await writer.send(http::error_response(ErrorCode::kUnauthenticated, "invalid signature"));
    } else if (app::App::owns(request)) {
      co_await artifacts_app.handle(request, body, writer);
    } else {
      co_await control.handle(request, body, writer);
    }
  };
  auto bound = server.listen_tcp(listen->first, listen->second, handler);
  if (!bound) {
    spdlog::critical("{}", bound.error().message);
    return 1;
  }
  const std::string url = fmt::format("http://{}:{}", listen->first, *bound);
  const std::string login_link = url + "/login?token=" + app_auth.login_token();

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await manager.start();
        fmt::print(
            "cellblock serve: listening on {}\n  E2B_API_URL={} E2B_SANDBOX_URL={} E2B_API_KEY=<your key>\n"
            "  Open the app: {}\n",
            url, url, url, login_link);
        std::fflush(stdout);
        if (options.open_browser) open_in_browser(login_link);
        co_await artifacts_app.discover_models();
      },
      asio::detached);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& error, int signo) {
    if (error) return;
    spdlog::info("signal {}: stopping ({})", signo,
                 options.on_shutdown == "kill"
                     ? "killing every sandbox"
                     : "sandboxes keep running and are reattached at the next start");
    artifacts_app.stop();
    server.stop();
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await manager.stop();
          io.stop();
        },
        asio::detached);
  });
  io.run();
  blocking.join();
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* serve_app =
      app.add_subcommand("serve", "run the control plane, the sandbox proxy and the sandboxes");
  serve_app->add_option("--listen", options->listen, "address and port to serve on")->capture_default_str();
  serve_app->add_option("--state-dir", options->state_dir,
                        "state directory (default: /var/lib/cellblock as root)");
  serve_app->add_option("--template-cache", options->template_cache, "template cache directory")
      ->capture_default_str();
  serve_app->add_option("--pool-size", options->pool_size, "ready sandboxes kept per template")
      ->capture_default_str();
  serve_app
      ->add_option("--default-timeout", options->default_timeout, "sandbox lifetime when none is asked (s)")
      ->capture_default_str();
  serve_app->add_option("--max-timeout", options->max_timeout, "longest sandbox lifetime (s)")
      ->capture_default_str();
  serve_app
      ->add_option(
          "--max-sandboxes", options->max_sandboxes,
          "sandboxes held at once: running, paused with memory, booting and warm in a pool (a create "
          "beyond it gets 429; a warm sandbox of another template makes room); paused without memory do "
          "not count")
      ->capture_default_str();
  serve_app
      ->add_option("--layer-storage", options->layer_storage_mb,
                   "disk for saved files, in MiB: sandboxes paused without memory and snapshots (a pause or "
                   "snapshot beyond it gets 507)")
      ->capture_default_str()
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40));
  serve_app
      ->add_option("--boot-concurrency", options->boot_concurrency,
                   "sandboxes booting at once; further boots wait in arrival order")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  serve_app
      ->add_option(
          "--cpu-weight", options->cpu_weight,
          "CPU weight of all sandboxes together against the host's processes (cgroup v2 scale: 100 = "
          "one ordinary process; v1 hosts get the matching cpu.shares)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  serve_app
      ->add_option(
          "--on-shutdown", options->on_shutdown,
          "what stopping the server does to sandboxes: keep (they run on, paused ones stay frozen, and "
          "the next start reattaches them; a sandbox whose server never returns ends itself at its "
          "timeout) or kill")
      ->capture_default_str()
      ->check(CLI::IsMember({"keep", "kill"}));
  serve_app->add_option("--memory-mb", options->memory_mb, "memory limit per sandbox")->capture_default_str();
  serve_app->add_option("--pids", options->pids, "process limit per sandbox")->capture_default_str();
  serve_app->add_option("--cpus", options->cpus, "CPU limit per sandbox (cores, enforced by a CFS quota)")
      ->capture_default_str();
  serve_app->add_option("--disk-mb", options->disk_mb, "writable disk per sandbox")->capture_default_str();
  serve_app->add_option("--domain", options->domain, "sandbox domain returned to clients (host routing)");
  serve_app->add_option("--chat-config", options->chat_config,
                        "JSON file listing LLM providers (default: from ANTHROPIC_* / OPENAI_* variables)");
  serve_app->add_option("--provider-ca-file", options->provider_ca_file,
                        "extra PEM CA certificates trusted for LLM providers");
  serve_app
      ->add_option("--app-sandbox-timeout", options->app_sandbox_timeout,
                   "how long an app user's sandbox lives after its last use (s)")
      ->capture_default_str();
  serve_app
      ->add_option("--app-internet", options->app_internet,
                   "whether the app's sandboxes reach the internet (the sandbox network's rules still apply)")
      ->capture_default_str()
      ->check(CLI::IsMember({"on", "off"}));
  NetworkOptions& network = options->network;
  serve_app
      ->add_option("--sandbox-network", network.mode,
                   "on: every sandbox gets its own link to the host (NAT to the host's uplink, nftables "
                   "rules; needs nf_tables and turns on IPv4 forwarding); off: loopback only")
      ->capture_default_str()
      ->check(CLI::IsMember({"on", "off"}));
  serve_app
      ->add_option("--sandbox-subnet", network.subnet,
                   "the sandboxes' addresses, a /31 each (auto: a /20 of 100.96.0.0/11 chosen by the state "
                   "directory)")
      ->capture_default_str();
  serve_app
      ->add_option("--sandbox-dns", network.dns,
                   "the sandboxes' resolvers: host (the host's /etc/resolv.conf), none, or IPv4 addresses "
                   "separated by commas")
      ->capture_default_str();
  serve_app
      ->add_option("--egress-within", network.egress_within,
                   "the only destinations any sandbox can reach, whatever its rules: any, none (loopback "
                   "only), or CIDRs separated by commas")
      ->capture_default_str();
  serve_app->add_option(
      "--allow-private", network.allow_private,
      "private ranges or host networks (CIDRs, comma-separated) sandboxes may reach; by default the private, "
      "link-local and metadata ranges and every network of the host are unreachable");
  serve_app->add_flag("--open", options->open_browser, "open the app in the desktop's browser once ready");
  serve_app->callback([options]() { std::exit(serve(*options)); });
}

}  // namespace cellblock::cli
