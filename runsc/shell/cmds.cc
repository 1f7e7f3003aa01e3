// The file commands other than ls/stat/find/tree, and the shell builtins.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "runsc/shell/internal.h"

namespace runsc::shell {

int CmdLs(Cmd& c);
int CmdStat(Cmd& c);
int CmdFind(Cmd& c);
int CmdTree(Cmd& c);

namespace {

// Reads a file operand ("-" is stdin). Returns 0 or -errno.
long ReadOperand(Cmd& c, const std::string& f, std::string* data) {
  if (f == "-") {
    *data = c.Stdin();
    c.in.clear();
    return 0;
  }
  return ReadPath(c.t, f, data);
}

// ---- cat ----
int CmdCat(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "u", {}, &o)) return 2;
  if (o.args.empty()) o.args.push_back("-");
  int status = 0;
  for (const std::string& f : o.args) {
    std::string data;
    long r = ReadOperand(c, f, &data);
    c.Out(data);
    if (r < 0) {
      c.Error(f, r);
      status = 1;
    }
  }
  return status;
}

// ---- head / tail ----
bool ParseCount(std::string s, int64_t* v, bool* neg, bool* plus) {
  *neg = *plus = false;
  if (!s.empty() && s[0] == '-') {
    *neg = true;
    s = s.substr(1);
  } else if (!s.empty() && s[0] == '+') {
    *plus = true;
    s = s.substr(1);
  }
  return ParseSize(s, v);
}

int HeadTail(Cmd& c, bool head) {
  Opts o;
  if (!ParseOpts(c, "n:c:qv",
                 {{"lines", true, 'n'},
                  {"bytes", true, 'c'},
                  {"quiet", false, 'q'},
                  {"silent", false, 'q'},
                  {"verbose", false, 'v'}},
                 &o, true)) {
    return 2;
  }
  bool bytes = false, neg = false, plus = false;
  int64_t n = 10;
  for (const auto& [k, v] : o.list) {
    if (k == "n" || k == "c" || k == "#") {
      bytes = k == "c";
      std::string val = v;
      if (k == "#") {
        // -5, -5c, -5n
        if (!val.empty() && (val.back() == 'c' || val.back() == 'l')) {
          bytes = val.back() == 'c';
          val.pop_back();
        }
      }
      if (!ParseCount(val, &n, &neg, &plus)) {
        c.Error(Cat("invalid number of ", bytes ? "bytes" : "lines", ": ",
                    Quote(v)));
        return 1;
      }
    }
  }
  if (o.args.empty()) o.args.push_back("-");
  bool headers = (o.args.size() > 1 && !o.Has("q")) || o.Has("v");
  int status = 0;
  bool first = true;
  for (const std::string& f : o.args) {
    std::string data;
    long r;
    if (f == "-") {
      r = ReadOperand(c, f, &data);
    } else {
      Fd fd(c.t, c.t->Open(f.c_str(), O_RDONLY));
      if (!fd.ok()) {
        c.Error(Cat("cannot open ", Quote(f), " for reading"), fd.err());
        status = 1;
        continue;
      }
      r = ReadFd(c.t, fd.get(), &data);
    }
    if (headers) {
      c.Out(Cat(first ? "" : "\n", "==> ", f == "-" ? "standard input" : f,
                " <==\n"));
    }
    first = false;
    if (r < 0) {
      c.Error(Cat("error reading ", Quote(f)), r);
      status = 1;
      continue;
    }
    size_t len = data.size();
    std::string_view d = data;
    if (bytes) {
      size_t k = static_cast<size_t>(n);
      if (head) {
        c.Out(neg ? d.substr(0, len > k ? len - k : 0)
                  : d.substr(0, std::min(k, len)));
      } else {
        if (plus)
          c.Out(k == 0 ? d : d.substr(std::min(len, k - 1)));
        else
          c.Out(d.substr(len > k ? len - k : 0));
      }
      continue;
    }
    // Line offsets: end of each line.
    std::vector<size_t> ends;
    for (size_t i = 0; i < len; ++i)
      if (d[i] == '\n') ends.push_back(i + 1);
    if (len > 0 && d.back() != '\n') ends.push_back(len);
    size_t lines = ends.size();
    size_t k = static_cast<size_t>(n);
    if (head) {
      if (neg) {
        size_t keep = lines > k ? lines - k : 0;
        c.Out(d.substr(0, keep == 0 ? 0 : ends[keep - 1]));
      } else {
        size_t take = std::min(k, lines);
        c.Out(d.substr(0, take == 0 ? 0 : ends[take - 1]));
      }
    } else {
      if (plus) {
        size_t skip = k == 0 ? 0 : k - 1;
        if (skip >= lines) continue;
        c.Out(d.substr(skip == 0 ? 0 : ends[skip - 1]));
      } else {
        size_t skip = lines > k ? lines - k : 0;
        c.Out(d.substr(skip == 0 ? 0 : ends[skip - 1]));
      }
    }
  }
  return status;
}
int CmdHead(Cmd& c) { return HeadTail(c, true); }
int CmdTail(Cmd& c) { return HeadTail(c, false); }

// ---- wc ----
int CmdWc(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "clwmL",
                 {{"bytes", false, 'c'},
                  {"lines", false, 'l'},
                  {"words", false, 'w'},
                  {"chars", false, 'm'},
                  {"max-line-length", false, 'L'}},
                 &o)) {
    return 2;
  }
  bool pl = o.Has("l"), pw = o.Has("w"), pc = o.Has("c"), pm = o.Has("m"),
       pL = o.Has("L");
  if (!pl && !pw && !pc && !pm && !pL) pl = pw = pc = true;
  std::vector<std::string> files = o.args;
  bool implicit_stdin = files.empty();
  if (implicit_stdin) files.push_back("-");
  int nprint = pl + pw + pc + pm + pL;
  struct Counts {
    uint64_t l = 0, w = 0, c = 0, m = 0, L = 0;
  };
  // Width: GNU's compute_number_width.
  int width = 1;
  {
    bool single = nprint == 1 && files.size() == 1;
    if (!single) {
      int min_width = 1;
      uint64_t total = 0;
      bool first = true;
      for (const std::string& f : files) {
        struct stat st;
        bool failed;
        if (f == "-") {
          failed = false;
          st.st_mode = S_IFIFO;
        } else {
          failed = Stat(c.t, f, &st) < 0;
        }
        (void)first;
        if (failed) continue;
        if (S_ISREG(st.st_mode))
          total += static_cast<uint64_t>(st.st_size);
        else
          min_width = 7;
      }
      for (; total >= 10; total /= 10) ++width;
      width = std::max(width, min_width);
    }
  }
  auto line = [&](const Counts& k, const std::string& name) {
    std::string s;
    auto add = [&](uint64_t v) {
      if (!s.empty()) s += ' ';
      s += FormatUInt(std::to_string(width), v);
    };
    if (pl) add(k.l);
    if (pw) add(k.w);
    if (pm) add(k.m);
    if (pc) add(k.c);
    if (pL) add(k.L);
    if (!name.empty()) s += " " + name;
    c.Out(s + "\n");
  };
  Counts total;
  int status = 0;
  for (const std::string& f : files) {
    std::string data;
    long r = ReadOperand(c, f, &data);
    if (r < 0 && f != "-") {
      struct stat st;
      bool opened = Stat(c.t, f, &st) == 0;
      c.Error(f, r);
      status = 1;
      if (!opened) continue;
    }
    Counts k;
    k.c = data.size();
    bool in_word = false;
    uint64_t cur = 0;
    for (unsigned char ch : data) {
      if (ch == '\n') ++k.l;
      if ((ch & 0xc0) != 0x80) ++k.m;
      if (ch == '\n' || ch == '\r' || ch == '\f') {
        k.L = std::max(k.L, cur);
        cur = 0;
      } else if (ch == '\t') {
        cur += 8 - cur % 8;
      } else if (isprint(ch)) {
        ++cur;
      }
      if (isspace(ch)) {
        in_word = false;
      } else if (isprint(ch) || ch >= 0x80) {
        if (!in_word) ++k.w;
        in_word = true;
      }
    }
    k.L = std::max(k.L, cur);
    line(k, implicit_stdin ? "" : f);
    total.l += k.l;
    total.w += k.w;
    total.c += k.c;
    total.m += k.m;
    total.L = std::max(total.L, k.L);
  }
  if (files.size() > 1) line(total, "total");
  return status;
}

