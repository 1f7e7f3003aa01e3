// Comparison, reporting and minimisation of differential runs.
#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "sentry/kernel/difftest/harness.h"

namespace difftest {

namespace {

struct Outcome {
  bool ok = true;
  int failing_op = -1;
  std::string signature;
  bool minimizable = true;
};

const char* KindName(OpKind k) {
  switch (k) {
    case OpKind::kOpen:
      return "open";
    case OpKind::kClose:
      return "close";
    case OpKind::kDup:
      return "dup";
    case OpKind::kRead:
      return "read";
    case OpKind::kWrite:
      return "write";
    case OpKind::kPread:
      return "pread";
    case OpKind::kPwrite:
      return "pwrite";
    case OpKind::kReadv:
      return "readv";
    case OpKind::kWritev:
      return "writev";
    case OpKind::kLseek:
      return "lseek";
    case OpKind::kFstat:
      return "fstat";
    case OpKind::kStat:
      return "stat";
    case OpKind::kStatfs:
      return "statfs";
    case OpKind::kGetdents:
      return "getdents";
    case OpKind::kListDir:
      return "listdir";
    case OpKind::kFtruncate:
      return "ftruncate";
    case OpKind::kTruncate:
      return "truncate";
    case OpKind::kFallocate:
      return "fallocate";
    case OpKind::kFsync:
      return "fsync";
    case OpKind::kFcntl:
      return "fcntl";
    case OpKind::kLock:
      return "lock";
    case OpKind::kFlock:
      return "flock";
    case OpKind::kMkdir:
      return "mkdir";
    case OpKind::kMknod:
      return "mknod";
    case OpKind::kUnlink:
      return "unlink";
    case OpKind::kRmdir:
      return "rmdir";
    case OpKind::kRename:
      return "rename";
    case OpKind::kLink:
      return "link";
    case OpKind::kSymlink:
      return "symlink";
    case OpKind::kReadlink:
      return "readlink";
    case OpKind::kChmod:
      return "chmod";
    case OpKind::kFchmod:
      return "fchmod";
    case OpKind::kChown:
      return "chown";
    case OpKind::kFchown:
      return "fchown";
    case OpKind::kUtimens:
      return "utimens";
    case OpKind::kAccess:
      return "access";
    case OpKind::kUmask:
      return "umask";
    case OpKind::kPrlimit:
      return "prlimit";
    case OpKind::kSetxattr:
      return "setxattr";
    case OpKind::kGetxattr:
      return "getxattr";
    case OpKind::kListxattr:
      return "listxattr";
    case OpKind::kRemovexattr:
      return "removexattr";
    case OpKind::kChdir:
      return "chdir";
    case OpKind::kFchdir:
      return "fchdir";
    case OpKind::kGetcwd:
      return "getcwd";
  }
  return "?";
}

std::vector<const Op*> AllOps(const Sequence& s) {
  std::vector<const Op*> v;
  for (const Op& op : s.setup) v.push_back(&op);
  for (const Op& op : s.ops) v.push_back(&op);
  return v;
}

Outcome Compare(const Sequence& s, const SideOutput& lx, const SideOutput& vf) {
  std::vector<const Op*> all = AllOps(s);
  for (size_t i = 0; i < all.size(); ++i) {
    const Op& op = *all[i];
    Outcome o;
    o.ok = false;
    o.failing_op = static_cast<int>(i);
    if (i >= lx.results.size()) {
      o.signature = "HARNESS: linux side stopped early: " + lx.error;
      o.minimizable = false;
      return o;
    }
    if (op.expect && lx.results[i].ret != *op.expect) {
      o.signature = absl::StrCat(
          "CASE INVALID: Linux returned ", ErrnoString(lx.results[i].ret),
          ", the case expects ", ErrnoString(*op.expect));
      o.minimizable = false;
      return o;
    }
    if (i >= vf.results.size()) {
      // Without the op count, so that minimisation keeps the signature.
      std::string first = vf.error.substr(0, vf.error.find(" after "));
      o.signature = absl::StrCat(KindName(op.kind), ": VFS died: ", first);
      return o;
    }
    const Result& a = lx.results[i];
    const Result& b = vf.results[i];
    if (!(a == b)) {
      o.signature =
          absl::StrCat(KindName(op.kind), ": linux=", ErrnoString(a.ret),
                       " vfs=", ErrnoString(b.ret));
      if (a.ret == b.ret) o.signature += " (payload differs)";
      return o;
    }
  }
  Outcome o;
  if (!lx.error.empty()) {
    o.ok = false;
    o.signature = "HARNESS: linux side error: " + lx.error;
    o.minimizable = false;
    return o;
  }
  if (!vf.error.empty()) {
    o.ok = false;
    o.signature = "VFS error: " + vf.error.substr(0, vf.error.find(" after "));
    return o;
  }
  if (lx.tree != vf.tree) {
    o.ok = false;
    o.signature = "final trees differ";
  }
  return o;
}

Sequence Truncated(const Sequence& s, int last) {
  Sequence t = s;
  int ns = static_cast<int>(s.setup.size());
  if (last < ns) {
    t.setup.resize(last + 1);
    t.ops.clear();
  } else {
    t.ops.resize(last - ns + 1);
  }
  return t;
}

Sequence Without(const Sequence& s, size_t i) {
  Sequence t = s;
  if (i < s.setup.size()) {
    t.setup.erase(t.setup.begin() + i);
  } else {
    t.ops.erase(t.ops.begin() + (i - s.setup.size()));
  }
  return t;
}

std::string TreeDiff(const std::string& a, const std::string& b) {
  std::vector<std::string> la = absl::StrSplit(a, '\n', absl::SkipEmpty());
  std::vector<std::string> lb = absl::StrSplit(b, '\n', absl::SkipEmpty());
  std::set<std::string> sa(la.begin(), la.end()), sb(lb.begin(), lb.end());
  std::string out;
  for (const auto& l : la) {
    if (!sb.count(l)) absl::StrAppend(&out, "  - ", l, "\n");
  }
  for (const auto& l : lb) {
    if (!sa.count(l)) absl::StrAppend(&out, "  + ", l, "\n");
  }
  return out;
}

std::string Indent(const std::string& s) {
  std::string out;
  for (absl::string_view l : absl::StrSplit(s, '\n', absl::SkipEmpty())) {
    absl::StrAppend(&out, "    ", l, "\n");
  }
  return out;
}

std::string Render(const Sequence& s, const SideOutput& lx,
                   const SideOutput& vf, const Outcome& o,
                   const std::string& title) {
  std::string r =
      absl::StrCat("==== ", title, ": ", s.name, " (seed ", s.seed, ", ",
                   s.unprivileged ? "uid/gid 1000, groups {1000,2000}" : "root",
                   "; linux root: ", LinuxRootKind(), ") ====\n",
                   "  signature: ", o.signature,
                   "\n  ops (setup ops run as root; up to the first "
                   "difference):\n");
  std::vector<const Op*> all = AllOps(s);
  size_t end = o.failing_op >= 0 ? o.failing_op + 1 : all.size();
  for (size_t i = 0; i < end && i < all.size(); ++i) {
    bool setup = i < s.setup.size();
    std::string lr =
        i < lx.results.size() ? ResultToString(lx.results[i]) : "<none>";
    std::string vr =
        i < vf.results.size() ? ResultToString(vf.results[i]) : "<none>";
    bool bad = static_cast<int>(i) == o.failing_op;
    absl::StrAppend(&r, bad ? "  >> " : "     ", setup ? "setup " : "op ", i,
                    ": ", OpToString(*all[i]));
    if (lr == vr) {
      absl::StrAppend(&r, "  => ", lr, "\n");
    } else {
      absl::StrAppend(&r, "\n          linux => ", lr, "\n          vfs   => ",
                      vr, "\n");
    }
    if (bad && all[i]->expect) {
      absl::StrAppend(&r, "          (case expects ",
                      ErrnoString(*all[i]->expect), ")\n");
    }
  }
  if (!lx.error.empty()) absl::StrAppend(&r, "  linux error: ", lx.error);
  if (!vf.error.empty()) absl::StrAppend(&r, "  vfs error: ", vf.error);
  absl::StrAppend(&r, "  linux tree",
                  o.failing_op >= 0 ? " (after that op)" : "", ":\n",
                  Indent(lx.tree), "  vfs tree:\n", Indent(vf.tree));
  std::string d = TreeDiff(lx.tree, vf.tree);
  if (!d.empty())
    absl::StrAppend(&r, "  tree diff (- linux only, + vfs only):\n", d);
  return r;
}

}  // namespace

DiffResult RunDiff(const Sequence& s, bool minimize) {
  return RunDiffAgainst(s, RunOnVfs, minimize);
}

DiffResult RunDiffAgainst(const Sequence& s, const SideRunner& side,
                          bool minimize) {
  SideOutput lx = RunOnLinux(s);
  SideOutput vf = side(s);
  Outcome o = Compare(s, lx, vf);
  DiffResult res;
  if (o.ok) return res;
  res.ok = false;
  res.failing_op = o.failing_op;
  res.signature = o.signature;

  // The trees as of the failing op.
  Sequence upto = o.failing_op >= 0 ? Truncated(s, o.failing_op) : s;
  SideOutput lx2 = o.failing_op >= 0 ? RunOnLinux(upto) : lx;
  SideOutput vf2 = o.failing_op >= 0 ? side(upto) : vf;
  // Keep the full runs' results (the rerun's are identical up to there).
  lx2.results = lx.results;
  vf2.results = vf.results;
  res.report = Render(s, lx2, vf2, o, "DIFFTEST MISMATCH");

  if (!minimize || !o.minimizable) return res;
  Sequence cur = upto;
  SideOutput clx = lx2, cvf = vf2;
  Outcome co = o;
  for (int pass = 0; pass < 3; ++pass) {
    bool changed = false;
    size_t n = cur.setup.size() + cur.ops.size();
    // Never drop the failing op itself (the last one) for op mismatches.
    size_t start = co.failing_op >= 0 ? n - 1 : n;
    for (size_t i = start; i-- > 0;) {
      if (i >= cur.setup.size() + cur.ops.size()) continue;
      Sequence cand = Without(cur, i);
      SideOutput a = RunOnLinux(cand);
      SideOutput b = side(cand);
      Outcome c = Compare(cand, a, b);
      if (!c.ok && c.signature == o.signature) {
        cur =
            c.failing_op >= 0 ? Truncated(cand, c.failing_op) : std::move(cand);
        clx = std::move(a);
        cvf = std::move(b);
        co = c;
        changed = true;
      }
    }
    if (!changed) break;
  }
  cur.name += " [minimized]";
  absl::StrAppend(&res.report, "\n", Render(cur, clx, cvf, co, "MINIMAL CASE"));
  return res;
}

}  // namespace difftest
