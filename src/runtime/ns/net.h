#pragma once
// Network and UTS identity. The sandbox gets an empty network namespace: only its own loopback, which must be
// UP because Jupyter kernels talk ZeroMQ over 127.0.0.1. The host's loopback stays unreachable. A sandbox
// with a network link to the host also gets eth0 (veth.h).

#include "runtime/ns/step.h"

namespace cellblock::runtime::ns {

// Child side.
StepResult bring_up_loopback();
StepResult set_hostname(const char* hostname);

}  // namespace cellblock::runtime::ns