// ---- sha256sum ----
int CmdSha256sum(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "bt", {}, &o)) return 2;
  if (o.args.empty()) o.args.push_back("-");
  int status = 0;
  for (const std::string& f : o.args) {
    std::string data;
    long r = ReadOperand(c, f, &data);
    if (r < 0) {
      c.Error(f, r);
      status = 1;
      continue;
    }
    c.Out(Cat(Sha256Hex(data), "  ", f, "\n"));
  }
  return status;
}

// ---- echo ----
int CmdEcho(Cmd& c) {
  bool newline = true, escapes = false;
  size_t i = 1;
  for (; i < c.argv.size(); ++i) {
    const std::string& a = c.argv[i];
    if (a.size() < 2 || a[0] != '-' ||
        a.find_first_not_of("neE", 1) != std::string::npos)
      break;
    for (char ch : a.substr(1)) {
      if (ch == 'n') newline = false;
      if (ch == 'e') escapes = true;
      if (ch == 'E') escapes = false;
    }
  }
  std::string s;
  for (size_t k = i; k < c.argv.size(); ++k) {
    if (k > i) s += ' ';
    s += c.argv[k];
  }
  if (escapes) {
    bool stop = false;
    s = Unescape(s, &stop);
    if (stop) newline = false;
  }
  if (newline) s += '\n';
  c.Out(s);
  return 0;
}

// ---- mkdir / rmdir ----
int CmdMkdir(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "pm:v",
                 {{"parents", false, 'p'},
                  {"mode", true, 'm'},
                  {"verbose", false, 'v'}},
                 &o)) {
    return 2;
  }
  if (o.args.empty()) return c.Usage("missing operand");
  mode_t mode = 0777;
  bool explicit_mode = false;
  if (o.Has("m")) {
    unsigned long m;
    std::string v = o.Get("m");
    char* end;
    m = strtoul(v.c_str(), &end, 8);
    if (v.empty() || *end != '\0' || m > 07777) {
      c.Error(Cat("invalid mode ", Quote(v)));
      return 1;
    }
    mode = static_cast<mode_t>(m);
    explicit_mode = true;
  }
  bool parents = o.Has("p");
  int status = 0;
  for (const std::string& d : o.args) {
    if (parents) {
      // Create each missing ancestor (u+wx so we can go on).
      std::vector<std::string> prefixes;
      std::string cur;
      size_t i = 0;
      if (!d.empty() && d[0] == '/') cur = "/";
      for (absl::string_view comp : absl::StrSplit(d, '/', absl::SkipEmpty())) {
        cur = cur.empty() || cur == "/" ? cur + std::string(comp)
                                        : cur + "/" + std::string(comp);
        prefixes.push_back(cur);
        ++i;
      }
      bool failed = false;
      for (size_t k = 0; k < prefixes.size(); ++k) {
        const std::string& p = prefixes[k];
        bool last = k + 1 == prefixes.size();
        long r = c.t->Mkdirat(AT_FDCWD, p.c_str(), last ? mode : 0777);
        if (r == -EEXIST) {
          struct stat st;
          if (Stat(c.t, p, &st) == 0 && S_ISDIR(st.st_mode)) continue;
          c.Error(Cat("cannot create directory ", Quote(p)), -ENOTDIR);
          failed = true;
          break;
        }
        if (r < 0) {
          c.Error(Cat("cannot create directory ", Quote(p)), r);
          failed = true;
          break;
        }
        if (last && explicit_mode) c.t->Fchmodat(AT_FDCWD, p.c_str(), mode);
      }
      if (failed) status = 1;
      continue;
    }
    long r = c.t->Mkdirat(AT_FDCWD, d.c_str(), mode);
    if (r < 0) {
      c.Error(Cat("cannot create directory ", Quote(d)), r);
      status = 1;
      continue;
    }
    if (explicit_mode) c.t->Fchmodat(AT_FDCWD, d.c_str(), mode);
  }
  return status;
}

int CmdRmdir(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "p", {{"parents", false, 'p'}}, &o)) return 2;
  if (o.args.empty()) return c.Usage("missing operand");
  int status = 0;
  for (std::string d : o.args) {
    for (;;) {
      long r = c.t->Unlinkat(AT_FDCWD, d.c_str(), AT_REMOVEDIR);
      if (r < 0) {
        c.Error(Cat("failed to remove ", Quote(d)), r);
        status = 1;
        break;
      }
      if (!o.Has("p")) break;
      std::string parent = DirName(d);
      if (parent == "." || parent == "/" || parent == d) break;
      d = parent;
    }
  }
  return status;
}

// ---- rm ----
bool RemoveTree(Cmd& c, const std::string& p, bool force) {
  struct stat st;
  long r = Lstat(c.t, p, &st);
  if (r < 0) {
    if (force && r == -ENOENT) return true;
    c.Error(Cat("cannot remove ", Quote(p)), r);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    r = c.t->Unlinkat(AT_FDCWD, p.c_str(), 0);
    if (r < 0 && !(force && r == -ENOENT)) {
      c.Error(Cat("cannot remove ", Quote(p)), r);
      return false;
    }
    return true;
  }
  std::vector<std::string> kids;
  r = ListDir(c.t, p, &kids);
  if (r < 0) {
    c.Error(Cat("cannot remove ", Quote(p)), r);
    return false;
  }
  bool ok = true;
  for (const std::string& k : kids) ok = RemoveTree(c, Join(p, k), force) && ok;
  if (!ok) return false;
  r = c.t->Unlinkat(AT_FDCWD, p.c_str(), AT_REMOVEDIR);
  if (r < 0) {
    c.Error(Cat("cannot remove ", Quote(p)), r);
    return false;
  }
  return true;
}

