#pragma once
// seccomp: the policy is a data file (policies/seccomp-default.json: default action plus rules, each with a
// reason), parsed with Boost.JSON and compiled with libseccomp once, when the runtime is created. The child
// only installs the ready BPF program, which needs no allocation between clone3 and execve.

#include <linux/filter.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "runtime/ns/step.h"

namespace cellblock::runtime::ns {

struct SeccompProgram {
  std::vector<sock_filter> instructions;
  std::size_t rule_count = 0;
};

// Parent side.
Result<SeccompProgram> compile_seccomp_policy(const std::string& policy_path);

// Child side, last step before execve: PR_SET_NO_NEW_PRIVS, then the filter.
StepResult install_seccomp(const SeccompProgram& program);

}  // namespace cellblock::runtime::ns
