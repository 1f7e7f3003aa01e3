// The script interpreter and built-in commands behind `runsc do`.
//
// Everything runs inside a sandbox's namespace through the syscall-shaped
// API of sentry::kernel::Task: no host path is ever touched. Output of the
// built-in commands follows GNU coreutils/findutils (C locale, UTC).
//
//   runsc::shell::Io io;
//   io.in = "";                                  // the script's stdin
//   int status = runsc::shell::RunScript(task, "ls -l / | wc -l", io);
//   // io.out_buf / io.err_buf hold what was printed (or set io.out/io.err)
//
// Syntax: commands separated by ';' or newlines; '...' and "..." quoting
// and backslash escapes; '|' pipes (run one after another, each command's
// output buffered into the next one's stdin); redirections '<', '>', '>>'
// (files in the sandbox), '2>', '2>>', '2>&1', '>&2'; '&&' and '||';
// '#' comments; `$?` expands to the last status.
//
// Exit status of RunScript: 0 if every and-or list succeeded; otherwise 1,
// or 2 if some command reported a usage error (or the script has a syntax
// error, in which case nothing runs). Each command's own status (as `$?`
// shows it) is the one GNU's tool would return (ls: 2 for a missing
// operand, unknown command: 127).
#ifndef RUNSC_SHELL_SHELL_H_
#define RUNSC_SHELL_SHELL_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sentry/kernel/task.h"

namespace runsc::shell {

struct Io {
  // Standard input of the script: the first command that reads stdin
  // consumes it.
  std::string in;
  // Where standard output/error go. If unset, text is appended to
  // out_buf/err_buf.
  std::function<void(std::string_view)> out;
  std::function<void(std::string_view)> err;
  std::string out_buf;
  std::string err_buf;

  void Out(std::string_view s) {
    if (s.empty()) return;
    if (out)
      out(s);
    else
      out_buf.append(s);
  }
  void Err(std::string_view s) {
    if (s.empty()) return;
    if (err)
      err(s);
    else
      err_buf.append(s);
  }
};

// Runs script in task's namespace (task's cwd, root and credentials).
int RunScript(sentry::kernel::Task* task, std::string_view script, Io& io);

// A read-eval-print loop on host fds (the user's terminal or pipe). On a
// terminal: prompt "runsc> ", line editing (backspace, ^U kills the line,
// ^W the last word, ^C cancels the line, ^D on an empty line exits), no
// history. Otherwise: lines are read and run without a prompt. Returns the
// status of the last line (0 at end of input if nothing failed).
int RunInteractive(sentry::kernel::Task* task, int in_fd, int out_fd,
                   int err_fd);

// The built-in command names, sorted (what `help` prints).
std::vector<std::string> CommandNames();

}  // namespace runsc::shell

#endif  // RUNSC_SHELL_SHELL_H_
