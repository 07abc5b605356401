#include "runtime/ns/seccomp_filter.h"

#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

namespace cellblock::runtime::ns {

namespace json = boost::json;

namespace {

struct ContextDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};
using Context = std::unique_ptr<void, ContextDeleter>;

Error policy_error(const std::string& path, const std::string& what) {
  return Error{ErrorCode::kInvalidArgument, "seccomp policy " + path + ": " + what};
}

Result<int> errno_by_name(const std::string& name) {
  static const std::pair<const char*, int> kNames[] = {
      {"EPERM", EPERM}, {"ENOSYS", ENOSYS}, {"EACCES", EACCES}, {"EINVAL", EINVAL}};
  for (const auto& [text, value] : kNames) {
    if (name == text) return value;
  }
  return fail(ErrorCode::kInvalidArgument, "unknown errno name " + name);
}

Result<std::uint32_t> parse_action(const json::object& rule) {
  const json::value* action = rule.if_contains("action");
  if (action == nullptr || !action->is_string())
    return fail(ErrorCode::kInvalidArgument, "rule without \"action\"");
  if (*action == "kill_process") return SCMP_ACT_KILL_PROCESS;
  if (*action == "allow") return SCMP_ACT_ALLOW;
  if (*action != "errno") return fail(ErrorCode::kInvalidArgument, "unknown action");
  const json::value* name = rule.if_contains("errno");
  if (name == nullptr || !name->is_string())
    return fail(ErrorCode::kInvalidArgument, "errno action without \"errno\"");
  auto value = errno_by_name(std::string(name->get_string()));
  if (!value) return tl::unexpected(value.error());
  return SCMP_ACT_ERRNO(static_cast<std::uint32_t>(*value));
}

std::optional<std::uint64_t> as_u64(const json::value* value) {
  if (value != nullptr && value->is_uint64()) return value->get_uint64();
  if (value != nullptr && value->is_int64() && value->get_int64() >= 0) {
    return static_cast<std::uint64_t>(value->get_int64());
  }
  return std::nullopt;
}

Result<std::vector<scmp_arg_cmp>> parse_args(const json::object& rule) {
  std::vector<scmp_arg_cmp> conditions;
  const json::value* args = rule.if_contains("args");
  if (args == nullptr) return conditions;
  if (!args->is_array()) return fail(ErrorCode::kInvalidArgument, "\"args\" must be an array");
  for (const auto& entry : args->get_array()) {
    const json::object* arg = entry.if_object();
    if (arg == nullptr) return fail(ErrorCode::kInvalidArgument, "each arg must be an object");
    auto index = as_u64(arg->if_contains("index"));
    auto value = as_u64(arg->if_contains("value"));
    auto mask = arg->contains("mask") ? as_u64(arg->if_contains("mask")) : std::optional<std::uint64_t>(0);
    const json::value* op = arg->if_contains("op");
    if (!index || !value || !mask || *index > 5 || op == nullptr || !op->is_string()) {
      return fail(ErrorCode::kInvalidArgument, "arg needs index 0-5, op and integer value/mask");
    }
    if (*op == "masked_eq") {
      conditions.push_back(scmp_arg_cmp{static_cast<unsigned>(*index), SCMP_CMP_MASKED_EQ, *mask, *value});
    } else if (*op == "eq") {
      conditions.push_back(scmp_arg_cmp{static_cast<unsigned>(*index), SCMP_CMP_EQ, *value, 0});
    } else if (*op == "ne") {
      conditions.push_back(scmp_arg_cmp{static_cast<unsigned>(*index), SCMP_CMP_NE, *value, 0});
    } else {
      return fail(ErrorCode::kInvalidArgument, "unknown arg op");
    }
  }
  return conditions;
}

Status add_rule(scmp_filter_ctx ctx, const json::object& rule) {
  const json::value* reason = rule.if_contains("reason");
  if (reason == nullptr || !reason->is_string() || reason->get_string().empty()) {
    return fail(ErrorCode::kInvalidArgument, "every rule needs a non-empty \"reason\"");
  }
  auto action = parse_action(rule);
  if (!action) return tl::unexpected(action.error());
  auto conditions = parse_args(rule);
  if (!conditions) return tl::unexpected(conditions.error());
  const json::value* syscalls = rule.if_contains("syscalls");
  if (syscalls == nullptr || !syscalls->is_array()) {
    return fail(ErrorCode::kInvalidArgument, "rule without a \"syscalls\" array");
  }
  for (const auto& name_value : syscalls->get_array()) {
    if (!name_value.is_string()) return fail(ErrorCode::kInvalidArgument, "syscall names must be strings");
    std::string name(name_value.get_string());
    int number = seccomp_syscall_resolve_name(name.c_str());
    // A name libseccomp does not know at all is a typo; names of other architectures resolve to pseudo
    // numbers that libseccomp skips on this one.
    if (number == __NR_SCMP_ERROR) return fail(ErrorCode::kInvalidArgument, "unknown syscall " + name);
    int rc = seccomp_rule_add_array(ctx, *action, number, static_cast<unsigned>(conditions->size()),
                                    conditions->data());
    if (rc != 0)
      return fail(ErrorCode::kInvalidArgument, "adding rule for " + name + ": " + std::strerror(-rc));
  }
  return {};
}

Result<SeccompProgram> export_program(scmp_filter_ctx ctx, std::size_t rule_count) {
  int fd = ::memfd_create("cellblock-seccomp", MFD_CLOEXEC);
  if (fd < 0) return tl::unexpected(system_error("memfd_create for the seccomp program", errno));
  int rc = seccomp_export_bpf(ctx, fd);
  off_t size = ::lseek(fd, 0, SEEK_END);
  SeccompProgram program;
  program.rule_count = rule_count;
  if (rc == 0 && size > 0 && size % sizeof(sock_filter) == 0) {
    program.instructions.resize(static_cast<std::size_t>(size) / sizeof(sock_filter));
    rc = ::pread(fd, program.instructions.data(), static_cast<std::size_t>(size), 0) == size ? 0 : -EIO;
  } else if (rc == 0) {
    rc = -EINVAL;
  }
  ::close(fd);
  if (rc != 0)
    return fail(ErrorCode::kInternal, std::string("exporting the seccomp program: ") + std::strerror(-rc));
  return program;
}

}  // namespace