int CmdRm(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "rRfdiv",
                 {{"recursive", false, 'r'},
                  {"force", false, 'f'},
                  {"dir", false, 'd'},
                  {"verbose", false, 'v'}},
                 &o)) {
    return 2;
  }
  bool force = o.Has("f"), rec = o.Has("r") || o.Has("R"), dir = o.Has("d");
  if (o.args.empty()) {
    if (force) return 0;
    return c.Usage("missing operand");
  }
  int status = 0;
  for (const std::string& f : o.args) {
    std::string b = BaseName(f);
    if (b == "." || b == "..") {
      c.Error(
          Cat("refusing to remove '.' or '..' directory: skipping ", Quote(f)));
      status = 1;
      continue;
    }
    if (f == "/" && rec) {
      c.Error("it is dangerous to operate recursively on '/'");
      c.Error("use --no-preserve-root to override this failsafe");
      status = 1;
      continue;
    }
    struct stat st;
    long r = Lstat(c.t, f, &st);
    if (r < 0) {
      if (!(force && r == -ENOENT)) {
        c.Error(Cat("cannot remove ", Quote(f)), r);
        status = 1;
      }
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      if (rec) {
        if (!RemoveTree(c, f, force)) status = 1;
      } else if (dir) {
        r = c.t->Unlinkat(AT_FDCWD, f.c_str(), AT_REMOVEDIR);
        if (r < 0) {
          c.Error(Cat("cannot remove ", Quote(f)), r);
          status = 1;
        }
      } else {
        c.Error(Cat("cannot remove ", Quote(f)), -EISDIR);
        status = 1;
      }
      continue;
    }
    r = c.t->Unlinkat(AT_FDCWD, f.c_str(), 0);
    if (r < 0) {
      c.Error(Cat("cannot remove ", Quote(f)), r);
      status = 1;
    }
  }
  return status;
}

// ---- cp / mv ----
bool IsDir(Task* t, const std::string& p) {
  struct stat st;
  return Stat(t, p, &st) == 0 && S_ISDIR(st.st_mode);
}

bool CopyFile(Cmd& c, const std::string& src, const std::string& dst,
              const struct stat& st) {
  std::string data;
  Fd in(c.t, c.t->Open(src.c_str(), O_RDONLY));
  if (!in.ok()) {
    c.Error(Cat("cannot open ", Quote(src), " for reading"), in.err());
    return false;
  }
  long r = ReadFd(c.t, in.get(), &data);
  if (r < 0) {
    c.Error(Cat("error reading ", Quote(src)), r);
    return false;
  }
  Fd out(c.t, c.t->Open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                        st.st_mode & 0777));
  if (!out.ok()) {
    c.Error(Cat("cannot create regular file ", Quote(dst)), out.err());
    return false;
  }
  r = WriteFd(c.t, out.get(), data);
  if (r < 0) {
    c.Error(Cat("error writing ", Quote(dst)), r);
    return false;
  }
  return true;
}

bool CopyTree(Cmd& c, const std::string& src, const std::string& dst,
              bool recursive, bool top) {
  struct stat st;
  long r = recursive ? Lstat(c.t, src, &st) : Stat(c.t, src, &st);
  if (r < 0) {
    c.Error(Cat("cannot stat ", Quote(src)), r);
    return false;
  }
  if (S_ISDIR(st.st_mode)) {
    if (!recursive) {
      c.Error(Cat("-r not specified; omitting directory ", Quote(src)));
      return false;
    }
    struct stat dst_st;
    bool exists = Stat(c.t, dst, &dst_st) == 0;
    if (exists && !S_ISDIR(dst_st.st_mode)) {
      c.Error(Cat("cannot overwrite non-directory ", Quote(dst),
                  " with directory ", Quote(src)));
      return false;
    }
    if (!exists) {
      r = c.t->Mkdirat(AT_FDCWD, dst.c_str(), (st.st_mode & 07777) | 0700);
      if (r < 0) {
        c.Error(Cat("cannot create directory ", Quote(dst)), r);
        return false;
      }
    }
    std::vector<std::string> kids;
    r = ListDir(c.t, src, &kids);
    if (r < 0) {
      c.Error(Cat("cannot access ", Quote(src)), r);
      return false;
    }
    bool ok = true;
    for (const std::string& k : kids) {
      ok = CopyTree(c, Join(src, k), Join(dst, k), recursive, false) && ok;
    }
    if (!exists) {
      c.t->Fchmodat(AT_FDCWD, dst.c_str(),
                    (st.st_mode & 07777) & ~c.t->umask());
    }
    return ok;
  }
  if (S_ISLNK(st.st_mode)) {
    std::string target;
    ReadLink(c.t, src, &target);
    r = c.t->Symlinkat(target.c_str(), AT_FDCWD, dst.c_str());
    if (r < 0) {
      c.Error(Cat("cannot create symbolic link ", Quote(dst)), r);
      return false;
    }
    return true;
  }
  struct stat dst_st;
  if (Stat(c.t, dst, &dst_st) == 0 && dst_st.st_ino == st.st_ino &&
      dst_st.st_dev == st.st_dev) {
    c.Error(Cat(Quote(src), " and ", Quote(dst), " are the same file"));
    return false;
  }
  return CopyFile(c, src, dst, st);
}

int CpMv(Cmd& c, bool mv) {
  Opts o;
  if (!ParseOpts(c, mv ? "fiTv" : "rRfaTpv",
                 {{"recursive", false, 'r'},
                  {"force", false, 'f'},
                  {"no-target-directory", false, 'T'}},
                 &o)) {
    return 2;
  }
  bool rec = o.Has("r") || o.Has("R") || o.Has("a");
  if (o.args.empty()) return c.Usage("missing file operand");
  if (o.args.size() == 1) {
    return c.Usage(
        Cat("missing destination file operand after ", Quote(o.args[0])));
  }
  std::string target = o.args.back();
  std::vector<std::string> srcs(o.args.begin(), o.args.end() - 1);
  bool into_dir = !o.Has("T") && IsDir(c.t, target);
  if (srcs.size() > 1 && !into_dir) {
    c.Error(Cat("target ", Quote(target)), -ENOTDIR);
    return 1;
  }
  int status = 0;
  for (const std::string& s : srcs) {
    std::string dst = into_dir ? Join(target, BaseName(s)) : target;
    if (mv) {
      struct stat st;
      long r = Lstat(c.t, s, &st);
      if (r < 0) {
        c.Error(Cat("cannot stat ", Quote(s)), r);
        status = 1;
        continue;
      }
      r = c.t->Renameat2(AT_FDCWD, s.c_str(), AT_FDCWD, dst.c_str(), 0);
      if (r == -EXDEV) {
        if (!CopyTree(c, s, dst, true, true) || !RemoveTree(c, s, false))
          status = 1;
        continue;
      }
      if (r < 0) {
        if (r == -EINVAL) {
          c.Error(Cat("cannot move ", Quote(s),
                      " to a subdirectory of itself, ", Quote(dst)));
        } else {
          c.Error(Cat("cannot move ", Quote(s), " to ", Quote(dst)), r);
        }
        status = 1;
      }
      continue;
    }
    if (!CopyTree(c, s, dst, rec, true)) status = 1;
  }
  return status;
}
int CmdCp(Cmd& c) { return CpMv(c, false); }
int CmdMv(Cmd& c) { return CpMv(c, true); }

