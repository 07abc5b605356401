// A static helper bind-mounted into test sandboxes (at /probe): performs the system calls the security tests
// check from inside and prints "key=value" results, so the tests do not depend on shell tools' error texts.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char* errno_name(int value) {
  switch (value) {
    case 0:
      return "OK";
    case EPERM:
      return "EPERM";
    case ENOSYS:
      return "ENOSYS";
    case EACCES:
      return "EACCES";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case ENETUNREACH:
      return "ENETUNREACH";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    case ENOSPC:
      return "ENOSPC";
    case EAGAIN:
      return "EAGAIN";
    case EINVAL:
      return "EINVAL";
    default:
      return strerror(value);
  }
}

int result_errno(long rc) {
  return rc == 0 || rc > 0 ? 0 : errno;
}

// Every call here must fail: a success would mean the sandbox can escape its policy.
int probe_syscalls() {
  errno = 0;
  long rc = mount("none", "/tmp", "tmpfs", 0, nullptr);
  std::printf("mount=%s\n", errno_name(result_errno(rc)));
  errno = 0;
  rc = unshare(CLONE_NEWUSER);
  std::printf("unshare_newuser=%s\n", errno_name(result_errno(rc)));
  errno = 0;
  rc = ptrace(PTRACE_ATTACH, 1, nullptr, nullptr);
  std::printf("ptrace=%s\n", errno_name(result_errno(rc)));
  errno = 0;
  rc = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (rc == 0) _exit(0);
  std::printf("clone_newuser=%s\n", errno_name(result_errno(rc)));
  errno = 0;
  struct clone_args args {};
  args.exit_signal = SIGCHLD;
  rc = syscall(SYS_clone3, &args, sizeof args);
  if (rc == 0) _exit(0);
  std::printf("clone3=%s\n", errno_name(result_errno(rc)));
  errno = 0;
  rc = syscall(SYS_bpf, 0, nullptr, 0);
  std::printf("bpf=%s\n", errno_name(result_errno(rc)));
  errno = 0;
  rc = syscall(SYS_keyctl, 0, 0, 0, 0, 0);
  std::printf("keyctl=%s\n", errno_name(result_errno(rc)));
  // An ordinary fork must still work.
  pid_t child = fork();
  if (child == 0) _exit(0);
  std::printf("fork=%s\n", child > 0 ? "OK" : errno_name(errno));
  if (child > 0) waitpid(child, nullptr, 0);
  return 0;
}

int probe_connect(const char* address, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, address, &peer.sin_addr);
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&peer), sizeof peer);
  std::printf("connect=%s\n", errno_name(rc == 0 ? 0 : errno));
  return 0;
}

// TCP over the sandbox's own loopback, the way ZeroMQ kernels use it.
int probe_loopback() {
  int server = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(server, 1) != 0 ||
      getsockname(server, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::printf("loopback=%s\n", errno_name(errno));
    return 0;
  }
  int client = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::printf("loopback=%s\n", errno_name(errno));
    return 0;
  }
  int accepted = accept(server, nullptr, nullptr);
  char buffer[8] = {};
  bool ok =
      write(client, "ping", 4) == 4 && read(accepted, buffer, 4) == 4 && std::strcmp(buffer, "ping") == 0;
  std::printf("loopback=%s\n", ok ? "ok" : "broken");
  return 0;
}

int probe_memhog(long megabytes) {
  std::vector<char*> blocks;
  for (long i = 0; i < megabytes; ++i) {
    char* block = static_cast<char*>(std::malloc(1 << 20));
    if (block == nullptr) {
      std::printf("malloc_failed_at=%ld\n", i);
      return 2;
    }
    std::memset(block, 0x5a, 1 << 20);
    blocks.push_back(block);
  }
  std::printf("survived=%ld\n", megabytes);
  return 0;
}

double now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// A real fork bomb for `seconds`: every process keeps forking. The top process reports how often fork failed.
int probe_forkbomb(double seconds) {
  double deadline = now_seconds() + seconds;
  pid_t top = getpid();
  long failures = 0;
  int last_errno = 0;
  while (now_seconds() < deadline) {
    pid_t child = fork();
    if (child < 0) {
      ++failures;
      last_errno = errno;
      usleep(1000);
    }
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
  if (getpid() != top) _exit(0);
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  std::printf("fork_failures=%ld errno=%s\n", failures, errno_name(last_errno));
  return 0;
}

int probe_fill(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    std::printf("open=%s\n", errno_name(errno));
    return 0;
  }
  std::vector<char> chunk(1 << 16, 'x');
  long long written = 0;
  int last_errno = 0;
  for (;;) {
    ssize_t n = write(fd, chunk.data(), chunk.size());
    if (n <= 0) {
      last_errno = n < 0 ? errno : 0;
      break;
    }
    written += n;
    if (written > (1LL << 34)) break;
  }
  close(fd);
  std::printf("written=%lld errno=%s\n", written, errno_name(last_errno));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "syscalls") return probe_syscalls();
  if (command == "connect" && argc == 4) return probe_connect(argv[2], std::atoi(argv[3]));
  if (command == "loopback") return probe_loopback();
  if (command == "memhog" && argc == 3) return probe_memhog(std::atol(argv[2]));
  if (command == "forkbomb" && argc == 3) return probe_forkbomb(std::atof(argv[2]));
  if (command == "fill" && argc == 3) return probe_fill(argv[2]);
  std::fprintf(stderr,
               "usage: probe syscalls|connect ADDR PORT|loopback|memhog MB|forkbomb SECONDS|fill PATH\n");
  return 64;
}
