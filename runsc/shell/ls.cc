// ls, stat, find, tree.
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runsc/shell/internal.h"

namespace runsc::shell {

namespace {

struct Entry {
  std::string name;  // as displayed
  std::string path;  // for system calls
  struct stat st {};
  bool have_stat = false;
  std::string link;
};

struct LsOpts {
  bool all = false, dir = false, recursive = false, longfmt = false,
       numeric = false, inode = false, almost_all = false;
  std::string time_old = "%b %e  %Y", time_recent = "%b %e %H:%M";
  struct timespec now {};
};

std::string Digits(unsigned long long v) { return std::to_string(v); }

std::string OwnerField(Names& names, bool numeric, uint32_t id, bool user) {
  if (!numeric) {
    auto n = user ? names.User(id) : names.Group(id);
    if (n) return *n;
  }
  return std::to_string(id);
}

bool IsNumericField(Names& names, bool numeric, uint32_t id, bool user) {
  if (numeric) return true;
  return !(user ? names.User(id) : names.Group(id)).has_value();
}

std::string LsTime(const LsOpts& o, const struct timespec& when) {
  struct timespec now = o.now;
  long six_months = 31556952 / 2;
  bool after_six =
      when.tv_sec > now.tv_sec - six_months ||
      (when.tv_sec == now.tv_sec - six_months && when.tv_nsec > now.tv_nsec);
  bool before_now = when.tv_sec < now.tv_sec ||
                    (when.tv_sec == now.tv_sec && when.tv_nsec < now.tv_nsec);
  bool recent = after_six && before_now;
  return FormatTime(recent ? o.time_recent : o.time_old, when);
}

// `also_sized`: entries not printed here whose fields still widen the
// columns. GNU ls sizes the block of file operands over every operand,
// the directory operands listed after it included.
void PrintEntries(Cmd& c, Names& names, const LsOpts& o,
                  std::vector<Entry>& ents, bool total,
                  const std::vector<Entry>& also_sized = {}) {
  if (o.longfmt) {
    size_t wl = 0, wu = 0, wg = 0, ws = 0, wi = 0;
    unsigned long long blocks = 0;
    std::vector<const Entry*> sized;
    for (const Entry& e : ents) sized.push_back(&e);
    for (const Entry& e : also_sized) sized.push_back(&e);
    for (const Entry* ep : sized) {
      const Entry& e = *ep;
      if (!e.have_stat) continue;
      blocks += static_cast<unsigned long long>(e.st.st_blocks);
      wl = std::max(wl, Digits(e.st.st_nlink).size());
      wu = std::max(wu, OwnerField(names, o.numeric, e.st.st_uid, true).size());
      wg =
          std::max(wg, OwnerField(names, o.numeric, e.st.st_gid, false).size());
      std::string size;
      if (S_ISCHR(e.st.st_mode) || S_ISBLK(e.st.st_mode)) {
        size = Cat(major(e.st.st_rdev), ", ", minor(e.st.st_rdev));
      } else {
        size = Digits(static_cast<unsigned long long>(e.st.st_size));
      }
      ws = std::max(ws, size.size());
      wi = std::max(wi, Digits(e.st.st_ino).size());
    }
    if (total) c.Out(Cat("total ", (blocks + 1) / 2, "\n"));
    for (Entry& e : ents) {
      std::string line;
      if (o.inode) line += FormatUInt(Cat(wi), e.st.st_ino) + " ";
      line += ModeString(e.st.st_mode);
      line += " " + FormatUInt(Cat(wl), e.st.st_nlink) + " ";
      for (int k = 0; k < 2; ++k) {
        bool user = k == 0;
        uint32_t id = user ? e.st.st_uid : e.st.st_gid;
        std::string f = OwnerField(names, o.numeric, id, user);
        size_t w = user ? wu : wg;
        if (IsNumericField(names, o.numeric, id, user)) {
          line += FormatStr(Cat(w), f) + " ";
        } else {
          line += FormatStr(Cat("-", w), f) + " ";
        }
      }
      std::string size;
      if (S_ISCHR(e.st.st_mode) || S_ISBLK(e.st.st_mode)) {
        size = Cat(major(e.st.st_rdev), ", ", minor(e.st.st_rdev));
      } else {
        size = Digits(static_cast<unsigned long long>(e.st.st_size));
      }
      line += FormatStr(Cat(ws), size) + " ";
      line += LsTime(o, e.st.st_mtim) + " ";
      line += e.name;
      if (S_ISLNK(e.st.st_mode)) line += " -> " + e.link;
      c.Out(line + "\n");
    }
    return;
  }
  size_t wi = 0;
  if (o.inode) {
    for (Entry& e : ents) wi = std::max(wi, Digits(e.st.st_ino).size());
    for (const Entry& e : also_sized) {
      wi = std::max(wi, Digits(e.st.st_ino).size());
    }
  }
  for (Entry& e : ents) {
    if (o.inode) c.Out(FormatUInt(Cat(wi), e.st.st_ino) + " ");
    c.Out(e.name + "\n");
  }
}

bool NameLess(const Entry& a, const Entry& b) { return a.name < b.name; }

// Lists directory `path` (displayed as `shown`); returns the status.
int ListOneDir(Cmd& c, Names& names, const LsOpts& o, const std::string& path,
               bool header, bool* first, bool top) {
  std::vector<std::string> raw;
  long r = ListDir(c.t, path, &raw);
  if (r < 0) {
    c.Error(Cat("cannot open directory ", Quote(path)), r);
    return top ? 2 : 1;
  }
  if (header) {
    if (!*first) c.Out("\n");
    c.Out(path + ":\n");
  }
  *first = false;
  std::vector<Entry> ents;
  if (o.all) {
    raw.push_back(".");
    raw.push_back("..");
  }
  int status = 0;
  for (const std::string& n : raw) {
    if (!o.all && !o.almost_all && n[0] == '.') continue;
    Entry e;
    e.name = n;
    e.path = Join(path, n);
    long sr = Lstat(c.t, e.path, &e.st);
    if (sr < 0) {
      c.Error(Cat("cannot access ", Quote(e.path)), sr);
      status = 1;
      continue;
    }
    e.have_stat = true;
    if (o.longfmt && S_ISLNK(e.st.st_mode)) ReadLink(c.t, e.path, &e.link);
    ents.push_back(std::move(e));
  }
  std::sort(ents.begin(), ents.end(), NameLess);
  PrintEntries(c, names, o, ents, true);
  if (o.recursive) {
    for (const Entry& e : ents) {
      if (!S_ISDIR(e.st.st_mode) || e.name == "." || e.name == "..") continue;
      int s = ListOneDir(c, names, o, e.path, true, first, false);
      status = std::max(status, s);
    }
  }
  return status;
}

}  // namespace

int CmdLs(Cmd& c) {
  Opts opts;
  if (!ParseOpts(c, "aAdRlni1",
                 {{"all", false, 'a'},
                  {"almost-all", false, 'A'},
                  {"directory", false, 'd'},
                  {"recursive", false, 'R'},
                  {"numeric-uid-gid", false, 'n'},
                  {"inode", false, 'i'},
                  {"time-style", true, 0},
                  {"full-time", false, 0}},
                 &opts)) {
    return 2;
  }
  LsOpts o;
  for (const auto& [k, v] : opts.list) {
    if (k == "a") o.all = true;
    if (k == "A") o.almost_all = true;
    if (k == "d") o.dir = true;
    if (k == "R") o.recursive = true;
    if (k == "l") o.longfmt = true;
    if (k == "n") o.longfmt = o.numeric = true;
    if (k == "i") o.inode = true;
    if (k == "full-time") {
      o.longfmt = true;
      o.time_old = o.time_recent = "%Y-%m-%d %H:%M:%S.%N %z";
    }
    if (k == "time-style") {
      std::string s = v;
      if (s.rfind("posix-", 0) == 0) s = s.substr(6);
      if (s == "full-iso") {
        o.time_old = o.time_recent = "%Y-%m-%d %H:%M:%S.%N %z";
      } else if (s == "long-iso") {
        o.time_old = o.time_recent = "%Y-%m-%d %H:%M";
      } else if (s == "iso") {
        o.time_old = "%Y-%m-%d ";
        o.time_recent = "%m-%d %H:%M";
      } else if (s == "locale") {
      } else if (!s.empty() && s[0] == '+') {
        std::string f = s.substr(1);
        size_t nl = f.find('\n');
        if (nl == std::string::npos) {
          o.time_old = o.time_recent = f;
        } else {
          o.time_old = f.substr(0, nl);
          o.time_recent = f.substr(nl + 1);
        }
      } else {
        c.Error(Cat("invalid argument ", Quote(s), " for '--time-style'"));
        c.err->append(
            "Valid arguments are:\n  - [posix-]full-iso\n  - [posix-]long-iso\n"
            "  - [posix-]iso\n  - [posix-]locale\n  - +FORMAT (e.g., +%H:%M) "
            "for a "
            "'date'-style format\n");
        return c.Usage("");
      }
    }
  }
  clock_gettime(CLOCK_REALTIME, &o.now);
  if (o.dir) o.recursive = false;
  if (o.all) o.almost_all = false;
  Names names(c.t);
  std::vector<std::string> args = opts.args;
  if (args.empty()) args.push_back(".");
  int status = 0;
  std::vector<Entry> files, dirs;
  for (const std::string& a : args) {
    Entry e;
    e.name = e.path = a;
    long r = Lstat(c.t, a, &e.st);
    if (r < 0) {
      c.Error(Cat("cannot access ", Quote(a)), r);
      status = 2;
      continue;
    }
    e.have_stat = true;
    bool is_dir = S_ISDIR(e.st.st_mode);
    if (S_ISLNK(e.st.st_mode) && !o.longfmt && !o.dir) {
      struct stat t;
      if (Stat(c.t, a, &t) == 0) {
        e.st = t;
        is_dir = S_ISDIR(t.st_mode);
      }
    }
    if (S_ISLNK(e.st.st_mode)) ReadLink(c.t, a, &e.link);
    if (is_dir && !o.dir)
      dirs.push_back(std::move(e));
    else
      files.push_back(std::move(e));
  }
  std::sort(files.begin(), files.end(), NameLess);
  std::sort(dirs.begin(), dirs.end(), NameLess);
  bool first = true;
  if (!files.empty()) {
    PrintEntries(c, names, o, files, false, dirs);
    first = false;
  }
  bool header = args.size() > 1 || o.recursive;
  for (const Entry& d : dirs) {
    int s = ListOneDir(c, names, o, d.path, header, &first, true);
    status = std::max(status, s);
  }
  return status;
}

// ---- stat ----

namespace {

std::string QuoteN(const std::string& s) {
  // stat's %N: shell-escape-always quoting.
  std::string r = "'";
  for (char ch : s) {
    if (ch == '\'')
      r += "'\\''";
    else
      r += ch;
  }
  return r + "'";
}

std::string TimeStr(struct timespec ts) {
  return FormatTime("%Y-%m-%d %H:%M:%S.%N %z", ts);
}

std::string StatDirective(Cmd& c, Names& names, char conv,
                          const std::string& spec, const std::string& file,
                          const struct stat& st, bool* ok) {
  auto U = [&](unsigned long long v) { return FormatUInt(spec, v); };
  auto S = [&](const std::string& s) { return FormatStr(spec, s); };
  switch (conv) {
    case 'n':
      return S(file);
    case 'N': {
      std::string s = QuoteN(file);
      if (S_ISLNK(st.st_mode)) {
        std::string target;
        ReadLink(c.t, file, &target);
        s += " -> " + QuoteN(target);
      }
      return S(s);
    }
    case 's':
      return FormatInt(spec, st.st_size);
    case 'a':
      return FormatUInt(spec, st.st_mode & 07777, 'o');
    case 'A':
      return S(ModeString(st.st_mode));
    case 'F':
      return S(FileTypeName(st));
    case 'f':
      return FormatUInt(spec, st.st_mode, 'x');
    case 'u':
      return U(st.st_uid);
    case 'g':
      return U(st.st_gid);
    case 'U':
      return S(names.User(st.st_uid).value_or("UNKNOWN"));
    case 'G':
      return S(names.Group(st.st_gid).value_or("UNKNOWN"));
    case 'h':
      return U(st.st_nlink);
    case 'i':
      return U(st.st_ino);
    case 'b':
      return FormatInt(spec, st.st_blocks);
    case 'B':
      return U(512);
    case 'o':
      return U(static_cast<unsigned long long>(st.st_blksize));
    case 'd':
      return U(st.st_dev);
    case 'D':
      return FormatUInt(spec, st.st_dev, 'x');
    case 't':
      return FormatUInt(spec, major(st.st_rdev), 'x');
    case 'T':
      return FormatUInt(spec, minor(st.st_rdev), 'x');
    case 'r':
      return U(st.st_rdev);
    case 'R':
      return FormatUInt(spec, st.st_rdev, 'x');
    case 'x':
      return S(TimeStr(st.st_atim));
    case 'y':
      return S(TimeStr(st.st_mtim));
    case 'z':
      return S(TimeStr(st.st_ctim));
    case 'w':
      return S("-");
    case 'X':
      return FormatInt(spec, st.st_atim.tv_sec);
    case 'Y':
      return FormatInt(spec, st.st_mtim.tv_sec);
    case 'Z':
      return FormatInt(spec, st.st_ctim.tv_sec);
    case 'W':
      return FormatInt(spec, 0);
    case 'm': {
      // Mount point: the longest mount path that prefixes the absolute path.
      return S("?");
    }
  }
  *ok = false;
  return "";
}

std::string StatFormat(Cmd& c, Names& names, const std::string& fmt,
                       const std::string& file, const struct stat& st,
                       int* status) {
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    size_t j = i + 1;
    while (j < fmt.size() && strchr("-#0+ '", fmt[j])) ++j;
    while (j < fmt.size() && isdigit(static_cast<unsigned char>(fmt[j]))) ++j;
    if (j < fmt.size() && fmt[j] == '.') {
      ++j;
      while (j < fmt.size() && isdigit(static_cast<unsigned char>(fmt[j]))) ++j;
    }
    std::string spec = fmt.substr(i + 1, j - i - 1);
    if (j >= fmt.size()) {
      out += fmt.substr(i);
      break;
    }
    char conv = fmt[j];
    if (conv == '%') {
      out += '%';
      i = j;
      continue;
    }
    if ((conv == 'H' || conv == 'L') && j + 1 < fmt.size() &&
        (fmt[j + 1] == 'd' || fmt[j + 1] == 'r')) {
      dev_t d = fmt[j + 1] == 'd' ? st.st_dev : st.st_rdev;
      out += FormatUInt(spec, conv == 'H' ? major(d) : minor(d));
      i = j + 1;
      continue;
    }
    bool ok = true;
    std::string v = StatDirective(c, names, conv, spec, file, st, &ok);
    if (!ok) {
      c.Error(Cat("'", fmt.substr(i, j - i + 1), "': invalid directive"));
      *status = 2;
      return "";
    }
    out += v;
    i = j;
  }
  return out;
}

}  // namespace

