#include "runsc/sandbox/sandbox.h"

#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runsc/logging/log.h"
#include "runsc/sandbox/compose.h"
#include "runsc/shell/shell.h"
#include "runsc/specutils/specutils.h"
#include "sentry/kernel/task.h"

namespace runsc::sandbox {

namespace {

struct DoFlags {
  SourceFlags source;
  std::vector<std::string> script;
};

// 0 ok, 2 usage error (message printed).
int ParseDoFlags(int argc, char** argv, DoFlags* f) {
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.empty() || a[0] != '-' || a == "-") break;
    switch (ParseSourceFlag("do", argc, argv, &i, &f->source)) {
      case FlagResult::kTaken:
        continue;
      case FlagResult::kUsageError:
        return 2;
      case FlagResult::kNotMine:
        std::fprintf(
            stderr, "runsc do: unknown flag \"%.*s\" (see \"runsc help do\")\n",
            static_cast<int>(a.size()), a.data());
        return 2;
    }
  }
  if (!CheckSourceFlags("do", f->source)) return 2;
  for (; i < argc; ++i) f->script.push_back(argv[i]);
  return 0;
}

int RunDo(const DoFlags& f) {
  auto sb = Sandbox::Compose(f.source);
  if (!sb.ok()) {
    const absl::string_view msg = sb.status().message();
    if (logging::JsonEnabled()) {
      Log("error", std::string_view(msg.data(), msg.size()));
    } else {
      std::fprintf(stderr, "runsc do: %.*s\n", static_cast<int>(msg.size()),
                   msg.data());
    }
    return 1;
  }
  sentry::kernel::Task& task = (*sb)->init();
  int status;
  if (f.script.empty()) {
    status = shell::RunInteractive(&task, 0, 1, 2);
  } else {
    shell::Io io;
    io.out = [](std::string_view s) { fwrite(s.data(), 1, s.size(), stdout); };
    io.err = [](std::string_view s) { fwrite(s.data(), 1, s.size(), stderr); };
    status = shell::RunScript(&task, absl::StrJoin(f.script, " "), io);
  }
  fflush(stdout);
  return status;
}

}  // namespace

const char* DoUsage() {
  static const std::string usage = absl::StrCat(
      "runsc do ", kSourceFlagsUsage,
      "\n         [--] [SCRIPT...]\n"
      "  Composes a sandbox's filesystem and runs SCRIPT in it (commands\n"
      "  separated by ';' or newlines, with quotes, |, >, >>, <, && and "
      "||);\n"
      "  without SCRIPT, reads commands from standard input. With no "
      "source\n"
      "  flag the host's / is served read-only under a tmpfs overlay.\n"
      "  ADDR is tcp:HOST:PORT or unix:PATH. Exit status: 0 if every "
      "command\n"
      "  succeeded, 1 if one failed, 2 for usage errors.\n");
  return usage.c_str();
}

int DoMain(int argc, char** argv) {
  DoFlags f;
  if (int r = ParseDoFlags(argc, argv, &f); r != 0) return r;
  signal(SIGPIPE, SIG_IGN);
  ExitOnSignal();
  return RunDo(f);
}

const char* SpecUsage() {
  return "runsc spec [--rootfs=DIR]\n"
         "  Writes a default OCI runtime spec (config.json) to standard "
         "output,\n"
         "  as `runc spec` does: sh in a read-only rootfs (default "
         "\"rootfs\").\n";
}

int SpecMain(int argc, char** argv) {
  std::string rootfs = "rootfs";
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.rfind("--rootfs=", 0) == 0) {
      rootfs = std::string(a.substr(9));
    } else if (a == "--rootfs" && i + 1 < argc) {
      rootfs = argv[++i];
    } else {
      std::fprintf(stderr, "runsc spec: unknown argument \"%s\"\n", argv[i]);
      return 2;
    }
  }
  std::printf("%s\n",
              specutils::SpecToJson(specutils::DefaultSpec(rootfs)).c_str());
  return 0;
}

}  // namespace runsc::sandbox
