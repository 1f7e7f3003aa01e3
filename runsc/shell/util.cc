#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runsc/shell/internal.h"

namespace runsc::shell {

void Cmd::Error(std::string_view msg) {
  err->append(Cat(name(), ": ", msg, "\n"));
}
void Cmd::Error(std::string_view msg, long neg_errno) {
  err->append(Cat(name(), ": ", msg, ": ", ErrStr(neg_errno), "\n"));
}
int Cmd::Usage(std::string_view msg) {
  if (!msg.empty()) err->append(Cat(name(), ": ", msg, "\n"));
  err->append(Cat("Try '", name(), " --help' for more information.\n"));
  return 2;
}

std::string ErrStr(long r) {
  int e = static_cast<int>(r < 0 ? -r : r);
  char buf[256];
  // GNU strerror_r returns a char*.
  const char* s = strerror_r(e, buf, sizeof(buf));
  return s;
}

std::string Quote(std::string_view s) {
  bool plain = !s.empty();
  for (char c : s) {
    if (!(isalnum(static_cast<unsigned char>(c)) ||
          strchr("-_./,:+@%^", c) != nullptr)) {
      plain = false;
    }
  }
  (void)plain;  // GNU quotes even plain names in messages.
  if (s.find('\'') != std::string_view::npos) {
    return Cat("\"", s, "\"");
  }
  return Cat("'", s, "'");
}

std::string Join(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (dir.back() == '/') return Cat(dir, name);
  return Cat(dir, "/", name);
}

std::string BaseName(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  if (p == "/") return "/";
  size_t i = p.rfind('/');
  return std::string(i == std::string_view::npos ? p : p.substr(i + 1));
}

std::string DirName(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  size_t i = p.rfind('/');
  if (i == std::string_view::npos) return ".";
  while (i > 0 && p[i - 1] == '/') --i;
  if (i == 0) return "/";
  return std::string(p.substr(0, i));
}

long Lstat(Task* t, const std::string& p, struct stat* st) {
  return t->Fstatat(AT_FDCWD, p.c_str(), st, AT_SYMLINK_NOFOLLOW);
}
long Stat(Task* t, const std::string& p, struct stat* st) {
  return t->Fstatat(AT_FDCWD, p.c_str(), st, 0);
}

long ReadFd(Task* t, int fd, std::string* out) {
  char buf[65536];
  for (;;) {
    long n = t->Read(fd, buf, sizeof(buf));
    if (n < 0) return n;
    if (n == 0) return 0;
    out->append(buf, static_cast<size_t>(n));
  }
}

long ReadPath(Task* t, const std::string& p, std::string* out) {
  Fd fd(t, t->Open(p.c_str(), O_RDONLY));
  if (!fd.ok()) return fd.err();
  return ReadFd(t, fd.get(), out);
}

long WriteFd(Task* t, int fd, std::string_view data) {
  while (!data.empty()) {
    long n = t->Write(fd, data.data(), data.size());
    if (n < 0) return n;
    if (n == 0) return -EIO;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

long ListDir(Task* t, const std::string& p, std::vector<std::string>* names) {
  Fd fd(t, t->Open(p.c_str(), O_RDONLY | O_DIRECTORY));
  if (!fd.ok()) return fd.err();
  char buf[8192];
  for (;;) {
    long n = t->Getdents64(fd.get(), buf, sizeof(buf));
    if (n < 0) return n;
    if (n == 0) break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      std::string name = d->d_name;
      if (name != "." && name != "..") names->push_back(std::move(name));
      off += d->d_reclen;
    }
  }
  return 0;
}

long ReadLink(Task* t, const std::string& p, std::string* target) {
  std::string buf(4096, '\0');
  long n = t->Readlinkat(AT_FDCWD, p.c_str(), buf.data(), buf.size());
  if (n < 0) return n;
  buf.resize(static_cast<size_t>(n));
  *target = std::move(buf);
  return 0;
}

void Names::Load() {
  if (loaded_) return;
  loaded_ = true;
  std::string data;
  if (ReadPath(t_, "/etc/passwd", &data) == 0) {
    for (absl::string_view line : absl::StrSplit(data, '\n')) {
      std::vector<absl::string_view> f = absl::StrSplit(line, ':');
      uint32_t id, gid;
      if (f.size() < 4 || !absl::SimpleAtoi(f[2], &id)) continue;
      users_.emplace(id, std::string(f[0]));
      uids_.emplace(std::string(f[0]), id);
      if (absl::SimpleAtoi(f[3], &gid)) user_gid_.emplace(id, gid);
    }
  }
  data.clear();
  if (ReadPath(t_, "/etc/group", &data) == 0) {
    for (absl::string_view line : absl::StrSplit(data, '\n')) {
      std::vector<absl::string_view> f = absl::StrSplit(line, ':');
      uint32_t id;
      if (f.size() < 3 || !absl::SimpleAtoi(f[2], &id)) continue;
      groups_.emplace(id, std::string(f[0]));
      gids_.emplace(std::string(f[0]), id);
    }
  }
}

std::optional<std::string> Names::User(uint32_t uid) {
  Load();
  auto it = users_.find(uid);
  if (it == users_.end()) return std::nullopt;
  return it->second;
}
std::optional<std::string> Names::Group(uint32_t gid) {
  Load();
  auto it = groups_.find(gid);
  if (it == groups_.end()) return std::nullopt;
  return it->second;
}
std::optional<uint32_t> Names::Uid(const std::string& name) {
  Load();
  auto it = uids_.find(name);
  if (it == uids_.end()) return std::nullopt;
  return it->second;
}
std::optional<uint32_t> Names::Gid(const std::string& name) {
  Load();
  auto it = gids_.find(name);
  if (it == gids_.end()) return std::nullopt;
  return it->second;
}
std::optional<uint32_t> Names::UserGid(uint32_t uid) {
  Load();
  auto it = user_gid_.find(uid);
  if (it == user_gid_.end()) return std::nullopt;
  return it->second;
}

char TypeChar(mode_t m) {
  switch (m & S_IFMT) {
    case S_IFREG:
      return 'f';
    case S_IFDIR:
      return 'd';
    case S_IFLNK:
      return 'l';
    case S_IFBLK:
      return 'b';
    case S_IFCHR:
      return 'c';
    case S_IFIFO:
      return 'p';
    case S_IFSOCK:
      return 's';
  }
  return 'U';
}

std::string ModeString(mode_t m) {
  std::string s(10, '-');
  switch (m & S_IFMT) {
    case S_IFREG:
      s[0] = '-';
      break;
    case S_IFDIR:
      s[0] = 'd';
      break;
    case S_IFLNK:
      s[0] = 'l';
      break;
    case S_IFBLK:
      s[0] = 'b';
      break;
    case S_IFCHR:
      s[0] = 'c';
      break;
    case S_IFIFO:
      s[0] = 'p';
      break;
    case S_IFSOCK:
      s[0] = 's';
      break;
    default:
      s[0] = '?';
  }
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) {
    if (m & (0400 >> i)) s[1 + i] = rwx[i];
  }
  if (m & S_ISUID) s[3] = (m & S_IXUSR) ? 's' : 'S';
  if (m & S_ISGID) s[6] = (m & S_IXGRP) ? 's' : 'S';
  if (m & S_ISVTX) s[9] = (m & S_IXOTH) ? 't' : 'T';
  return s;
}

std::string FileTypeName(const struct stat& st) {
  switch (st.st_mode & S_IFMT) {
    case S_IFREG:
      return st.st_size == 0 ? "regular empty file" : "regular file";
    case S_IFDIR:
      return "directory";
    case S_IFLNK:
      return "symbolic link";
    case S_IFBLK:
      return "block special file";
    case S_IFCHR:
      return "character special file";
    case S_IFIFO:
      return "fifo";
    case S_IFSOCK:
      return "socket";
  }
  return "weird file";
}

std::string FormatTime(const std::string& fmt, struct timespec ts) {
  // Replace %N by the nanoseconds first (keeping %% intact).
  std::string f;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] == '%' && i + 1 < fmt.size()) {
      if (fmt[i + 1] == 'N') {
        char ns[16];
        snprintf(ns, sizeof(ns), "%09ld", static_cast<long>(ts.tv_nsec));
        f += ns;
        ++i;
        continue;
      }
      f += fmt[i];
      f += fmt[i + 1];
      ++i;
      continue;
    }
    f += fmt[i];
  }
  struct tm tm;
  time_t secs = ts.tv_sec;
  gmtime_r(&secs, &tm);
  if (f.empty()) return "";
  std::string out(f.size() * 4 + 256, '\0');
  // Prefix a space so an empty result is distinguishable from failure.
  std::string g = " " + f;
  size_t n = strftime(out.data(), out.size(), g.c_str(), &tm);
  if (n == 0) return "";
  return out.substr(1, n - 1);
}