// ---- ln / readlink ----
int CmdLn(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "sfTnv", {{"symbolic", false, 's'}, {"force", false, 'f'}},
                 &o)) {
    return 2;
  }
  bool sym = o.Has("s"), force = o.Has("f");
  if (o.args.empty()) return c.Usage("missing file operand");
  std::vector<std::string> srcs = o.args;
  std::string target;
  bool into_dir;
  if (srcs.size() == 1) {
    target = ".";
    into_dir = true;
  } else {
    target = srcs.back();
    srcs.pop_back();
    into_dir = !o.Has("T") && IsDir(c.t, target) && !(o.Has("n") && [&] {
      struct stat st;
      return Lstat(c.t, target, &st) == 0 && S_ISLNK(st.st_mode);
    }());
  }
  if (srcs.size() > 1 && !into_dir) {
    c.Error(Cat("target ", Quote(target)), -ENOTDIR);
    return 1;
  }
  int status = 0;
  for (const std::string& s : srcs) {
    std::string dst = into_dir ? Join(target, BaseName(s)) : target;
    if (force) c.t->Unlinkat(AT_FDCWD, dst.c_str(), 0);
    long r;
    if (sym) {
      r = c.t->Symlinkat(s.c_str(), AT_FDCWD, dst.c_str());
    } else {
      r = c.t->Linkat(AT_FDCWD, s.c_str(), AT_FDCWD, dst.c_str(), 0);
    }
    if (r < 0) {
      if (!sym && r == -ENOENT) {
        struct stat st;
        if (Lstat(c.t, s, &st) < 0) {
          c.Error(Cat("failed to access ", Quote(s)), r);
          status = 1;
          continue;
        }
      }
      if (!sym && r == -EPERM && IsDir(c.t, s)) {
        c.Error(Cat(s, ": hard link not allowed for directory"));
        status = 1;
        continue;
      }
      c.Error(Cat("failed to create ", sym ? "symbolic" : "hard", " link ",
                  Quote(dst)),
              r);
      status = 1;
    }
  }
  return status;
}

// Canonicalizes p (readlink -f / -e / -m semantics).
long Canonicalize(Task* t, const std::string& p, char mode, std::string* out) {
  std::string cwd;
  if (p.empty() || p[0] != '/') {
    char buf[4096];
    long r = t->Getcwd(buf, sizeof(buf));
    if (r < 0) return r;
    cwd = buf;
  }
  std::vector<std::string> todo;
  std::string full = p.empty() || p[0] != '/' ? cwd + "/" + p : p;
  for (absl::string_view s : absl::StrSplit(full, '/', absl::SkipEmpty()))
    todo.emplace_back(s);
  std::reverse(todo.begin(), todo.end());
  std::string res;
  int links = 0;
  while (!todo.empty()) {
    std::string comp = todo.back();
    todo.pop_back();
    if (comp == ".") continue;
    if (comp == "..") {
      size_t k = res.rfind('/');
      res = k == std::string::npos ? "" : res.substr(0, k);
      continue;
    }
    std::string next = res + "/" + comp;
    struct stat st;
    long r = Lstat(t, next, &st);
    if (r < 0) {
      if (mode == 'e' || (mode == 'f' && !todo.empty()) || r != -ENOENT) {
        if (mode != 'm') return r;
      }
      res = next;
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      if (++links > 40) return -ELOOP;
      std::string target;
      ReadLink(t, next, &target);
      if (!target.empty() && target[0] == '/') res.clear();
      std::vector<std::string> parts;
      for (absl::string_view s : absl::StrSplit(target, '/', absl::SkipEmpty()))
        parts.emplace_back(s);
      for (auto it = parts.rbegin(); it != parts.rend(); ++it)
        todo.push_back(*it);
      continue;
    }
    if (!todo.empty() && !S_ISDIR(st.st_mode) && mode != 'm') return -ENOTDIR;
    res = next;
  }
  *out = res.empty() ? "/" : res;
  return 0;
}

int CmdReadlink(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "femnqsv",
                 {{"canonicalize", false, 'f'},
                  {"canonicalize-existing", false, 'e'},
                  {"canonicalize-missing", false, 'm'},
                  {"no-newline", false, 'n'}},
                 &o)) {
    return 2;
  }
  if (o.args.empty()) return c.Usage("missing operand");
  char mode = o.Has("f") ? 'f' : o.Has("e") ? 'e' : o.Has("m") ? 'm' : 0;
  bool nl = !o.Has("n") || o.args.size() > 1;
  int status = 0;
  for (const std::string& f : o.args) {
    std::string target;
    long r =
        mode ? Canonicalize(c.t, f, mode, &target) : ReadLink(c.t, f, &target);
    if (r < 0) {
      if (o.Has("v")) c.Error(f, r);
      status = 1;
      continue;
    }
    c.Out(target + (nl ? "\n" : ""));
  }
  return status;
}

// ---- touch / truncate ----
int CmdTouch(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "acmhd:r:",
                 {{"no-create", false, 'c'},
                  {"date", true, 'd'},
                  {"reference", true, 'r'},
                  {"no-dereference", false, 'h'}},
                 &o)) {
    return 2;
  }
  if (o.args.empty()) return c.Usage("missing file operand");
  struct timespec times[2];
  times[0].tv_nsec = times[1].tv_nsec = UTIME_NOW;
  times[0].tv_sec = times[1].tv_sec = 0;
  if (o.Has("d")) {
    std::string d = o.Get("d");
    int64_t secs;
    if (d.size() > 1 && d[0] == '@' && absl::SimpleAtoi(d.substr(1), &secs)) {
      times[0].tv_sec = times[1].tv_sec = secs;
      times[0].tv_nsec = times[1].tv_nsec = 0;
    } else {
      struct tm tm = {};
      const char* end = strptime(d.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
      if (end == nullptr) end = strptime(d.c_str(), "%Y-%m-%d", &tm);
      if (end == nullptr || *end != '\0') {
        c.Error(Cat("invalid date format ", Quote(d)));
        return 1;
      }
      times[0].tv_sec = times[1].tv_sec = timegm(&tm);
      times[0].tv_nsec = times[1].tv_nsec = 0;
    }
  }
  if (o.Has("r")) {
    struct stat st;
    long r = Stat(c.t, o.Get("r"), &st);
    if (r < 0) {
      c.Error(Cat("failed to get attributes of ", Quote(o.Get("r"))), r);
      return 1;
    }
    times[0] = st.st_atim;
    times[1] = st.st_mtim;
  }
  if (o.Has("a") && !o.Has("m")) times[1].tv_nsec = UTIME_OMIT;
  if (o.Has("m") && !o.Has("a")) times[0].tv_nsec = UTIME_OMIT;
  int status = 0;
  for (const std::string& f : o.args) {
    if (!o.Has("c") && !o.Has("h")) {
      long fd = c.t->Open(f.c_str(), O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY,
                          0666);
      if (fd >= 0) {
        c.t->Close(static_cast<int>(fd));
      } else if (fd != -EISDIR) {
        long r = c.t->Utimensat(AT_FDCWD, f.c_str(), times, 0);
        if (r < 0) {
          c.Error(Cat("cannot touch ", Quote(f)), fd);
          status = 1;
        }
        continue;
      }
    }
    long r = c.t->Utimensat(AT_FDCWD, f.c_str(), times,
                            o.Has("h") ? AT_SYMLINK_NOFOLLOW : 0);
    if (r < 0) {
      if (o.Has("c") && r == -ENOENT) continue;
      c.Error(Cat("setting times of ", Quote(f)), r);
      status = 1;
    }
  }
  return status;
}

