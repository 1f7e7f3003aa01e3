// Log lines on stderr, shared by `runsc do` and `runsc gofer` so that a
// gofer's lines read like its parent's (the parent passes its --debug and
// --log-format on).
//
//   text: "SOURCE: LEVEL: MSG"
//   json: {"level":"LEVEL","source":"SOURCE","msg":"MSG"}, one per line
//
// The settings are process-wide, set once while parsing flags, before any
// thread starts; Log itself is one fprintf and may be called from any
// thread.
#ifndef RUNSC_LOGGING_LOG_H_
#define RUNSC_LOGGING_LOG_H_

#include <string>
#include <string_view>

namespace runsc::logging {

void SetDebug(bool on);
void SetJson(bool on);
bool DebugEnabled();
bool JsonEnabled();

// `s` as a JSON string literal, quotes included. Valid UTF-8 passes
// through; a byte that is not part of valid UTF-8 becomes U+FFFD (as Go's
// encoding/json does, which gVisor's JSON logs use), so every line is
// valid JSON whatever bytes a path holds.
std::string JsonQuote(std::string_view s);

// One line on stderr. "debug" lines are dropped unless DebugEnabled().
void Log(std::string_view source, std::string_view level, std::string_view msg);

}  // namespace runsc::logging

#endif  // RUNSC_LOGGING_LOG_H_