bool ParseSize(std::string_view s, int64_t* v) {
  size_t i = 0;
  while (i < s.size() && isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0) return false;
  int64_t n;
  if (!absl::SimpleAtoi(absl::string_view(s.data(), i), &n)) return false;
  std::string_view suf = s.substr(i);
  int64_t mult = 1;
  if (!suf.empty()) {
    static const char kUnits[] = "KMGTPEZY";
    if (suf == "b") {
      mult = 512;
    } else {
      const char* p = strchr(kUnits, toupper(suf[0]));
      if (p == nullptr || (suf[0] == 'k' && false)) return false;
      int power = static_cast<int>(p - kUnits) + 1;
      int64_t base = 1024;
      std::string_view rest = suf.substr(1);
      if (rest == "B")
        base = 1000;
      else if (rest == "iB" || rest.empty())
        base = 1024;
      else
        return false;
      for (int k = 0; k < power; ++k) mult *= base;
    }
  }
  *v = n * mult;
  return true;
}

std::string FormatStr(const std::string& spec, const std::string& s) {
  std::string f = "%" + spec + "s";
  int n = snprintf(nullptr, 0, f.c_str(), s.c_str());
  std::string out(static_cast<size_t>(n) + 1, '\0');
  snprintf(out.data(), out.size(), f.c_str(), s.c_str());
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string FormatInt(const std::string& spec, long long v) {
  std::string f = "%" + spec + "lld";
  char buf[128];
  snprintf(buf, sizeof(buf), f.c_str(), v);
  return buf;
}

std::string FormatUInt(const std::string& spec, unsigned long long v,
                       char conv) {
  std::string f = "%" + spec + "ll" + std::string(1, conv);
  char buf[128];
  snprintf(buf, sizeof(buf), f.c_str(), v);
  return buf;
}

std::string Unescape(std::string_view s, bool* stop) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    switch (c) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case 'c':
        if (stop) *stop = true;
        return out;
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7': {
        int v = 0, k = 0;
        while (k < 3 && i < s.size() && s[i] >= '0' && s[i] <= '7') {
          v = v * 8 + (s[i] - '0');
          ++i;
          ++k;
        }
        --i;
        out += static_cast<char>(v);
        break;
      }
      default:
        out += '\\';
        out += c;
    }
  }
  return out;
}

