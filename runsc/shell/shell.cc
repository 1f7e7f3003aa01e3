// The interpreter: tokenizer, parser, executor and the interactive loop.
#include "runsc/shell/shell.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runsc/shell/internal.h"

namespace runsc::shell {
namespace {

constexpr char kStatusMarker = '\0';  // "\0?" in a word: expands to $?

enum class Tok { kWord, kSemi, kPipe, kAnd, kOr, kRedir };

struct Token {
  Tok type;
  std::string text;  // word text, or the operator ("<", ">", ">>", ">&")
  int fd = -1;       // for redirections: the fd before the operator
};

struct SyntaxError {
  std::string msg;
};

// Splits script into tokens. Returns false with *err set on a syntax error.
bool Tokenize(std::string_view s, std::vector<Token>* toks, std::string* err) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '#') {
      while (i < n && s[i] != '\n') ++i;
      continue;
    }
    if (c == '\n' || c == ';') {
      toks->push_back({Tok::kSemi, std::string(1, c)});
      ++i;
      continue;
    }
    if (c == '|') {
      if (i + 1 < n && s[i + 1] == '|') {
        toks->push_back({Tok::kOr, "||"});
        i += 2;
      } else {
        toks->push_back({Tok::kPipe, "|"});
        ++i;
      }
      continue;
    }
    if (c == '&') {
      if (i + 1 < n && s[i + 1] == '&') {
        toks->push_back({Tok::kAnd, "&&"});
        i += 2;
        continue;
      }
      *err =
          "syntax error near unexpected token `&' (background jobs are not "
          "supported)";
      return false;
    }
    if (c == '<' || c == '>') {
      Token t{Tok::kRedir, "", c == '<' ? 0 : 1};
      if (c == '>' && i + 1 < n && s[i + 1] == '>') {
        t.text = ">>";
        i += 2;
      } else if (c == '>' && i + 1 < n && s[i + 1] == '&') {
        t.text = ">&";
        i += 2;
      } else {
        t.text = std::string(1, c);
        ++i;
      }
      toks->push_back(t);
      continue;
    }
    // A word.
    std::string w;
    bool quoted = false;
    bool digits_only = true;
    size_t start = i;
    while (i < n) {
      c = s[i];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' ||
          c == '|' || c == '&' || c == '<' || c == '>')
        break;
      if (!isdigit(static_cast<unsigned char>(c))) digits_only = false;
      if (c == '\\') {
        if (i + 1 >= n) {
          ++i;
          break;
        }
        if (s[i + 1] != '\n') {
          w += s[i + 1];
          quoted = true;
        }
        i += 2;
        continue;
      }
      if (c == '\'') {
        quoted = true;
        size_t e = s.find('\'', i + 1);
        if (e == std::string_view::npos) {
          *err = "unexpected EOF while looking for matching `''";
          return false;
        }
        w.append(s.substr(i + 1, e - i - 1));
        i = e + 1;
        continue;
      }
      if (c == '"') {
        quoted = true;
        ++i;
        bool closed = false;
        while (i < n) {
          if (s[i] == '"') {
            closed = true;
            ++i;
            break;
          }
          if (s[i] == '\\' && i + 1 < n &&
              (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == '$' ||
               s[i + 1] == '`' || s[i + 1] == '\n')) {
            if (s[i + 1] != '\n') w += s[i + 1];
            i += 2;
            continue;
          }
          if (s[i] == '$' && i + 1 < n && s[i + 1] == '?') {
            w += kStatusMarker;
            w += '?';
            i += 2;
            continue;
          }
          w += s[i++];
        }
        if (!closed) {
          *err = "unexpected EOF while looking for matching `\"'";
          return false;
        }
        continue;
      }
      if (c == '$' && i + 1 < n && s[i + 1] == '?') {
        w += kStatusMarker;
        w += '?';
        i += 2;
        continue;
      }
      w += c;
      ++i;
    }
    if (digits_only && i > start && i < n && (s[i] == '<' || s[i] == '>') &&
        w.size() < 3) {
      // "2>file": an fd number glued to a redirection operator.
      Token t{Tok::kRedir, "", std::stoi(w)};
      char op = s[i];
      if (op == '>' && i + 1 < n && s[i + 1] == '>') {
        t.text = ">>";
        i += 2;
      } else if (op == '>' && i + 1 < n && s[i + 1] == '&') {
        t.text = ">&";
        i += 2;
      } else {
        t.text = std::string(1, op);
        ++i;
      }
      toks->push_back(t);
      continue;
    }
    if (w.empty() && !quoted) continue;  // only a line continuation
    toks->push_back({Tok::kWord, std::move(w)});
  }
  return true;
}

