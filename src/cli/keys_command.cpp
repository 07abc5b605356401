// `cellblock keys create|list|revoke`: API keys in the state database (only hashes are stored).

#include <filesystem>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/paths.h"
#include "common/encoding.h"
#include "store/api_key_store.h"
#include "store/migrations.h"

namespace cellblock::cli {
namespace {

int with_keys(const std::string& state_dir, const std::function<int(store::ApiKeyStore&)>& action) {
  const std::string dir = state_dir.empty() ? default_state_dir() : state_dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  auto db = store::open_state_database((std::filesystem::path(dir) / "cellblock.db").string());
  if (!db) {
    fmt::print(stderr, "cellblock: {}\n", db.error().message);
    return 1;
  }
  store::ApiKeyStore keys(*db);
  return action(keys);
}

std::string when(std::optional<std::int64_t> nanos) {
  return nanos ? rfc3339(*nanos).substr(0, 19) : "-";
}

}  // namespace

void add_keys_command(CLI::App& app) {
  auto state_dir = std::make_shared<std::string>();
  CLI::App* keys = app.add_subcommand("keys", "manage API keys");
  keys->add_option("--state-dir", *state_dir, "state directory");
  keys->require_subcommand(1);

  auto name = std::make_shared<std::string>("cli");
  CLI::App* create = keys->add_subcommand("create", "create a key (printed once)");
  create->add_option("--name", *name, "a label for the key");
  create->callback([state_dir, name]() {
    std::exit(with_keys(*state_dir, [&](store::ApiKeyStore& store) {
      auto created = store.create(*name);
      if (!created) {
        fmt::print(stderr, "cellblock: {}\n", created.error().message);
        return 1;
      }
      fmt::print("{}\n", created->key);
      return 0;
    }));
  });

  CLI::App* list = keys->add_subcommand("list", "list keys");
  list->callback([state_dir]() {
    std::exit(with_keys(*state_dir, [&](store::ApiKeyStore& store) {
      auto all = store.list();
      if (!all) {
        fmt::print(stderr, "cellblock: {}\n", all.error().message);
        return 1;
      }
      fmt::print("{:<22} {:<14} {:<12} {:<20} {:<20} {}\n", "ID", "NAME", "PREFIX", "CREATED", "LAST USED",
                 "REVOKED");
      for (const auto& key : *all) {
        fmt::print("{:<22} {:<14} e2b_{:<8} {:<20} {:<20} {}\n", key.id, key.name, key.prefix,
                   when(key.created_at), when(key.last_used_at), when(key.revoked_at));
      }
      return 0;
    }));
  });

  auto id = std::make_shared<std::string>();
  CLI::App* revoke = keys->add_subcommand("revoke", "revoke a key by id or prefix");
  revoke->add_option("id", *id, "key id or prefix")->required();
  revoke->callback([state_dir, id]() {
    std::exit(with_keys(*state_dir, [&](store::ApiKeyStore& store) {
      if (auto ok = store.revoke(*id); !ok) {
        fmt::print(stderr, "cellblock: {}\n", ok.error().message);
        return 1;
      }
      fmt::print("revoked {}\n", *id);
      return 0;
    }));
  });
}

}  // namespace cellblock::cli