int CmdStat(Cmd& c) {
  Opts opts;
  if (!ParseOpts(c, "c:Lt",
                 {{"format", true, 'c'},
                  {"printf", true, 0},
                  {"dereference", false, 'L'},
                  {"terse", false, 't'}},
                 &opts)) {
    return 2;
  }
  if (opts.args.empty()) return c.Usage("missing operand");
  bool deref = opts.Has("L");
  std::string fmt;
  bool custom = false;
  for (const auto& [k, v] : opts.list) {
    if (k == "c") {
      fmt = v + "\n";
      custom = true;
    }
    if (k == "printf") {
      fmt = Unescape(v);
      custom = true;
    }
  }
  if (!custom && opts.Has("t")) {
    fmt = "%n %s %b %f %u %g %D %i %h %t %T %X %Y %Z %W %o\n";
    custom = true;
  }
  Names names(c.t);
  int status = 0;
  for (const std::string& f : opts.args) {
    struct stat st;
    long r = deref ? Stat(c.t, f, &st) : Lstat(c.t, f, &st);
    if (r < 0) {
      c.Error(Cat("cannot statx ", Quote(f)), r);
      status = 1;
      continue;
    }
    std::string use = fmt;
    if (!custom) {
      use = "  File: ";
      for (char ch : f)
        use += ch == '%' ? std::string("%%") : std::string(1, ch);
      if (S_ISLNK(st.st_mode)) {
        std::string target;
        ReadLink(c.t, f, &target);
        use += " -> ";
        for (char ch : target)
          use += ch == '%' ? std::string("%%") : std::string(1, ch);
      }
      use +=
          "\n"
          "  Size: %-10s\tBlocks: %-10b IO Block: %-6o %F\n";
      if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        use +=
            "Device: %Hd,%Ld\tInode: %-11i Links: %-5h Device type: %Hr,%Lr\n";
      } else {
        use += "Device: %Hd,%Ld\tInode: %-11i Links: %h\n";
      }
      use +=
          "Access: (%04a/%10.10A)  Uid: (%5u/%8U)   Gid: (%5g/%8G)\n"
          "Access: %x\nModify: %y\nChange: %z\n Birth: %w\n";
    }
    int s = 0;
    std::string out = StatFormat(c, names, use, f, st, &s);
    if (s) return s;
    c.Out(out);
  }
  return status;
}

