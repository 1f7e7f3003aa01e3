#include "sentry/kernel/difftest/child.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace difftest::internal {

namespace {

bool WriteAll(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

void RecordWriter::Put(char tag, long ret, const std::string& payload) {
  std::string rec;
  rec.push_back(tag);
  int64_t r = ret;
  uint64_t n = payload.size();
  rec.append(reinterpret_cast<const char*>(&r), sizeof(r));
  rec.append(reinterpret_cast<const char*>(&n), sizeof(n));
  rec.append(payload);
  if (!WriteAll(fd_, rec.data(), rec.size())) _exit(3);
}

void RecordWriter::WriteResult(const Result& r) { Put('R', r.ret, r.payload); }
void RecordWriter::WriteTree(const std::string& t) { Put('T', 0, t); }
void RecordWriter::WriteError(const std::string& m) { Put('E', 0, m); }

SideOutput RunInChild(const std::function<void(RecordWriter&)>& body,
                      int timeout_s, const std::string& side_name) {
  SideOutput out;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    out.error = absl::StrCat(side_name, ": pipe: ", strerror(errno));
    return out;
  }
  // The child's stderr (abort messages, absl deadlock reports) is kept and
  // attached to the error if the child dies.
  int err_fd = memfd_create("difftest-stderr", MFD_CLOEXEC);
  pid_t pid = fork();
  if (pid < 0) {
    out.error = absl::StrCat(side_name, ": fork: ", strerror(errno));
    close(p[0]);
    close(p[1]);
    return out;
  }
  if (pid == 0) {
    close(p[0]);
    if (err_fd >= 0) dup2(err_fd, 2);
    signal(SIGALRM, SIG_DFL);
    alarm(timeout_s);
    RecordWriter w(p[1]);
    body(w);
    _exit(0);
  }
  close(p[1]);
  std::string buf;
  char chunk[65536];
  for (;;) {
    ssize_t n = read(p[0], chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
  }
  close(p[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  size_t pos = 0;
  constexpr size_t kHdr = 1 + 8 + 8;
  while (pos + kHdr <= buf.size()) {
    char tag = buf[pos];
    int64_t r;
    uint64_t n;
    memcpy(&r, buf.data() + pos + 1, 8);
    memcpy(&n, buf.data() + pos + 9, 8);
    if (pos + kHdr + n > buf.size()) break;
    std::string payload = buf.substr(pos + kHdr, n);
    pos += kHdr + n;
    switch (tag) {
      case 'R':
        out.results.push_back(Result{static_cast<long>(r), payload});
        break;
      case 'T':
        out.tree = payload;
        break;
      case 'E':
        absl::StrAppend(&out.error, side_name, ": ", payload, "\n");
        break;
    }
  }
  std::string stderr_text;
  if (err_fd >= 0) {
    off_t n = lseek(err_fd, 0, SEEK_END);
    if (n > 0) {
      off_t from = n > 3000 ? n - 3000 : 0;
      stderr_text.resize(static_cast<size_t>(n - from));
      ssize_t got = pread(err_fd, stderr_text.data(), stderr_text.size(), from);
      stderr_text.resize(got > 0 ? static_cast<size_t>(got) : 0);
    }
    close(err_fd);
  }
  bool died =
      WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0);
  if (WIFSIGNALED(status)) {
    absl::StrAppend(&out.error, side_name, ": child killed by signal ",
                    WTERMSIG(status),
                    WTERMSIG(status) == SIGALRM ? " (timeout: hung)" : "",
                    " after ", out.results.size(), " results\n");
  } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    absl::StrAppend(&out.error, side_name, ": child exited with status ",
                    WEXITSTATUS(status), " after ", out.results.size(),
                    " results\n");
  }
  if (died && !stderr_text.empty()) {
    absl::StrAppend(&out.error, "  ", side_name, " stderr (tail):\n",
                    stderr_text, "\n");
  }
  return out;
}

}  // namespace difftest::internal