int CmdTruncate(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "s:c", {{"size", true, 's'}, {"no-create", false, 'c'}},
                 &o)) {
    return 2;
  }
  if (!o.Has("s")) {
    c.Error("you must specify either '--size' or '--reference'");
    return c.Usage("");
  }
  if (o.args.empty()) return c.Usage("missing file operand");
  std::string s = o.Get("s");
  char rel = 0;
  if (!s.empty() && strchr("+-<>/%", s[0])) {
    rel = s[0];
    s = s.substr(1);
  }
  int64_t size;
  if (!ParseSize(s, &size)) {
    c.Error(Cat("Invalid number: ", Quote(o.Get("s"))));
    return 1;
  }
  int status = 0;
  for (const std::string& f : o.args) {
    int flags = O_WRONLY | (o.Has("c") ? 0 : O_CREAT) | O_NONBLOCK;
    Fd fd(c.t, c.t->Open(f.c_str(), flags, 0666));
    if (!fd.ok()) {
      if (o.Has("c") && fd.err() == -ENOENT) continue;
      c.Error(Cat("cannot open ", Quote(f), " for writing"), fd.err());
      status = 1;
      continue;
    }
    struct stat st;
    c.t->Fstat(fd.get(), &st);
    int64_t cur = st.st_size, n = size;
    switch (rel) {
      case '+':
        n = cur + size;
        break;
      case '-':
        n = std::max<int64_t>(0, cur - size);
        break;
      case '<':
        n = std::min(cur, size);
        break;
      case '>':
        n = std::max(cur, size);
        break;
      case '/':
        n = size ? cur / size * size : cur;
        break;
      case '%':
        n = size ? (cur + size - 1) / size * size : cur;
        break;
    }
    long r = c.t->Ftruncate(fd.get(), n);
    if (r < 0) {
      c.Error(Cat("failed to truncate ", Quote(f), " at ", n, " bytes"), r);
      status = 1;
    }
  }
  return status;
}

// ---- chmod / chown ----
// Applies a symbolic or octal mode to `old`; false if the mode is invalid.
bool ApplyMode(const std::string& spec, mode_t old, bool is_dir, mode_t umask,
               mode_t* out) {
  if (!spec.empty() &&
      spec.find_first_not_of("01234567") == std::string::npos) {
    unsigned long m = strtoul(spec.c_str(), nullptr, 8);
    if (m > 07777) return false;
    mode_t nm = static_cast<mode_t>(m);
    // GNU keeps a directory's setuid/setgid bits unless given 5+ digits.
    if (is_dir && spec.size() < 5) nm |= old & (S_ISUID | S_ISGID);
    *out = nm;
    return true;
  }
  mode_t m = old & 07777;
  for (absl::string_view clause : absl::StrSplit(spec, ',')) {
    size_t i = 0;
    mode_t who = 0;
    for (; i < clause.size() && strchr("ugoa", clause[i]); ++i) {
      switch (clause[i]) {
        case 'u':
          who |= S_ISUID | S_IRWXU;
          break;
        case 'g':
          who |= S_ISGID | S_IRWXG;
          break;
        case 'o':
          who |= S_ISVTX | S_IRWXO;
          break;
        case 'a':
          who |= 07777;
          break;
      }
    }
    bool implicit = who == 0;
    if (implicit) who = 07777;
    if (i >= clause.size()) return false;
    while (i < clause.size()) {
      char op = clause[i++];
      if (!strchr("+-=", op)) return false;
      mode_t bits = 0;
      if (i < clause.size() && strchr("ugo", clause[i])) {
        mode_t src = m;
        char w = clause[i++];
        mode_t v = w == 'u'   ? (src >> 6) & 7
                   : w == 'g' ? (src >> 3) & 7
                              : src & 7;
        bits = (v << 6) | (v << 3) | v;
      } else {
        for (; i < clause.size() && strchr("rwxXst", clause[i]); ++i) {
          switch (clause[i]) {
            case 'r':
              bits |= 0444;
              break;
            case 'w':
              bits |= 0222;
              break;
            case 'x':
              bits |= 0111;
              break;
            case 'X':
              if (is_dir || (m & 0111)) bits |= 0111;
              break;
            case 's':
              bits |= S_ISUID | S_ISGID;
              break;
            case 't':
              bits |= S_ISVTX;
              break;
          }
        }
      }
      mode_t mask = who;
      if (implicit) mask &= ~umask;
      bits &= mask;
      if (op == '+')
        m |= bits;
      else if (op == '-')
        m &= ~bits;
      else {
        mode_t clear = who;
        if (is_dir) clear &= ~static_cast<mode_t>(S_ISUID | S_ISGID);
        m = (m & ~clear) | bits;
      }
    }
  }
  *out = m;
  return true;
}

int CmdChmod(Cmd& c) {
  // Mode arguments like -w look like options: take the first non-option
  // argument (or a leading -[rwxXst]+) as the mode.
  std::vector<std::string> args;
  bool rec = false;
  std::string mode;
  bool done = false;
  for (size_t i = 1; i < c.argv.size(); ++i) {
    const std::string& a = c.argv[i];
    if (!done && a == "--") {
      done = true;
      continue;
    }
    if (!done && (a == "-R" || a == "--recursive")) {
      rec = true;
      continue;
    }
    if (!done && (a == "-f" || a == "-v" || a == "-c")) continue;
    if (mode.empty() &&
        !(a.size() > 1 && a[0] == '-' &&
          a.find_first_not_of("rwxXst", 1) != std::string::npos)) {
      mode = a;
      continue;
    }
    if (!done && a.size() > 1 && a[0] == '-' && mode.empty()) {
      return c.Usage(Cat("invalid option -- '", std::string(1, a[1]), "'"));
    }
    args.push_back(a);
  }
  if (mode.empty()) return c.Usage("missing operand");
  if (args.empty()) return c.Usage(Cat("missing operand after ", Quote(mode)));
  mode_t probe;
  if (!ApplyMode(mode, 0, false, 0, &probe)) {
    c.Error(Cat("invalid mode: ", Quote(mode)));
    return c.Usage("");
  }
  int status = 0;
  mode_t um = c.t->umask();
  std::function<void(const std::string&, bool)> apply =
      [&](const std::string& f, bool top) {
        struct stat st;
        long r = top ? Stat(c.t, f, &st) : Lstat(c.t, f, &st);
        if (r < 0) {
          c.Error(Cat("cannot access ", Quote(f)), r);
          status = 1;
          return;
        }
        if (S_ISLNK(st.st_mode)) return;
        mode_t nm;
        ApplyMode(mode, st.st_mode, S_ISDIR(st.st_mode), um, &nm);
        r = c.t->Fchmodat(AT_FDCWD, f.c_str(), nm);
        if (r < 0) {
          c.Error(Cat("changing permissions of ", Quote(f)), r);
          status = 1;
        }
        if (rec && S_ISDIR(st.st_mode)) {
          std::vector<std::string> kids;
          ListDir(c.t, f, &kids);
          for (const std::string& k : kids) apply(Join(f, k), false);
        }
      };
  for (const std::string& f : args) apply(f, true);
  return status;
}