// ---- find ----

namespace {

struct FindNode {
  enum Kind {
    kTrue,
    kType,
    kName,
    kIname,
    kPath,
    kPrint,
    kPrintf,
    kAnd,
    kOr,
    kNot,
    kEmpty,
    kFalse,
    kPrint0,
    kXtype
  } kind;
  std::string arg;
  std::unique_ptr<FindNode> a, b;
};

struct FindCtx {
  std::string path, start;
  struct stat st;
  int depth;
};

class FindParser {
 public:
  FindParser(Cmd& c, const std::vector<std::string>& toks)
      : c_(c), toks_(toks) {}
  std::unique_ptr<FindNode> Parse(bool* has_action, bool* ok) {
    if (toks_.empty()) return Make(FindNode::kTrue);
    auto n = Or();
    if (!ok_ || pos_ < toks_.size()) {
      if (ok_ && pos_ < toks_.size()) {
        c_.Error(Cat("unexpected ", Quote(toks_[pos_])));
      }
      *ok = false;
    }
    *has_action = has_action_;
    return n;
  }
  int maxdepth = -1, mindepth = 0;

 private:
  static std::unique_ptr<FindNode> Make(FindNode::Kind k,
                                        std::string arg = "") {
    auto n = std::make_unique<FindNode>();
    n->kind = k;
    n->arg = std::move(arg);
    return n;
  }
  std::unique_ptr<FindNode> Bin(FindNode::Kind k, std::unique_ptr<FindNode> a,
                                std::unique_ptr<FindNode> b) {
    auto n = Make(k);
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }
  std::unique_ptr<FindNode> Or() {
    auto l = And();
    while (ok_ && pos_ < toks_.size() &&
           (toks_[pos_] == "-o" || toks_[pos_] == "-or")) {
      ++pos_;
      l = Bin(FindNode::kOr, std::move(l), And());
    }
    return l;
  }
  std::unique_ptr<FindNode> And() {
    auto l = Unary();
    while (ok_ && pos_ < toks_.size() && toks_[pos_] != "-o" &&
           toks_[pos_] != "-or" && toks_[pos_] != ")") {
      if (toks_[pos_] == "-a" || toks_[pos_] == "-and") ++pos_;
      l = Bin(FindNode::kAnd, std::move(l), Unary());
    }
    return l;
  }
  std::unique_ptr<FindNode> Unary() {
    if (pos_ >= toks_.size()) {
      c_.Error("expected an expression");
      ok_ = false;
      return Make(FindNode::kTrue);
    }
    const std::string& t = toks_[pos_];
    if (t == "!" || t == "-not") {
      ++pos_;
      auto n = Make(FindNode::kNot);
      n->a = Unary();
      return n;
    }
    if (t == "(") {
      ++pos_;
      auto n = Or();
      if (pos_ >= toks_.size() || toks_[pos_] != ")") {
        c_.Error(
            "invalid expression; I was expecting to find a ')' somewhere "
            "but did not see one.");
        ok_ = false;
        return n;
      }
      ++pos_;
      return n;
    }
    return Primary();
  }
  bool Arg(const std::string& t, std::string* v) {
    if (pos_ >= toks_.size()) {
      c_.Error(Cat("missing argument to '", t, "'"));
      ok_ = false;
      return false;
    }
    *v = toks_[pos_++];
    return true;
  }
  std::unique_ptr<FindNode> Primary() {
    std::string t = toks_[pos_++];
    std::string v;
    if (t == "-print") {
      has_action_ = true;
      return Make(FindNode::kPrint);
    }
    if (t == "-print0") {
      has_action_ = true;
      return Make(FindNode::kPrint0);
    }
    if (t == "-true") return Make(FindNode::kTrue);
    if (t == "-false") return Make(FindNode::kFalse);
    if (t == "-empty") return Make(FindNode::kEmpty);
    if (t == "-printf") {
      if (!Arg(t, &v)) return Make(FindNode::kTrue);
      has_action_ = true;
      return Make(FindNode::kPrintf, v);
    }
    if (t == "-name" || t == "-iname" || t == "-path" || t == "-wholename") {
      if (!Arg(t, &v)) return Make(FindNode::kTrue);
      return Make(t == "-name"    ? FindNode::kName
                  : t == "-iname" ? FindNode::kIname
                                  : FindNode::kPath,
                  v);
    }
    if (t == "-type" || t == "-xtype") {
      if (!Arg(t, &v)) return Make(FindNode::kTrue);
      for (char ch : v) {
        if (ch != ',' && !strchr("bcdpflsD", ch)) {
          c_.Error(Cat("Unknown argument to ", t, ": ", v));
          ok_ = false;
        }
      }
      return Make(t == "-type" ? FindNode::kType : FindNode::kXtype, v);
    }
    if (t == "-maxdepth" || t == "-mindepth") {
      if (!Arg(t, &v)) return Make(FindNode::kTrue);
      int d;
      if (!absl::SimpleAtoi(v, &d) || d < 0) {
        c_.Error(Cat("Expected a positive decimal integer argument to ", t,
                     ", but got ", Quote(v)));
        ok_ = false;
      }
      (t == "-maxdepth" ? maxdepth : mindepth) = d;
      return Make(FindNode::kTrue);
    }
    c_.Error(Cat("unknown predicate '", t, "'"));
    ok_ = false;
    return Make(FindNode::kTrue);
  }

