// Internals shared by the interpreter and the commands.
#ifndef RUNSC_SHELL_INTERNAL_H_
#define RUNSC_SHELL_INTERNAL_H_

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "runsc/shell/shell.h"
#include "sentry/kernel/task.h"

namespace runsc::shell {

using sentry::kernel::Task;

// String concatenation that takes std::string_view (Debian's abseil has its
// own string_view type).
namespace internal_cat {
inline void Add(std::string& s, std::string_view v) { s.append(v); }
inline void Add(std::string& s, const char* v) { s.append(v); }
inline void Add(std::string& s, char c) { s.push_back(c); }
template <typename T, typename = std::enable_if_t<std::is_integral_v<T> &&
                                                  !std::is_same_v<T, char>>>
inline void Add(std::string& s, T v) {
  s.append(std::to_string(v));
}
}  // namespace internal_cat
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string s;
  (internal_cat::Add(s, args), ...);
  return s;
}

struct Shell;

// One command's invocation: arguments, its stdin, and where it writes.
struct Cmd {
  Shell* sh = nullptr;
  Task* t = nullptr;
  std::vector<std::string> argv;
  std::string in;  // standard input (already read); use Stdin()
  bool stdin_used = false;
  std::string& Stdin() {
    stdin_used = true;
    return in;
  }
  std::string* out = nullptr;
  std::string* err = nullptr;

  const std::string& name() const { return argv[0]; }
  void Out(std::string_view s) { out->append(s); }
  // "name: msg\n"
  void Error(std::string_view msg);
  // "name: msg: strerror(e)\n"
  void Error(std::string_view msg, long neg_errno);
  // Prints "name: MSG\nTry 'name --help' for more information.\n"; returns 2.
  int Usage(std::string_view msg);
};

using CommandFn = int (*)(Cmd&);
struct CommandInfo {
  const char* name;
  CommandFn fn;
  const char* help;
};
const std::vector<CommandInfo>& Commands();

struct Shell {
  Task* t;
  Io* io;
  int last_status = 0;
};

// ---- helpers over the Task (util.cc) ----

std::string ErrStr(long neg_errno);  // strerror(-r)
// GNU's quote(): 'name' (shell-escaped when needed).
std::string Quote(std::string_view s);
std::string Join(std::string_view dir, std::string_view name);
std::string BaseName(std::string_view p);
std::string DirName(std::string_view p);

class Fd {
 public:
  Fd(Task* t, long fd) : t_(t), fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) t_->Close(static_cast<int>(fd_));
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return static_cast<int>(fd_); }
  bool ok() const { return fd_ >= 0; }
  long err() const { return fd_; }

 private:
  Task* t_;
  long fd_;
};

long Lstat(Task* t, const std::string& p, struct stat* st);
long Stat(Task* t, const std::string& p, struct stat* st);
// Reads the whole file / fd; returns 0 or -errno.
long ReadFd(Task* t, int fd, std::string* out);
long ReadPath(Task* t, const std::string& p, std::string* out);
long WriteFd(Task* t, int fd, std::string_view data);
// Directory entries without . and .., in getdents order.
long ListDir(Task* t, const std::string& p, std::vector<std::string>* names);
long ReadLink(Task* t, const std::string& p, std::string* target);

// uid/gid names from the sandbox's /etc/passwd and /etc/group.
class Names {
 public:
  explicit Names(Task* t) : t_(t) {}
  std::optional<std::string> User(uint32_t uid);
  std::optional<std::string> Group(uint32_t gid);
  std::optional<uint32_t> Uid(const std::string& name);
  std::optional<uint32_t> Gid(const std::string& name);
  // The primary gid of a user (from passwd).
  std::optional<uint32_t> UserGid(uint32_t uid);

 private:
  void Load();
  Task* t_;
  bool loaded_ = false;
  std::map<uint32_t, std::string> users_, groups_;
  std::map<std::string, uint32_t> uids_, gids_;
  std::map<uint32_t, uint32_t> user_gid_;
};

std::string ModeString(mode_t mode);              // "-rw-r--r--"
char TypeChar(mode_t mode);                       // find's %y: f d l ...
std::string FileTypeName(const struct stat& st);  // stat's %F
// strftime in UTC with %N (nanoseconds) support.
std::string FormatTime(const std::string& fmt, struct timespec ts);
// Parses a size like 10, 1K, 2M, 3KB; false if invalid.
bool ParseSize(std::string_view s, int64_t* v);
// printf-style integer/string formatting for stat/find directives:
// spec is the flags/width/precision between '%' and the conversion.
std::string FormatStr(const std::string& spec, const std::string& s);
std::string FormatInt(const std::string& spec, long long v);
std::string FormatUInt(const std::string& spec, unsigned long long v,
                       char conv = 'u');
// Backslash escapes as printf/find -printf interpret them. Sets *stop on \c.
std::string Unescape(std::string_view s, bool* stop = nullptr);

std::string Sha256Hex(std::string_view data);

// Simple option parsing (GNU style: options may follow operands; "--"
// ends them; short options may be grouped).
struct LongOpt {
  const char* name;
  bool has_arg;
  char short_equiv;  // 0 if only long (then stored under the long name)
};
struct Opts {
  std::vector<std::pair<std::string, std::string>> list;  // in order
  std::vector<std::string> args;
  bool Has(std::string_view k) const;
  std::string Get(std::string_view k) const;  // last value
};
// spec: short letters, a letter followed by ':' takes an argument.
// Returns false after printing a usage error (status 2).
bool ParseOpts(Cmd& c, std::string_view spec, const std::vector<LongOpt>& longs,
               Opts* o, bool allow_number_opt = false);

}  // namespace runsc::shell

#endif  // RUNSC_SHELL_INTERNAL_H_