int CmdChown(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "Rhfv",
                 {{"recursive", false, 'R'}, {"no-dereference", false, 'h'}},
                 &o)) {
    return 2;
  }
  if (o.args.empty()) return c.Usage("missing operand");
  if (o.args.size() == 1) {
    return c.Usage(Cat("missing operand after ", Quote(o.args[0])));
  }
  std::string spec = o.args[0];
  Names names(c.t);
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  size_t colon = spec.find_first_of(":.");
  std::string u = spec.substr(0, colon);
  std::string g = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (!u.empty()) {
    uint32_t v;
    if (auto id = names.Uid(u))
      uid = *id;
    else if (absl::SimpleAtoi(u, &v))
      uid = v;
    else {
      c.Error(Cat("invalid user: ", Quote(spec)));
      return 1;
    }
    if (colon != std::string::npos && g.empty()) {
      if (auto pg = names.UserGid(uid)) gid = *pg;
    }
  }
  if (!g.empty()) {
    uint32_t v;
    if (auto id = names.Gid(g))
      gid = *id;
    else if (absl::SimpleAtoi(g, &v))
      gid = v;
    else {
      c.Error(Cat("invalid group: ", Quote(spec)));
      return 1;
    }
  }
  int status = 0;
  int flags = o.Has("h") ? AT_SYMLINK_NOFOLLOW : 0;
  std::function<void(const std::string&, bool)> apply =
      [&](const std::string& f, bool top) {
        long r = c.t->Fchownat(AT_FDCWD, f.c_str(), uid, gid,
                               top ? flags : AT_SYMLINK_NOFOLLOW);
        if (r < 0) {
          struct stat st;
          if (Lstat(c.t, f, &st) < 0) {
            c.Error(Cat("cannot access ", Quote(f)), r);
          } else {
            c.Error(Cat("changing ownership of ", Quote(f)), r);
          }
          status = 1;
          return;
        }
        struct stat st;
        if (o.Has("R") && Lstat(c.t, f, &st) == 0 && S_ISDIR(st.st_mode)) {
          std::vector<std::string> kids;
          ListDir(c.t, f, &kids);
          for (const std::string& k : kids) apply(Join(f, k), false);
        }
      };
  for (size_t i = 1; i < o.args.size(); ++i) apply(o.args[i], true);
  return status;
}

// ---- df / mount / umount ----
std::string MountOpts(const sentry::fs::MountInfo& m) {
  std::vector<std::string> opts;
  opts.push_back(m.flags.read_only || m.source_flags.read_only ? "ro" : "rw");
  if (m.flags.no_suid || m.source_flags.no_suid) opts.push_back("nosuid");
  if (m.flags.no_dev || m.source_flags.no_dev) opts.push_back("nodev");
  if (m.flags.no_exec || m.source_flags.no_exec) opts.push_back("noexec");
  if (m.source_flags.synchronous) opts.push_back("sync");
  if (m.flags.no_atime || m.source_flags.no_atime)
    opts.push_back("noatime");
  else if (!m.source_flags.strict_atime)
    opts.push_back("relatime");
  if (!m.super_options.empty()) {
    for (absl::string_view s : absl::StrSplit(m.super_options, ',')) {
      if (s == "rw" || s == "ro") continue;
      opts.emplace_back(s);
    }
  }
  return absl::StrJoin(opts, ",");
}

int CmdDf(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "ahkT", {{"all", false, 'a'}}, &o)) return 2;
  auto mounts = c.t->mount_namespace()->Mounts(c.t->root());
  struct Row {
    std::string fs, blocks, used, avail, pct, target;
  };
  std::vector<Row> rows;
  rows.push_back(
      {"Filesystem", "1K-blocks", "Used", "Available", "Use%", "Mounted on"});
  int status = 0;
  std::vector<std::string> want = o.args;
  for (const auto& m : mounts) {
    struct statfs sf;
    long r = c.t->Statfs(m.mount_point.c_str(), &sf);
    if (r < 0) continue;
    if (!want.empty()) {
      bool match = false;
      for (const std::string& w : want)
        if (w == m.mount_point) match = true;
      if (!match) continue;
    }
    if (sf.f_blocks == 0 && !o.Has("a")) continue;
    uint64_t bs = static_cast<uint64_t>(sf.f_frsize ? sf.f_frsize : sf.f_bsize);
    uint64_t total = sf.f_blocks * bs, avail = sf.f_bavail * bs,
             used = (sf.f_blocks - sf.f_bfree) * bs;
    auto k = [](uint64_t v) { return std::to_string((v + 1023) / 1024); };
    std::string pct = "-";
    uint64_t u = (used + 1023) / 1024, a = (avail + 1023) / 1024;
    if (u + a > 0) {
      uint64_t p = (u * 100 + (u + a) - 1) / (u + a);
      pct = std::to_string(p) + "%";
    }
    rows.push_back({m.source.empty() ? "none" : m.source, k(total), k(used),
                    k(avail), pct, m.mount_point});
  }
  size_t w[5] = {0, 0, 0, 0, 0};
  for (const Row& r : rows) {
    w[0] = std::max(w[0], r.fs.size());
    w[1] = std::max(w[1], r.blocks.size());
    w[2] = std::max(w[2], r.used.size());
    w[3] = std::max(w[3], r.avail.size());
    w[4] = std::max(w[4], r.pct.size());
  }
  bool header = true;
  for (const Row& r : rows) {
    std::string line =
        FormatStr(Cat("-", w[0]), r.fs) + " " + FormatStr(Cat(w[1]), r.blocks) +
        " " + FormatStr(Cat(w[2]), r.used) + " " +
        FormatStr(Cat(w[3]), r.avail) + " " +
        FormatStr(Cat(header ? "-" : "", w[4]), r.pct) + " " + r.target;
    header = false;
    c.Out(line + "\n");
  }
  return status;
}

int CmdMount(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "t:o:rwn",
                 {{"types", true, 't'},
                  {"options", true, 'o'},
                  {"bind", false, 0},
                  {"rbind", false, 0},
                  {"read-only", false, 'r'}},
                 &o)) {
    return 2;
  }
  if (o.args.empty()) {
    std::string type = o.Get("t");
    for (const auto& m : c.t->mount_namespace()->Mounts(c.t->root())) {
      if (!type.empty() && m.fs_type != type) continue;
      c.Out(Cat(m.source.empty() ? "none" : m.source, " on ", m.mount_point,
                " type ", m.fs_type, " (", MountOpts(m), ")\n"));
    }
    return 0;
  }
  if (o.args.size() != 2) return c.Usage("bad usage");
  unsigned long flags = 0;
  std::vector<std::string> data;
  if (o.Has("bind") || o.Has("rbind")) flags |= MS_BIND;
  if (o.Has("r")) flags |= MS_RDONLY;
  for (absl::string_view opt :
       absl::StrSplit(o.Get("o"), ',', absl::SkipEmpty())) {
    if (opt == "ro")
      flags |= MS_RDONLY;
    else if (opt == "rw")
      flags &= ~static_cast<unsigned long>(MS_RDONLY);
    else if (opt == "nosuid")
      flags |= MS_NOSUID;
    else if (opt == "nodev")
      flags |= MS_NODEV;
    else if (opt == "noexec")
      flags |= MS_NOEXEC;
    else if (opt == "noatime")
      flags |= MS_NOATIME;
    else if (opt == "strictatime")
      flags |= MS_STRICTATIME;
    else if (opt == "relatime")
      flags |= MS_RELATIME;
    else if (opt == "sync")
      flags |= MS_SYNCHRONOUS;
    else if (opt == "bind")
      flags |= MS_BIND;
    else if (opt == "remount")
      flags |= MS_REMOUNT;
    else
      data.emplace_back(opt);
  }
  std::string d = absl::StrJoin(data, ",");
  std::string type = o.Get("t");
  const std::string& src = o.args[0];
  const std::string& dst = o.args[1];
  long r = c.t->Mount(src.c_str(), dst.c_str(),
                      type.empty() ? nullptr : type.c_str(), flags,
                      d.empty() ? nullptr : d.c_str());
  if (r < 0) {
    if (r == -ENODEV) {
      c.Error(Cat(dst, ": unknown filesystem type '", type, "'."));
    } else if (r == -ENOENT) {
      c.Error(Cat(dst, ": mount point does not exist."));
    } else {
      c.Error(Cat(dst, ": mount failed"), r);
    }
    return 32;
  }
  return 0;
}