  Cmd& c_;
  const std::vector<std::string>& toks_;
  size_t pos_ = 0;
  bool ok_ = true;
  bool has_action_ = false;
};

std::string FindPrintf(Cmd& c, Names& names, const std::string& fmt,
                       const FindCtx& f) {
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char ch = fmt[i];
    if (ch == '\\' && i + 1 < fmt.size()) {
      bool stop = false;
      size_t j = i + 1;
      if (fmt[j] >= '0' && fmt[j] <= '7') {
        size_t k = j;
        while (k < fmt.size() && k < j + 3 && fmt[k] >= '0' && fmt[k] <= '7')
          ++k;
        out += Unescape(fmt.substr(i, k - i));
        i = k - 1;
        continue;
      }
      out += Unescape(fmt.substr(i, 2), &stop);
      if (stop) return out;
      ++i;
      continue;
    }
    if (ch != '%') {
      out += ch;
      continue;
    }
    size_t j = i + 1;
    while (j < fmt.size() && strchr("-+ #0", fmt[j])) ++j;
    while (j < fmt.size() && isdigit(static_cast<unsigned char>(fmt[j]))) ++j;
    if (j < fmt.size() && fmt[j] == '.') {
      ++j;
      while (j < fmt.size() && isdigit(static_cast<unsigned char>(fmt[j]))) ++j;
    }
    if (j >= fmt.size()) {
      out += fmt.substr(i);
      break;
    }
    std::string spec = fmt.substr(i + 1, j - i - 1);
    char conv = fmt[j];
    i = j;
    const struct stat& st = f.st;
    auto S = [&](const std::string& s) { out += FormatStr(spec, s); };
    auto U = [&](unsigned long long v) { out += FormatUInt(spec, v); };
    switch (conv) {
      case '%':
        out += '%';
        break;
      case 'p':
        S(f.path);
        break;
      case 'f':
        S(f.depth == 0 ? f.path == "/" ? "/" : BaseName(f.path)
                       : BaseName(f.path));
        break;
      case 'h': {
        size_t k = f.path.rfind('/');
        S(k == std::string::npos ? "." : k == 0 ? "/" : f.path.substr(0, k));
        break;
      }
      case 'P': {
        std::string p = f.path.substr(std::min(f.path.size(), f.start.size()));
        if (!p.empty() && p[0] == '/') p = p.substr(1);
        S(p);
        break;
      }
      case 'H':
        S(f.start);
        break;
      case 's':
        U(static_cast<unsigned long long>(st.st_size));
        break;
      case 'm':
        out += FormatUInt(spec, st.st_mode & 07777, 'o');
        break;
      case 'M':
        S(ModeString(st.st_mode));
        break;
      case 'y':
        S(std::string(1, TypeChar(st.st_mode)));
        break;
      case 'Y': {
        struct stat t;
        char y = TypeChar(st.st_mode);
        if (S_ISLNK(st.st_mode)) {
          long r = Stat(c.t, f.path, &t);
          y = r == 0 ? TypeChar(t.st_mode) : r == -ELOOP ? 'L' : 'N';
        }
        S(std::string(1, y));
        break;
      }
      case 'l': {
        std::string target;
        if (S_ISLNK(st.st_mode)) ReadLink(c.t, f.path, &target);
        S(target);
        break;
      }
      case 'n':
        U(st.st_nlink);
        break;
      case 'U':
        U(st.st_uid);
        break;
      case 'G':
        U(st.st_gid);
        break;
      case 'u':
        S(names.User(st.st_uid).value_or(std::to_string(st.st_uid)));
        break;
      case 'g':
        S(names.Group(st.st_gid).value_or(std::to_string(st.st_gid)));
        break;
      case 'i':
        U(st.st_ino);
        break;
      case 'k':
        U((static_cast<unsigned long long>(st.st_blocks) + 1) / 2);
        break;
      case 'b':
        U(static_cast<unsigned long long>(st.st_blocks));
        break;
      case 'd':
        U(static_cast<unsigned long long>(f.depth));
        break;
      case 'D':
        U(st.st_dev);
        break;
      case 'A':
      case 'T':
      case 'C': {
        const struct timespec& ts = conv == 'A'   ? st.st_atim
                                    : conv == 'T' ? st.st_mtim
                                                  : st.st_ctim;
        if (i + 1 >= fmt.size()) break;
        char k = fmt[++i];
        if (k == '@') {
          char buf[64];
          snprintf(buf, sizeof(buf), "%lld.%09ld0",
                   static_cast<long long>(ts.tv_sec),
                   static_cast<long>(ts.tv_nsec));
          S(buf);
        } else if (k == 'T') {
          S(FormatTime("%H:%M:%S.%N0", ts));
        } else if (k == '+') {
          S(FormatTime("%Y-%m-%d+%H:%M:%S.%N0", ts));
        } else {
          S(FormatTime(std::string("%") + k, ts));
        }
        break;
      }
      case 't':
      case 'a':
      case 'c': {
        const struct timespec& ts = conv == 'a'   ? st.st_atim
                                    : conv == 't' ? st.st_mtim
                                                  : st.st_ctim;
        S(FormatTime("%a %b %e %H:%M:%S.%N0 %Y", ts));
        break;
      }
      default:
        out += '%';
        out += conv;
    }
  }
  return out;
}