bool Opts::Has(std::string_view k) const {
  for (const auto& [key, v] : list)
    if (key == k) return true;
  return false;
}
std::string Opts::Get(std::string_view k) const {
  std::string r;
  for (const auto& [key, v] : list)
    if (key == k) r = v;
  return r;
}

bool ParseOpts(Cmd& c, std::string_view spec, const std::vector<LongOpt>& longs,
               Opts* o, bool allow_number_opt) {
  const auto& a = c.argv;
  bool done = false;
  for (size_t i = 1; i < a.size(); ++i) {
    const std::string& s = a[i];
    if (done || s.size() < 2 || s[0] != '-') {
      o->args.push_back(s);
      continue;
    }
    if (s == "--") {
      done = true;
      continue;
    }
    if (s[1] == '-') {
      std::string name = s.substr(2), val;
      bool has_val = false;
      size_t eq = name.find('=');
      if (eq != std::string::npos) {
        val = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_val = true;
      }
      const LongOpt* found = nullptr;
      int matches = 0;
      for (const LongOpt& l : longs) {
        if (name == l.name) {
          found = &l;
          matches = 1;
          break;
        }
        if (std::string_view(l.name).substr(0, name.size()) == name) {
          found = &l;
          ++matches;
        }
      }
      if (found == nullptr || matches > 1) {
        c.Usage(Cat(matches > 1 ? "option '" : "unrecognized option '", s,
                    matches > 1 ? "' is ambiguous" : "'"));
        return false;
      }
      if (found->has_arg && !has_val) {
        if (i + 1 >= a.size()) {
          c.Usage(Cat("option '--", found->name, "' requires an argument"));
          return false;
        }
        val = a[++i];
      } else if (!found->has_arg && has_val) {
        c.Usage(Cat("option '--", found->name, "' doesn't allow an argument"));
        return false;
      }
      std::string key = found->short_equiv ? std::string(1, found->short_equiv)
                                           : std::string(found->name);
      o->list.emplace_back(key, val);
      continue;
    }
    if (allow_number_opt && isdigit(static_cast<unsigned char>(s[1]))) {
      o->list.emplace_back("#", s.substr(1));
      continue;
    }
    for (size_t j = 1; j < s.size(); ++j) {
      char ch = s[j];
      size_t p = spec.find(ch);
      if (p == std::string_view::npos || ch == ':') {
        c.Usage(Cat("invalid option -- '", std::string(1, ch), "'"));
        return false;
      }
      if (p + 1 < spec.size() && spec[p + 1] == ':') {
        std::string val;
        if (j + 1 < s.size()) {
          val = s.substr(j + 1);
        } else if (i + 1 < a.size()) {
          val = a[++i];
        } else {
          c.Usage(
              Cat("option requires an argument -- '", std::string(1, ch), "'"));
          return false;
        }
        o->list.emplace_back(std::string(1, ch), val);
        break;
      }
      o->list.emplace_back(std::string(1, ch), "");
    }
  }
  return true;
}

}  // namespace runsc::shell
