#include "runsc/specutils/specutils.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "abi/linux/linux.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"

namespace runsc::specutils {

namespace {

// Debian's abseil has its own string_view type.
absl::string_view AV(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Line and column (1-based) of a byte offset.
std::string Where(std::string_view text, size_t off) {
  int line = 1, col = 1;
  for (size_t i = 0; i < off && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return absl::StrCat("line ", line, ", column ", col);
}

// A strict JSON syntax check (RFC 8259), so a malformed file is reported
// at the place it goes wrong; protobuf's parser is more lenient (trailing
// commas) and reports syntax errors without a position.
class SyntaxChecker {
 public:
  explicit SyntaxChecker(std::string_view s) : s_(s) {}
  // Empty if fine, else "what at line L, column C".
  std::string Check() {
    Ws();
    if (!Value(0)) return err_;
    Ws();
    if (pos_ != s_.size()) {
      Fail("unexpected text after the value");
      return err_;
    }
    return "";
  }

 private:
  static constexpr int kMaxDepth = 200;
  bool Fail(std::string_view what) {
    if (err_.empty()) err_ = absl::StrCat(AV(what), " at ", Where(s_, pos_));
    return false;
  }
  void Ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' ||
                                s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Lit(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return Fail("invalid literal");
    pos_ += w.size();
    return true;
  }
  bool String() {
    ++pos_;  // opening quote
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return Fail("control character in a string");
      }
      if (c == '\\') {
        ++pos_;
        if (pos_ >= s_.size()) break;
        char e = s_[pos_];
        if (e == 'u') {
          for (int i = 1; i <= 4; ++i) {
            if (pos_ + i >= s_.size() || !isxdigit(s_[pos_ + i])) {
              return Fail("bad \\u escape");
            }
          }
          pos_ += 4;
        } else if (std::string_view("\"\\/bfnrt").find(e) ==
                   std::string_view::npos) {
          return Fail("bad escape in a string");
        }
      }
      ++pos_;
    }
    return Fail("unterminated string");
  }
  bool Number() {
    size_t start = pos_;
    if (s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || !isdigit(s_[pos_])) return Fail("bad number");
    if (s_[pos_] == '0') {
      ++pos_;
    } else {
      while (pos_ < s_.size() && isdigit(s_[pos_])) ++pos_;
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (pos_ >= s_.size() || !isdigit(s_[pos_])) return Fail("bad number");
      while (pos_ < s_.size() && isdigit(s_[pos_])) ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (pos_ >= s_.size() || !isdigit(s_[pos_])) return Fail("bad number");
      while (pos_ < s_.size() && isdigit(s_[pos_])) ++pos_;
    }
    return pos_ > start;
  }
  bool Value(int depth) {
    if (depth > kMaxDepth) return Fail("nesting too deep");
    if (pos_ >= s_.size()) return Fail("unexpected end of file");
    switch (s_[pos_]) {
      case '{': {
        ++pos_;
        Ws();
        if (pos_ < s_.size() && s_[pos_] == '}') {
          ++pos_;
          return true;
        }
        for (;;) {
          Ws();
          if (pos_ >= s_.size() || s_[pos_] != '"') {
            return Fail("expected a quoted member name");
          }
          if (!String()) return false;
          Ws();
          if (pos_ >= s_.size() || s_[pos_] != ':') return Fail("expected ':'");
          ++pos_;
          Ws();
          if (!Value(depth + 1)) return false;
          Ws();
          if (pos_ < s_.size() && s_[pos_] == ',') {
            ++pos_;
            continue;
          }
          if (pos_ < s_.size() && s_[pos_] == '}') {
            ++pos_;
            return true;
          }
          return Fail("expected ',' or '}'");
        }
      }
      case '[': {
        ++pos_;
        Ws();
        if (pos_ < s_.size() && s_[pos_] == ']') {
          ++pos_;
          return true;
        }
        for (;;) {
          Ws();
          if (!Value(depth + 1)) return false;
          Ws();
          if (pos_ < s_.size() && s_[pos_] == ',') {
            ++pos_;
            continue;
          }
          if (pos_ < s_.size() && s_[pos_] == ']') {
            ++pos_;
            return true;
          }
          return Fail("expected ',' or ']'");
        }
      }
      case '"':
        return String();
      case 't':
        return Lit("true");
      case 'f':
        return Lit("false");
      case 'n':
        return Lit("null");
      default:
        if (s_[pos_] == '-' || isdigit(s_[pos_])) return Number();
        return Fail("unexpected character");
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string err_;
};

// Where a field path ("process.user.uid") appears: each name's first
// occurrence as a quoted key after the previous one's.
std::string LocateField(std::string_view text, std::string_view path) {
  size_t from = 0;
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(path.data(), path.size()), '.')) {
    size_t bracket = part.find('[');
    if (bracket != absl::string_view::npos) part = part.substr(0, bracket);
    std::string key = absl::StrCat("\"", part, "\"");
    size_t at = text.find(key, from);
    if (at == std::string_view::npos) return "";
    from = at + key.size();
  }
  // Point at the value, past the ':' and blanks.
  while (from < text.size() &&
         (text[from] == ':' || text[from] == ' ' || text[from] == '\t' ||
          text[from] == '\n' || text[from] == '\r')) {
    ++from;
  }
  return Where(text, from);
}

absl::Status Invalid(std::string_view source, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(AV(source), ": ", AV(what)));
}

absl::Status Validate(const Spec& s, std::string_view source) {
  if (s.ociversion().empty()) {
    return Invalid(source,
                   "ociVersion: missing (is this an OCI runtime spec?)");
  }
  if (s.has_root() && s.root().path().empty()) {
    return Invalid(source, "root.path: empty");
  }
  for (int i = 0; i < s.mounts_size(); ++i) {
    const Mount& m = s.mounts(i);
    if (m.destination().empty() || m.destination()[0] != '/') {
      return Invalid(
          source, absl::StrCat("mounts[", i, "].destination: \"",
                               m.destination(), "\" is not an absolute path"));
    }
  }
  if (s.has_process() && s.process().has_user() &&
      s.process().user().umask() > 0777) {
    return Invalid(source, "process.user.umask: more than 0777");
  }
  // The runtime must refuse a type it cannot map, and a type given twice.
  std::set<int> seen;
  for (int i = 0; i < s.process().rlimits_size(); ++i) {
    const POSIXRlimit& r = s.process().rlimits(i);
    const int res = RlimitResource(r.type());
    const std::string where =
        absl::StrCat("process.rlimits[", i, "].type: \"", r.type(), "\"");
    if (res < 0) return Invalid(source, where + " is not a resource limit");
    if (!seen.insert(res).second) {
      return Invalid(source, where + " appears twice");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Spec> ParseSpec(std::string_view json, std::string_view source) {
  std::string syntax = SyntaxChecker(json).Check();
  if (!syntax.empty()) {
    return Invalid(source, absl::StrCat("malformed JSON: ", syntax));
  }
  Spec spec;
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &spec, opts);
  if (!st.ok()) {
    // protobuf says "(process.user.uid): invalid value ..."; add where.
    std::string msg(st.message().data(), st.message().size());
    std::string where;
    if (!msg.empty() && msg[0] == '(') {
      size_t close = msg.find(')');
      if (close != std::string::npos) {
        std::string field = msg.substr(1, close - 1);
        where = LocateField(json, field);
        msg = absl::StrCat(field, msg.substr(close + 1));
      }
    }
    if (!where.empty()) absl::StrAppend(&msg, " (at ", where, ")");
    return Invalid(source, msg);
  }
  absl::Status v = Validate(spec, source);
  if (!v.ok()) return v;
  return spec;
}

absl::StatusOr<Spec> ReadSpecFromBundle(const std::string& bundle_dir) {
  std::string path = bundle_dir + "/config.json";
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open (", std::strerror(errno), ")"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseSpec(ss.str(), path);
}

bool IsSupportedDevMount(const Mount& m) {
  std::string dst = CleanPath(m.destination());
  if (dst == "/dev") return false;  // the sandbox provides /dev
  static constexpr std::string_view kProvided[] = {
      "/dev/fd",      "/dev/stdin", "/dev/stdout", "/dev/stderr",
      "/dev/null",    "/dev/zero",  "/dev/full",   "/dev/random",
      "/dev/urandom", "/dev/shm",   "/dev/pts",    "/dev/ptmx",
  };
  for (std::string_view p : kProvided) {
    if (dst == p ||
        (dst.size() > p.size() && dst.compare(0, p.size(), p) == 0 &&
         dst[p.size()] == '/')) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> GetPath(const std::vector<std::string>& env) {
  for (const std::string& e : env) {
    if (e.rfind("PATH=", 0) == 0) {
      return absl::StrSplit(e.substr(5), ':');
    }
  }
  return {};
}

std::string CleanPath(std::string_view path) {
  const bool abs = !path.empty() && path[0] == '/';
  std::vector<std::string_view> out;
  for (absl::string_view part :
       absl::StrSplit(absl::string_view(path.data(), path.size()), '/')) {
    std::string_view p(part.data(), part.size());
    if (p.empty() || p == ".") continue;
    if (p == "..") {
      if (!out.empty() && out.back() != "..") {
        out.pop_back();
      } else if (!abs) {
        out.push_back(p);
      }
      continue;
    }
    out.push_back(p);
  }
  std::string r = abs ? "/" : "";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i) r += '/';
    r += out[i];
  }
  if (r.empty()) r = ".";
  return r;
}

int RlimitResource(std::string_view type) {
  for (int r = 0; r < linux_abi::kRlimNlimits; ++r) {
    if (type == linux_abi::kRlimitNames[r].constant) return r;
  }
  return -1;
}

Spec DefaultSpec(const std::string& rootfs) {
  Spec s;
  s.set_ociversion("1.0.2");
  Process* p = s.mutable_process();
  p->set_terminal(true);
  p->mutable_user();  // uid 0, gid 0
  p->add_args("sh");
  p->add_env(
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  p->add_env("TERM=xterm");
  p->set_cwd("/");
  p->set_nonewprivileges(true);
  POSIXRlimit* nofile = p->add_rlimits();  // as `runc spec` writes
  nofile->set_type("RLIMIT_NOFILE");
  nofile->set_hard(1024);
  nofile->set_soft(1024);
  s.mutable_root()->set_path(rootfs);
  s.mutable_root()->set_readonly(true);
  s.set_hostname("runsc");
  auto add = [&](const char* dst, const char* type, const char* src,
                 std::initializer_list<const char*> opts) {
    Mount* m = s.add_mounts();
    m->set_destination(dst);
    m->set_type(type);
    m->set_source(src);
    for (const char* o : opts) m->add_options(o);
  };
  add("/proc", "proc", "proc", {});
  add("/dev", "tmpfs", "tmpfs",
      {"nosuid", "strictatime", "mode=755", "size=65536k"});
  add("/dev/pts", "devpts", "devpts",
      {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
       "gid=5"});
  add("/dev/shm", "tmpfs", "shm",
      {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"});
  add("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"});
  Linux* l = s.mutable_linux();
  for (const char* ns : {"pid", "network", "ipc", "uts", "mount"}) {
    l->add_namespaces()->set_type(ns);
  }
  for (const char* m : {"/proc/acpi", "/proc/kcore", "/proc/keys",
                        "/proc/timer_list", "/sys/firmware"}) {
    l->add_maskedpaths(m);
  }
  for (const char* r : {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                        "/proc/sysrq-trigger"}) {
    l->add_readonlypaths(r);
  }
  return s;
}

std::string SpecToJson(const Spec& spec) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(spec, &out, opts);
  return out;
}

}  // namespace runsc::specutils