bool TypeMatches(const std::string& types, mode_t m) {
  char y = TypeChar(m);
  for (char ch : types)
    if (ch == y) return true;
  return false;
}

bool Eval(Cmd& c, Names& names, const FindNode& n, const FindCtx& f) {
  switch (n.kind) {
    case FindNode::kTrue:
      return true;
    case FindNode::kFalse:
      return false;
    case FindNode::kAnd:
      return Eval(c, names, *n.a, f) && Eval(c, names, *n.b, f);
    case FindNode::kOr:
      return Eval(c, names, *n.a, f) || Eval(c, names, *n.b, f);
    case FindNode::kNot:
      return !Eval(c, names, *n.a, f);
    case FindNode::kType:
      return TypeMatches(n.arg, f.st.st_mode);
    case FindNode::kXtype: {
      struct stat t = f.st;
      if (S_ISLNK(f.st.st_mode)) Stat(c.t, f.path, &t);
      return TypeMatches(n.arg, t.st_mode);
    }
    case FindNode::kName:
    case FindNode::kIname: {
      std::string base = f.path == "/" ? "/" : BaseName(f.path);
      return fnmatch(n.arg.c_str(), base.c_str(),
                     n.kind == FindNode::kIname ? FNM_CASEFOLD : 0) == 0;
    }
    case FindNode::kPath:
      return fnmatch(n.arg.c_str(), f.path.c_str(), 0) == 0;
    case FindNode::kEmpty: {
      if (S_ISREG(f.st.st_mode)) return f.st.st_size == 0;
      if (S_ISDIR(f.st.st_mode)) {
        std::vector<std::string> names2;
        return ListDir(c.t, f.path, &names2) == 0 && names2.empty();
      }
      return false;
    }
    case FindNode::kPrint:
      c.Out(f.path + "\n");
      return true;
    case FindNode::kPrint0:
      c.Out(f.path);
      c.Out(std::string(1, '\0'));
      return true;
    case FindNode::kPrintf:
      c.Out(FindPrintf(c, names, n.arg, f));
      return true;
  }
  return false;
}