struct Redir {
  int fd;
  std::string op;  // "<", ">", ">>", ">&"
  std::string target;
};

struct Simple {
  std::vector<std::string> argv;
  std::vector<Redir> redirs;
};

struct Pipeline {
  std::vector<Simple> cmds;
};

struct AndOr {
  std::vector<Pipeline> pipes;
  std::vector<Tok> ops;  // between pipes: kAnd or kOr
};

std::string TokName(const Token& t) {
  if (t.type == Tok::kSemi && t.text == "\n") return "newline";
  return t.text;
}

bool Parse(const std::vector<Token>& toks, std::vector<AndOr>* out,
           std::string* err) {
  size_t i = 0;
  auto unexpected = [&](size_t k) {
    *err = Cat("syntax error near unexpected token `",
               k < toks.size() ? TokName(toks[k]) : "newline", "'");
    return false;
  };
  while (i < toks.size()) {
    if (toks[i].type == Tok::kSemi) {
      if (toks[i].text == ";") return unexpected(i);
      ++i;
      continue;
    }
    AndOr ao;
    for (;;) {
      Pipeline p;
      for (;;) {
        Simple sc;
        while (i < toks.size() &&
               (toks[i].type == Tok::kWord || toks[i].type == Tok::kRedir)) {
          if (toks[i].type == Tok::kWord) {
            sc.argv.push_back(toks[i].text);
            ++i;
          } else {
            if (i + 1 >= toks.size() || toks[i + 1].type != Tok::kWord) {
              return unexpected(i + 1);
            }
            sc.redirs.push_back({toks[i].fd, toks[i].text, toks[i + 1].text});
            i += 2;
          }
        }
        if (sc.argv.empty() && sc.redirs.empty()) return unexpected(i);
        p.cmds.push_back(std::move(sc));
        if (i < toks.size() && toks[i].type == Tok::kPipe) {
          ++i;
          while (i < toks.size() && toks[i].type == Tok::kSemi &&
                 toks[i].text == "\n")
            ++i;
          continue;
        }
        break;
      }
      ao.pipes.push_back(std::move(p));
      if (i < toks.size() &&
          (toks[i].type == Tok::kAnd || toks[i].type == Tok::kOr)) {
        ao.ops.push_back(toks[i].type);
        ++i;
        while (i < toks.size() && toks[i].type == Tok::kSemi &&
               toks[i].text == "\n")
          ++i;
        if (i >= toks.size()) {
          *err = "syntax error: unexpected end of file";
          return false;
        }
        continue;
      }
      break;
    }
    out->push_back(std::move(ao));
    if (i < toks.size()) {
      if (toks[i].type != Tok::kSemi) return unexpected(i);
      ++i;
    }
  }
  return true;
}

std::string Expand(const std::string& w, int status) {
  if (w.find(kStatusMarker) == std::string::npos) return w;
  std::string r;
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == kStatusMarker && i + 1 < w.size() && w[i + 1] == '?') {
      r += std::to_string(status);
      ++i;
    } else {
      r += w[i];
    }
  }
  return r;
}