int CmdUmount(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "lf", {{"lazy", false, 'l'}, {"force", false, 'f'}}, &o))
    return 2;
  if (o.args.empty()) return c.Usage("bad usage");
  int status = 0;
  for (const std::string& p : o.args) {
    long r = c.t->Umount2(p.c_str(), o.Has("l") ? MNT_DETACH : 0);
    if (r < 0) {
      if (r == -EINVAL)
        c.Error(Cat(p, ": not mounted."));
      else if (r == -ENOENT)
        c.Error(Cat(p, ": no mount point specified."));
      else if (r == -EBUSY)
        c.Error(Cat(p, ": target is busy."));
      else
        c.Error(p, r);
      status = 32;
    }
  }
  return status;
}

// ---- which / cd / pwd / help ----
int CmdWhich(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "a", {}, &o)) return 2;
  const std::string path =
      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  int status = 0;
  for (const std::string& name : o.args) {
    std::vector<std::string> cands;
    if (name.find('/') != std::string::npos) {
      cands.push_back(name);
    } else {
      for (absl::string_view d : absl::StrSplit(path, ':')) {
        cands.push_back(
            Join(d.empty() ? std::string(".") : std::string(d), name));
      }
    }
    bool found = false;
    for (const std::string& p : cands) {
      struct stat st;
      if (Stat(c.t, p, &st) == 0 && S_ISREG(st.st_mode) &&
          c.t->Faccessat(AT_FDCWD, p.c_str(), X_OK, AT_EACCESS) == 0) {
        c.Out(p + "\n");
        found = true;
        if (!o.Has("a")) break;
      }
    }
    if (!found) status = 1;
  }
  return status;
}

int CmdCd(Cmd& c) {
  std::string dir = c.argv.size() > 1 ? c.argv[1] : "/";
  if (c.argv.size() > 2) {
    c.err->append("runsc: cd: too many arguments\n");
    return 1;
  }
  long r = c.t->Chdir(dir.c_str());
  if (r < 0) {
    c.err->append(Cat("runsc: cd: ", dir, ": ", ErrStr(r), "\n"));
    return 1;
  }
  return 0;
}

int CmdPwd(Cmd& c) {
  char buf[4096];
  long r = c.t->Getcwd(buf, sizeof(buf));
  if (r < 0) {
    c.Error("error retrieving current directory", r);
    return 1;
  }
  c.Out(std::string(buf) + "\n");
  return 0;
}

int CmdSort(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "ru", {{"reverse", false, 'r'}, {"unique", false, 'u'}},
                 &o)) {
    return 2;
  }
  if (o.args.empty()) o.args.push_back("-");
  std::vector<std::string> lines;
  for (const std::string& f : o.args) {
    std::string data;
    long r = ReadOperand(c, f, &data);
    if (r < 0) {
      c.Error(Cat("cannot read: ", f), r);
      return 2;
    }
    if (!data.empty() && data.back() == '\n') data.pop_back();
    if (data.empty()) continue;
    for (absl::string_view l : absl::StrSplit(data, '\n'))
      lines.emplace_back(l);
  }
  std::sort(lines.begin(), lines.end());
  if (o.Has("u"))
    lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  if (o.Has("r")) std::reverse(lines.begin(), lines.end());
  for (const std::string& l : lines) c.Out(l + "\n");
  return 0;
}

int CmdTrue(Cmd&) { return 0; }
int CmdFalse(Cmd&) { return 1; }

int CmdHelp(Cmd& c) {
  if (c.argv.size() > 1) {
    for (const CommandInfo& ci : Commands()) {
      if (c.argv[1] == ci.name) {
        c.Out(Cat(ci.name, " ", ci.help, "\n"));
        return 0;
      }
    }
    c.err->append(Cat("help: no help topics match '", c.argv[1], "'.\n"));
    return 1;
  }
  c.Out(
      "Commands run inside the sandbox. Syntax: cmd args; a && b; a || b;\n"
      "a | b; > file, >> file, < file, 2> file, 2>&1; 'quotes' \"quotes\" "
      "\\x;\n"
      "# comments; $? is the last status.\n\n");
  std::vector<const CommandInfo*> cs;
  for (const CommandInfo& ci : Commands()) cs.push_back(&ci);
  std::sort(cs.begin(), cs.end(), [](auto* a, auto* b) {
    return std::string_view(a->name) < b->name;
  });
  for (const CommandInfo* ci : cs) {
    c.Out(Cat("  ", FormatStr("-10", ci->name), " ", ci->help, "\n"));
  }
  return 0;
}

// ---- getfattr / setfattr ----
std::string Encode(const std::string& v) {
  bool text = true;
  for (unsigned char ch : v) {
    if (ch == 0) continue;
    if (ch < 32 || ch >= 127) text = false;
  }
  if (text) {
    std::string s = v;
    while (!s.empty() && s.back() == '\0') s.pop_back();
    std::string r = "\"";
    for (char ch : s) {
      if (ch == '"' || ch == '\\') {
        r += '\\';
        r += ch;
      } else if (ch == '\0')
        r += "\\000";
      else
        r += ch;
    }
    return r + "\"";
  }
  std::string r = "0x";
  char buf[4];
  for (unsigned char ch : v) {
    snprintf(buf, sizeof(buf), "%02x", ch);
    r += buf;
  }
  return r;
}