void Walk(Cmd& c, Names& names, const FindNode& expr, bool print,
          const FindParser& p, FindCtx& f, int* status) {
  if (f.depth >= p.mindepth) {
    bool r = Eval(c, names, expr, f);
    if (r && print) c.Out(f.path + "\n");
  }
  if (!S_ISDIR(f.st.st_mode)) return;
  if (p.maxdepth >= 0 && f.depth >= p.maxdepth) return;
  std::vector<std::string> kids;
  long r = ListDir(c.t, f.path, &kids);
  if (r < 0) {
    c.Error(Quote(f.path), r);
    *status = 1;
    return;
  }
  for (const std::string& k : kids) {
    FindCtx child;
    child.start = f.start;
    child.path = Join(f.path, k);
    child.depth = f.depth + 1;
    long sr = Lstat(c.t, child.path, &child.st);
    if (sr < 0) {
      c.Error(Quote(child.path), sr);
      *status = 1;
      continue;
    }
    Walk(c, names, expr, print, p, child, status);
  }
}

}  // namespace

int CmdFind(Cmd& c) {
  std::vector<std::string> paths, expr;
  size_t i = 1;
  for (; i < c.argv.size(); ++i) {
    const std::string& a = c.argv[i];
    if (a == "-H" || a == "-L" || a == "-P") continue;
    if ((!a.empty() && a[0] == '-' && a.size() > 1) || a == "!" || a == "(")
      break;
    paths.push_back(a);
  }
  for (; i < c.argv.size(); ++i) expr.push_back(c.argv[i]);
  if (paths.empty()) paths.push_back(".");
  FindParser p(c, expr);
  bool has_action = false, ok = true;
  auto tree = p.Parse(&has_action, &ok);
  if (!ok) return 1;
  Names names(c.t);
  int status = 0;
  for (const std::string& start : paths) {
    FindCtx f;
    f.path = f.start = start;
    f.depth = 0;
    long r = Lstat(c.t, start, &f.st);
    if (r < 0) {
      c.Error(Quote(start), r);
      status = 1;
      continue;
    }
    Walk(c, names, *tree, !has_action, p, f, &status);
  }
  return status;
}