const CommandInfo* Find(const std::string& name) {
  for (const CommandInfo& c : Commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

// Runs one simple command; input is its stdin (nullptr: the shell's).
int RunSimple(Shell& sh, const Simple& sc, std::string* input, std::string* out,
              std::string* err) {
  Task* t = sh.t;
  std::string in = input ? *input : std::string();
  bool in_from_shell = input == nullptr;
  std::string* cmd_out = out;
  std::string* cmd_err = err;
  std::string out_file_buf, err_file_buf;
  int out_fd = -1, err_fd = -1;
  auto close_fds = [&] {
    if (out_fd >= 0) t->Close(out_fd);
    if (err_fd >= 0 && err_fd != out_fd) t->Close(err_fd);
  };
  for (const Redir& r : sc.redirs) {
    std::string target = Expand(r.target, sh.last_status);
    if (r.op == "<") {
      std::string data;
      long rc = ReadPath(t, target, &data);
      if (rc < 0) {
        err->append(Cat("runsc: ", target, ": ", ErrStr(rc), "\n"));
        close_fds();
        return 1;
      }
      in = std::move(data);
      in_from_shell = false;
    } else if (r.op == ">&") {
      if (target != "1" && target != "2") {
        err->append(Cat("runsc: ", target, ": ambiguous redirect\n"));
        close_fds();
        return 1;
      }
      std::string* dst = target == "1" ? cmd_out : cmd_err;
      if (r.fd == 2)
        cmd_err = dst;
      else
        cmd_out = dst;
    } else {
      int flags = O_WRONLY | O_CREAT | (r.op == ">>" ? O_APPEND : O_TRUNC);
      long fd = t->Open(target.c_str(), flags, 0666);
      if (fd < 0) {
        err->append(Cat("runsc: ", target, ": ", ErrStr(fd), "\n"));
        close_fds();
        return 1;
      }
      if (r.fd == 2) {
        if (err_fd >= 0 && err_fd != out_fd) t->Close(err_fd);
        err_fd = static_cast<int>(fd);
        cmd_err = &err_file_buf;
      } else {
        if (out_fd >= 0 && out_fd != err_fd) t->Close(out_fd);
        out_fd = static_cast<int>(fd);
        cmd_out = &out_file_buf;
      }
    }
  }
  int status = 0;
  if (!sc.argv.empty()) {
    Cmd c;
    c.sh = &sh;
    c.t = t;
    for (const std::string& a : sc.argv)
      c.argv.push_back(Expand(a, sh.last_status));
    if (in_from_shell) {
      c.in = std::move(sh.io->in);
      sh.io->in.clear();
    } else {
      c.in = std::move(in);
    }
    c.out = cmd_out;
    c.err = cmd_err;
    const CommandInfo* info = Find(c.argv[0]);
    if (info == nullptr) {
      cmd_err->append(Cat("runsc: ", c.argv[0], ": command not found\n"));
      status = 127;
    } else {
      status = info->fn(c);
    }
    if (in_from_shell && !c.stdin_used) sh.io->in = std::move(c.in);
  }
  // A redirection's file refusing the output (EFBIG past RLIMIT_FSIZE,
  // ENOSPC) fails the command, as bash's "write error".
  auto flush = [&](int fd, const std::string& buf) {
    long r = WriteFd(t, fd, buf);
    if (r < 0) {
      err->append(Cat("runsc: ", sc.argv.empty() ? "" : sc.argv[0],
                      ": write error: ", ErrStr(r), "\n"));
      status = 1;
    }
  };
  if (out_fd >= 0) flush(out_fd, out_file_buf);
  if (err_fd >= 0 && err_fd != out_fd) flush(err_fd, err_file_buf);
  close_fds();
  return status;
}

int RunPipeline(Shell& sh, const Pipeline& p) {
  std::string data;
  bool have_input = false;
  int status = 0;
  for (size_t k = 0; k < p.cmds.size(); ++k) {
    std::string out, err;
    status = RunSimple(sh, p.cmds[k], have_input ? &data : nullptr, &out, &err);
    sh.io->Err(err);
    if (k + 1 == p.cmds.size()) {
      sh.io->Out(out);
    } else {
      data = std::move(out);
      have_input = true;
    }
  }
  return status;
}

int Severity(int status) { return status == 0 ? 0 : status == 1 ? 1 : 2; }

int RunParsed(Shell& sh, const std::vector<AndOr>& lists) {
  int worst = 0;
  for (const AndOr& ao : lists) {
    int status = RunPipeline(sh, ao.pipes[0]);
    sh.last_status = status;
    for (size_t k = 0; k < ao.ops.size(); ++k) {
      bool run = ao.ops[k] == Tok::kAnd ? status == 0 : status != 0;
      if (run) {
        status = RunPipeline(sh, ao.pipes[k + 1]);
        sh.last_status = status;
      }
    }
    worst = std::max(worst, Severity(status));
  }
  return worst;
}

int RunWithShell(Shell& sh, std::string_view script) {
  std::vector<Token> toks;
  std::string err;
  std::vector<AndOr> lists;
  if (!Tokenize(script, &toks, &err) || !Parse(toks, &lists, &err)) {
    sh.io->Err(Cat("runsc: ", err, "\n"));
    sh.last_status = 2;
    return 2;
  }
  return RunParsed(sh, lists);
}

// ---- interactive ----

void WriteHost(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

// Reads one line from a terminal in raw mode with simple editing. Returns
// false at end of input (^D on an empty line, or EOF).
// Removes the last character (a whole UTF-8 sequence) from `line` and
// from the screen (one column: no wide characters).
void EraseChar(int out_fd, std::string* line) {
  if (line->empty()) return;
  while (line->size() > 1 &&
         (static_cast<unsigned char>(line->back()) & 0xc0) == 0x80) {
    line->pop_back();
  }
  line->pop_back();
  WriteHost(out_fd, "\b \b");
}

// Reads one line in raw mode with echo and editing: backspace, ^U, ^W,
// ^L (clears the screen and redraws `prompt` and the line), ^C, ^D.
bool EditLine(int in_fd, int out_fd, const std::string& prompt,
              std::string* line) {
  line->clear();
  for (;;) {
    char c;
    ssize_t n = read(in_fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return !line->empty();
    switch (c) {
      case '\r':
      case '\n':
        WriteHost(out_fd, "\r\n");
        return true;
      case 4:  // ^D
        if (line->empty()) {
          WriteHost(out_fd, "\r\n");
          return false;
        }
        break;
      case 3:  // ^C
        WriteHost(out_fd, "^C\r\n");
        line->clear();
        *line = std::string(1, '\x03');
        return true;
      case 127:
      case 8:  // backspace
        EraseChar(out_fd, line);
        break;
      case 21:  // ^U
        while (!line->empty()) EraseChar(out_fd, line);
        break;
      case 23: {  // ^W
        while (!line->empty() && line->back() == ' ') EraseChar(out_fd, line);
        while (!line->empty() && line->back() != ' ') EraseChar(out_fd, line);
        break;
      }
      case 12:  // ^L: as bash, clear and go on editing the same line
        WriteHost(out_fd, "\x1b[H\x1b[2J" + prompt + *line);
        break;
      default:
        if (static_cast<unsigned char>(c) >= 32 || c == '\t') {
          *line += c;
          WriteHost(out_fd, std::string_view(&c, 1));
        }
    }
  }
}

}  // namespace

int RunScript(Task* task, std::string_view script, Io& io) {
  Shell sh{task, &io, 0};
  return RunWithShell(sh, script);
}

std::vector<std::string> CommandNames() {
  std::vector<std::string> names;
  for (const CommandInfo& c : Commands()) names.push_back(c.name);
  std::sort(names.begin(), names.end());
  return names;
}

int RunInteractive(Task* task, int in_fd, int out_fd, int err_fd) {
  Io io;
  bool tty = isatty(in_fd);
  io.out = [&](std::string_view s) {
    if (!tty) return WriteHost(out_fd, s);
    std::string r;  // raw mode: \n needs a \r
    for (char c : s) {
      if (c == '\n') r += '\r';
      r += c;
    }
    WriteHost(out_fd, r);
  };
  io.err = [&](std::string_view s) {
    if (!tty) return WriteHost(err_fd, s);
    std::string r;
    for (char c : s) {
      if (c == '\n') r += '\r';
      r += c;
    }
    WriteHost(err_fd, r);
  };
  Shell sh{task, &io, 0};
  int last = 0;
  if (!tty) {
    std::string buf, pending;
    char chunk[4096];
    for (;;) {
      ssize_t n = read(in_fd, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        pending += buf.substr(0, nl + 1);
        buf.erase(0, nl + 1);
        // Keep reading while a quote is open.
        std::vector<Token> toks;
        std::string err;
        if (!Tokenize(pending, &toks, &err) &&
            err.find("unexpected EOF") != std::string::npos)
          continue;
        last = RunWithShell(sh, pending);
        pending.clear();
      }
    }
    pending += buf;
    if (!pending.empty()) last = RunWithShell(sh, pending);
    return last;
  }
  struct termios saved, raw;
  bool restore = tcgetattr(in_fd, &saved) == 0;
  if (restore) {
    raw = saved;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG | IEXTEN);
    raw.c_iflag &= ~static_cast<tcflag_t>(ICRNL | IXON);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    tcsetattr(in_fd, TCSAFLUSH, &raw);
  }
  std::string line, pending;
  for (;;) {
    const std::string prompt = pending.empty() ? "runsc> " : "> ";
    WriteHost(out_fd, prompt);
    if (!EditLine(in_fd, out_fd, prompt, &line)) break;
    if (line == "\x03") {
      pending.clear();
      continue;
    }
    pending += line;
    pending += '\n';
    std::vector<Token> toks;
    std::string err;
    if (!Tokenize(pending, &toks, &err) &&
        err.find("unexpected EOF") != std::string::npos)
      continue;
    if (pending == "exit\n") break;
    last = RunWithShell(sh, pending);
    pending.clear();
  }
  if (restore) tcsetattr(in_fd, TCSAFLUSH, &saved);
  return last;
}

}  // namespace runsc::shell