int CmdGetfattr(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "n:dhm:e:",
                 {{"name", true, 'n'},
                  {"dump", false, 'd'},
                  {"no-dereference", false, 'h'},
                  {"match", true, 'm'},
                  {"encoding", true, 'e'},
                  {"only-values", false, 0}},
                 &o)) {
    return 2;
  }
  if (o.args.empty()) {
    c.err->append(
        "Usage: getfattr [-hRLP] [-n name|-d] [-e en] [-m pattern] path...\n"
        "Try `getfattr --help' for more information.\n");
    return 2;
  }
  bool nofollow = o.Has("h");
  int status = 0;
  bool warned = false;
  for (const std::string& f : o.args) {
    std::string shown = f;
    if (!shown.empty() && shown[0] == '/') {
      if (!warned)
        c.err->append(
            "getfattr: Removing leading '/' from absolute path names\n");
      warned = true;
      while (!shown.empty() && shown[0] == '/') shown.erase(0, 1);
    }
    std::vector<std::pair<std::string, std::string>> attrs;
    auto get = [&](const std::string& name, std::string* v) -> long {
      char buf[65536];
      long r = nofollow
                   ? c.t->Lgetxattr(f.c_str(), name.c_str(), buf, sizeof(buf))
                   : c.t->Getxattr(f.c_str(), name.c_str(), buf, sizeof(buf));
      if (r >= 0) v->assign(buf, static_cast<size_t>(r));
      return r;
    };
    if (o.Has("n")) {
      std::string v;
      long r = get(o.Get("n"), &v);
      if (r < 0) {
        c.err->append(Cat(f, ": ", o.Get("n"), ": ",
                          r == -ENODATA ? "No such attribute" : ErrStr(r),
                          "\n"));
        status = 1;
        continue;
      }
      attrs.emplace_back(o.Get("n"), v);
    } else {
      char list[65536];
      long n = nofollow ? c.t->Llistxattr(f.c_str(), list, sizeof(list))
                        : c.t->Listxattr(f.c_str(), list, sizeof(list));
      if (n < 0) {
        c.err->append(Cat("getfattr: ", f, ": ", ErrStr(n), "\n"));
        status = 1;
        continue;
      }
      std::string pat = o.Has("m") ? o.Get("m") : "^user\\.";
      std::vector<std::string> names;
      for (long i = 0; i < n;) {
        std::string name(list + i);
        i += static_cast<long>(name.size()) + 1;
        bool match = pat == "-" || pat == "" || pat == "." ||
                     (pat == "^user\\." && name.rfind("user.", 0) == 0) ||
                     (pat != "^user\\." && name.find(pat) != std::string::npos);
        if (match) names.push_back(name);
      }
      std::sort(names.begin(), names.end());
      for (const std::string& name : names) {
        std::string v;
        if (get(name, &v) >= 0) attrs.emplace_back(name, v);
      }
      if (attrs.empty()) continue;
    }
    c.Out(Cat("# file: ", shown, "\n"));
    for (const auto& [name, v] : attrs) {
      std::string enc = o.Get("e");
      std::string val;
      if (enc == "hex") {
        val = "0x";
        char buf[4];
        for (unsigned char ch : v) {
          snprintf(buf, sizeof(buf), "%02x", ch);
          val += buf;
        }
      } else if (enc == "text") {
        val = "\"" + v + "\"";
      } else {
        val = Encode(v);
      }
      c.Out(
          Cat(name, v.empty() && !o.Has("n") && false ? "" : "=" + val, "\n"));
    }
    c.Out("\n");
  }
  return status;
}

int CmdSetfattr(Cmd& c) {
  Opts o;
  if (!ParseOpts(c, "n:v:x:h",
                 {{"name", true, 'n'},
                  {"value", true, 'v'},
                  {"remove", true, 'x'},
                  {"no-dereference", false, 'h'}},
                 &o)) {
    return 2;
  }
  if (o.args.empty() || (!o.Has("n") && !o.Has("x"))) {
    c.err->append(
        "Usage: setfattr {-n name} [-v value] [-h] file...\n"
        "       setfattr {-x name} [-h] file...\n"
        "Try `setfattr --help' for more information.\n");
    return 2;
  }
  bool nofollow = o.Has("h");
  std::string value = o.Get("v");
  if (value.size() >= 2 && value[0] == '"' && value.back() == '"') {
    value = Unescape(value.substr(1, value.size() - 2));
  } else if (value.size() > 2 && value[0] == '0' &&
             (value[1] == 'x' || value[1] == 'X')) {
    std::string bin;
    for (size_t i = 2; i + 1 < value.size(); i += 2) {
      bin += static_cast<char>(std::stoi(value.substr(i, 2), nullptr, 16));
    }
    value = bin;
  }
  int status = 0;
  for (const std::string& f : o.args) {
    long r;
    if (o.Has("x")) {
      std::string n = o.Get("x");
      r = nofollow ? c.t->Lremovexattr(f.c_str(), n.c_str())
                   : c.t->Removexattr(f.c_str(), n.c_str());
    } else {
      std::string n = o.Get("n");
      r = nofollow ? c.t->Lsetxattr(f.c_str(), n.c_str(), value.data(),
                                    value.size(), 0)
                   : c.t->Setxattr(f.c_str(), n.c_str(), value.data(),
                                   value.size(), 0);
    }
    if (r < 0) {
      c.err->append(Cat("setfattr: ", f, ": ",
                        r == -ENODATA ? "No such attribute" : ErrStr(r), "\n"));
      status = 1;
    }
  }
  return status;
}

}  // namespace

const std::vector<CommandInfo>& Commands() {
  static const auto* cmds = new std::vector<CommandInfo>{
      {"cat", CmdCat, "[FILE]... - concatenate files"},
      {"cd", CmdCd, "[DIR] - change directory"},
      {"chmod", CmdChmod,
       "[-R] MODE FILE... - change mode (octal or u+x,go-w)"},
      {"chown", CmdChown, "[-R] [-h] OWNER[:GROUP] FILE... - change owner"},
      {"cp", CmdCp, "[-r] SRC... DST - copy"},
      {"df", CmdDf, "[-a] [MOUNTPOINT]... - filesystem usage"},
      {"echo", CmdEcho, "[-n] [-e] [ARG]... - print arguments"},
      {"false", CmdFalse, "- fail"},
      {"find", CmdFind, "[PATH]... [EXPR] - -type -name -maxdepth -printf ..."},
      {"getfattr", CmdGetfattr,
       "[-h] [-n NAME | -d] FILE... - extended attributes"},
      {"head", CmdHead, "[-n N] [-c N] [FILE]... - first lines"},
      {"help", CmdHelp, "[COMMAND] - this list"},
      {"ln", CmdLn, "[-s] [-f] TARGET... LINK - make links"},
      {"ls", CmdLs, "[-ladRni] [--time-style=S] [FILE]... - list"},
      {"mkdir", CmdMkdir, "[-p] [-m MODE] DIR... - make directories"},
      {"mount", CmdMount, "[-t TYPE] [-o OPTS] [SRC DST] - list or mount"},
      {"mv", CmdMv, "SRC... DST - move/rename"},
      {"pwd", CmdPwd, "- print working directory"},
      {"readlink", CmdReadlink, "[-f] FILE... - symlink target"},
      {"rm", CmdRm, "[-rf] FILE... - remove"},
      {"rmdir", CmdRmdir, "[-p] DIR... - remove empty directories"},
      {"setfattr", CmdSetfattr,
       "{-n NAME [-v VALUE] | -x NAME} FILE... - set xattrs"},
      {"sha256sum", CmdSha256sum, "[FILE]... - SHA-256 checksums"},
      {"sort", CmdSort, "[-r] [-u] [FILE]... - sort lines (byte order)"},
      {"stat", CmdStat, "[-L] [-c FORMAT] FILE... - file status"},
      {"tail", CmdTail, "[-n [+]N] [-c [+]N] [FILE]... - last lines"},
      {"touch", CmdTouch, "[-c] [-d DATE] FILE... - create/update times"},
      {"tree", CmdTree, "[-a] [DIR]... - directory tree"},
      {"true", CmdTrue, "- succeed"},
      {"truncate", CmdTruncate, "-s [+-]N FILE... - set size"},
      {"umount", CmdUmount, "[-l] DIR... - unmount"},
      {"wc", CmdWc, "[-clw] [FILE]... - count lines, words, bytes"},
      {"which", CmdWhich, "[-a] NAME... - look up along PATH"},
  };
  return *cmds;
}

}  // namespace runsc::shell