// ---- tree ----

namespace {

void TreeWalk(Cmd& c, const std::string& path, const std::string& prefix,
              bool all, long* ndirs, long* nfiles) {
  std::vector<std::string> kids;
  long r = ListDir(c.t, path, &kids);
  if (r < 0) {
    c.Out(Cat(" [error opening dir]\n"));
    return;
  }
  c.Out("\n");
  std::vector<std::string> shown;
  for (const std::string& k : kids) {
    if (!all && k[0] == '.') continue;
    shown.push_back(k);
  }
  std::sort(shown.begin(), shown.end());
  for (size_t i = 0; i < shown.size(); ++i) {
    bool last = i + 1 == shown.size();
    std::string p = Join(path, shown[i]);
    struct stat st;
    Lstat(c.t, p, &st);
    c.Out(prefix + (last ? "\u2514\u2500\u2500 " : "\u251c\u2500\u2500 ") +
          shown[i]);
    if (S_ISLNK(st.st_mode)) {
      std::string target;
      ReadLink(c.t, p, &target);
      c.Out(" -> " + target + "\n");
      struct stat t;
      if (Stat(c.t, p, &t) == 0 && S_ISDIR(t.st_mode))
        ++*ndirs;
      else
        ++*nfiles;
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      ++*ndirs;
      TreeWalk(c, p, prefix + (last ? "    " : "\u2502\u00a0\u00a0 "), all,
               ndirs, nfiles);
    } else {
      ++*nfiles;
      c.Out("\n");
    }
  }
}

}  // namespace

int CmdTree(Cmd& c) {
  Opts opts;
  if (!ParseOpts(c, "a", {}, &opts)) return 2;
  std::vector<std::string> args = opts.args;
  if (args.empty()) args.push_back(".");
  long ndirs = 0, nfiles = 0;
  int status = 0;
  for (const std::string& a : args) {
    struct stat st;
    long r = Stat(c.t, a, &st);
    if (r < 0 || !S_ISDIR(st.st_mode)) {
      c.Out(a + "  [error opening dir]\n");
      status = 2;
      continue;
    }
    c.Out(a);
    TreeWalk(c, a, "", opts.Has("a"), &ndirs, &nfiles);
  }
  c.Out(Cat("\n", ndirs, ndirs == 1 ? " directory, " : " directories, ", nfiles,
            nfiles == 1 ? " file\n" : " files\n"));
  return status;
}

}  // namespace runsc::shell
