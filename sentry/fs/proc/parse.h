// Parsers for /proc formats. Tests run them on this machine's own files
// and on ours, so both must have the same shape.
#ifndef SENTRY_FS_PROC_PARSE_H_
#define SENTRY_FS_PROC_PARSE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sentry::fs::proc::parse {

// Undoes mangle()'s octal escapes ("\040" -> ' ').
std::string Unescape(std::string_view s);

// One line of /proc/[pid]/mountinfo (proc(5)).
struct MountInfoLine {
  int id, parent_id;
  unsigned major, minor;
  std::string root, mount_point, mount_options;
  std::vector<std::string> optional_fields;
  std::string fs_type, source, super_options;
  size_t fields;  // whitespace-separated fields on the line
};
std::optional<MountInfoLine> ParseMountInfoLine(std::string_view line);

// One line of /proc/mounts (fstab(5)).
struct MountsLine {
  std::string source, mount_point, fs_type, options;
  int freq, passno;
};
std::optional<MountsLine> ParseMountsLine(std::string_view line);

// "Key:\tvalue" lines (status); nullopt if a line has no colon.
std::optional<std::vector<std::pair<std::string, std::string>>> ParseStatus(
    std::string_view text);
// The shape of a status value: each token as 'd' (decimal), 'x' (16 hex
// digits), 'k' ("kB"), 'p' ("(word)"), 'w' (anything else), so
// "R (running)" is "wp" and "    3060 kB" is "dk".
std::string ValueShape(std::string_view value);

// /proc/[pid]/stat: pid, comm (between the first '(' and the last ')'),
// then the remaining fields.
struct StatLine {
  std::string comm;
  std::vector<std::string> fields;  // all 52, comm without its parentheses
};
std::optional<StatLine> ParseStatLine(std::string_view line);

// /proc/stat: key -> numbers; nullopt if a value is not a number.
std::optional<std::map<std::string, std::vector<uint64_t>>> ParseProcStat(
    std::string_view text);

// /proc/meminfo: key -> (value, unit: "kB" or ""). nullopt if a line is
// malformed.
std::optional<std::map<std::string, std::pair<uint64_t, std::string>>>
ParseMeminfo(std::string_view text);
// Whether the line is laid out as show_val_kb does ("%-16s%8lu kB" or
// wider numbers).
bool MeminfoLineLayoutOk(std::string_view line);

std::vector<std::string_view> Lines(std::string_view text);
bool IsNumber(std::string_view s);  // optional '-', then digits

}  // namespace sentry::fs::proc::parse

#endif  // SENTRY_FS_PROC_PARSE_H_
