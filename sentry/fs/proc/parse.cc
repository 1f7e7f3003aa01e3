#include "sentry/fs/proc/parse.h"

#include <cctype>
#include <charconv>
#include <cstdlib>

namespace sentry::fs::proc::parse {

namespace {
// Splits on any of seps, dropping empty pieces.
std::vector<std::string_view> Split(std::string_view s, std::string_view seps) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find_first_of(seps, i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}
template <typename T>
bool SimpleAtoi(std::string_view s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}
}  // namespace

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

bool IsNumber(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      std::string_view oct = s.substr(i + 1, 3);
      bool ok = oct.size() == 3;
      for (char c : oct) ok = ok && c >= '0' && c <= '7';
      if (ok) {
        out += static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 +
                                 (oct[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

namespace {
std::vector<std::string_view> Fields(std::string_view line) {
  return Split(line, " ");
}
}  // namespace

std::optional<MountInfoLine> ParseMountInfoLine(std::string_view line) {
  std::vector<std::string_view> f = Fields(line);
  if (f.size() < 10) return std::nullopt;
  MountInfoLine m;
  m.fields = f.size();
  if (!SimpleAtoi(f[0], &m.id) || !SimpleAtoi(f[1], &m.parent_id)) {
    return std::nullopt;
  }
  std::vector<std::string_view> mm = Split(f[2], ":");
  if (mm.size() != 2 || !IsNumber(mm[0]) || !IsNumber(mm[1]) ||
      !SimpleAtoi(mm[0], &m.major) || !SimpleAtoi(mm[1], &m.minor)) {
    return std::nullopt;
  }
  if (f[3].empty() || f[3][0] != '/' || f[4].empty() || f[4][0] != '/') {
    return std::nullopt;
  }
  m.root = Unescape(f[3]);
  m.mount_point = Unescape(f[4]);
  m.mount_options = std::string(f[5]);
  size_t i = 6;
  while (i < f.size() && f[i] != "-") m.optional_fields.emplace_back(f[i++]);
  if (i >= f.size() || f.size() - i != 4) return std::nullopt;
  m.fs_type = Unescape(f[i + 1]);
  m.source = Unescape(f[i + 2]);
  m.super_options = std::string(f[i + 3]);
  if (m.mount_options.substr(0, 2) != "rw" &&
      m.mount_options.substr(0, 2) != "ro") {
    return std::nullopt;
  }
  if (m.super_options.substr(0, 2) != "rw" &&
      m.super_options.substr(0, 2) != "ro") {
    return std::nullopt;
  }
  return m;
}

std::optional<MountsLine> ParseMountsLine(std::string_view line) {
  std::vector<std::string_view> f = Fields(line);
  if (f.size() != 6) return std::nullopt;
  MountsLine m;
  m.source = Unescape(f[0]);
  m.mount_point = Unescape(f[1]);
  m.fs_type = Unescape(f[2]);
  m.options = std::string(f[3]);
  if (!SimpleAtoi(f[4], &m.freq) || !SimpleAtoi(f[5], &m.passno)) {
    return std::nullopt;
  }
  if (m.mount_point.empty() || m.mount_point[0] != '/') return std::nullopt;
  return m;
}

std::optional<std::vector<std::pair<std::string, std::string>>> ParseStatus(
    std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::string_view l : Lines(text)) {
    size_t colon = l.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    std::string_view v = l.substr(colon + 1);
    if (!v.empty() && v[0] != '\t') return std::nullopt;
    if (!v.empty()) v.remove_prefix(1);
    out.emplace_back(std::string(l.substr(0, colon)), std::string(v));
  }
  return out;
}

std::string ValueShape(std::string_view value) {
  std::string shape;
  for (std::string_view tok : Split(value, " \t")) {
    bool hex16 = tok.size() == 16;
    for (char c : tok)
      hex16 = hex16 && std::isxdigit(static_cast<unsigned char>(c));
    if (hex16) {
      shape += 'x';
    } else if (IsNumber(tok)) {
      shape += 'd';
    } else if (tok == "kB") {
      shape += 'k';
    } else if (tok.size() > 2 && tok.front() == '(' && tok.back() == ')') {
      shape += 'p';
    } else {
      shape += 'w';
    }
  }
  return shape;
}

std::optional<StatLine> ParseStatLine(std::string_view line) {
  size_t open = line.find('(');
  size_t close = line.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos ||
      close < open || open == 0 || line[open - 1] != ' ') {
    return std::nullopt;
  }
  StatLine s;
  s.comm = std::string(line.substr(open + 1, close - open - 1));
  std::string_view pid = line.substr(0, open - 1);
  if (!IsNumber(pid)) return std::nullopt;
  s.fields.emplace_back(pid);
  s.fields.push_back(s.comm);
  for (std::string_view f : Fields(line.substr(close + 1))) {
    s.fields.emplace_back(f);
  }
  return s;
}

std::optional<std::map<std::string, std::vector<uint64_t>>> ParseProcStat(
    std::string_view text) {
  std::map<std::string, std::vector<uint64_t>> out;
  for (std::string_view l : Lines(text)) {
    std::vector<std::string_view> f = Fields(l);
    if (f.size() < 2) return std::nullopt;
    std::vector<uint64_t> nums;
    for (size_t i = 1; i < f.size(); ++i) {
      uint64_t n;
      if (!SimpleAtoi(f[i], &n)) return std::nullopt;
      nums.push_back(n);
    }
    out[std::string(f[0])] = std::move(nums);
  }
  return out;
}

std::optional<std::map<std::string, std::pair<uint64_t, std::string>>>
ParseMeminfo(std::string_view text) {
  std::map<std::string, std::pair<uint64_t, std::string>> out;
  for (std::string_view l : Lines(text)) {
    size_t colon = l.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::vector<std::string_view> f = Fields(l.substr(colon + 1));
    if (f.empty() || f.size() > 2) return std::nullopt;
    uint64_t n;
    if (!SimpleAtoi(f[0], &n)) return std::nullopt;
    std::string unit = f.size() == 2 ? std::string(f[1]) : "";
    if (!unit.empty() && unit != "kB") return std::nullopt;
    out[std::string(l.substr(0, colon))] = {n, unit};
  }
  return out;
}

bool MeminfoLineLayoutOk(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  if (line.size() < 3 || line.substr(line.size() - 3) != " kB") return false;
  std::string_view num = line.substr(0, line.size() - 3);
  size_t start = num.find_last_of(' ');
  if (start == std::string_view::npos) return false;
  std::string_view digits = num.substr(start + 1);
  if (!IsNumber(digits)) return false;
  // Key, colon and padding fill 16 columns and the number 8 (or more,
  // eating padding): the number always ends at column 24 or later.
  if (num.size() < 24) return false;
  if (digits.size() < 8 && num.size() != 24) return false;
  return true;
}

}  // namespace sentry::fs::proc::parse
