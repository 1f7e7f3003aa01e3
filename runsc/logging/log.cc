#include "runsc/logging/log.h"

#include <cstdio>

namespace runsc::logging {
namespace {

bool g_debug = false;
bool g_json = false;

// Length of the valid UTF-8 sequence at s[i], or 0 (RFC 3629: no
// overlongs, no surrogates, nothing above U+10FFFF).
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
  }
  return n;
}

}  // namespace

void SetDebug(bool on) { g_debug = on; }
void SetJson(bool on) { g_json = on; }
bool DebugEnabled() { return g_debug; }
bool JsonEnabled() { return g_json; }

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c == '\n') {
      out += "\\n";
      ++i;
    } else if (c == '\t') {
      out += "\\t";
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof(b), "\\u%04x", c);
      out += b;
      ++i;
    } else if (size_t n = Utf8Length(s, i); n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
  return out + "\"";
}

void Log(std::string_view source, std::string_view level,
         std::string_view msg) {
  if (level == "debug" && !g_debug) return;
  std::string line;
  if (g_json) {
    line = "{\"level\":" + JsonQuote(level) +
           ",\"source\":" + JsonQuote(source) + ",\"msg\":" + JsonQuote(msg) +
           "}\n";
  } else {
    line.append(source).append(": ").append(level).append(": ");
    line.append(msg).append("\n");
  }
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace runsc::logging