Result<SeccompProgram> compile_seccomp_policy(const std::string& policy_path) {
  std::ifstream in(policy_path);
  if (!in) {
    return tl::unexpected(
        system_error("reading seccomp policy " + policy_path +
                         " (set NsRuntimeOptions::seccomp_policy_path to the installed file)",
                     errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value policy = json::parse(text.str(), ec);
  if (ec || !policy.is_object()) return tl::unexpected(policy_error(policy_path, "not a JSON object"));
  const json::object& root = policy.get_object();
  const json::value* default_action = root.if_contains("default_action");
  if (default_action == nullptr || *default_action != "allow") {
    return tl::unexpected(
        policy_error(policy_path, "\"default_action\" must be \"allow\" (a deny-list policy)"));
  }
  Context ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return fail(ErrorCode::kInternal, "seccomp_init failed");
  // Syscalls of other ABIs (i386 via int 0x80, x32) are not in the filter: libseccomp kills the process on
  // them.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  // no_new_privs is set by install_seccomp itself; the exported program must not depend on libseccomp doing
  // it.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  const json::value* rules = root.if_contains("rules");
  if (rules == nullptr || !rules->is_array())
    return tl::unexpected(policy_error(policy_path, "no \"rules\" array"));
  std::size_t index = 0;
  for (const auto& rule : rules->get_array()) {
    const json::object* object = rule.if_object();
    if (object == nullptr) return tl::unexpected(policy_error(policy_path, "rules must be objects"));
    if (auto s = add_rule(ctx.get(), *object); !s) {
      return tl::unexpected(
          policy_error(policy_path, "rule " + std::to_string(index) + ": " + s.error().message));
    }
    ++index;
  }
  return export_program(ctx.get(), index);
}

StepResult install_seccomp(const SeccompProgram& program) {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return step_failed(ContainStep::kSeccomp, errno, "no_new_privs");
  struct sock_fprog fprog {};
  fprog.len = static_cast<unsigned short>(program.instructions.size());
  fprog.filter = const_cast<sock_filter*>(program.instructions.data());
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0) {
    return step_failed(ContainStep::kSeccomp, errno, "PR_SET_SECCOMP");
  }
  return step_ok();
}

}  // namespace cellblock::runtime::ns
