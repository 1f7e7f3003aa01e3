// runsc: the sandbox's command-line tool. Each subcommand is one row of
// kSubcommands; add new ones there.
#include <cstdio>
#include <cstring>
#include <string_view>

#include "runsc/fsgofer/gofer_main.h"
#include "runsc/fuse/mount.h"
#include "runsc/sandbox/sandbox.h"

namespace {

constexpr char kVersion[] = "runsc version 0.2.0";

struct Subcommand {
  const char* name;
  const char* summary;
  // argv[0] is the subcommand's name.
  int (*run)(int argc, char** argv);
  // Full usage for `runsc help NAME`.
  const char* (*usage)();
};

int HelpMain(int argc, char** argv);

const char* HelpUsage() {
  return "runsc help [SUBCOMMAND]\n  Lists the subcommands, or describes "
         "one.\n";
}

constexpr Subcommand kSubcommands[] = {
    {"do", "compose a sandbox's filesystem and run commands in it",
     runsc::sandbox::DoMain, runsc::sandbox::DoUsage},
    {"gofer", "serve a host directory over 9P2000.L, confined to it",
     fsgofer::GoferMain, fsgofer::GoferUsage},
    {"help", "list subcommands or describe one", HelpMain, HelpUsage},
    {"mount", "serve a sandbox's filesystem at a host path through FUSE",
     runsc::fuse::MountMain, runsc::fuse::MountUsage},
    {"spec", "write a default OCI spec (config.json) to stdout",
     runsc::sandbox::SpecMain, runsc::sandbox::SpecUsage},
};

const Subcommand* Find(std::string_view name) {
  for (const auto& s : kSubcommands) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

void PrintUsage(FILE* out) {
  std::fprintf(out,
               "usage: runsc SUBCOMMAND [FLAGS...] | runsc --version\n\n"
               "subcommands:\n");
  for (const auto& s : kSubcommands) {
    std::fprintf(out, "  %-10s %s\n", s.name, s.summary);
  }
}

int HelpMain(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stdout);
    return 0;
  }
  const Subcommand* s = Find(argv[1]);
  if (s == nullptr) {
    std::fprintf(stderr, "runsc help: unknown subcommand \"%s\"\n", argv[1]);
    return 2;
  }
  std::fputs(s->usage(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return 2;
  }
  std::string_view cmd = argv[1];
  if (cmd == "--version" || cmd == "version") {
    std::printf("%s\n", kVersion);
    return 0;
  }
  if (cmd == "--help" || cmd == "-h") return HelpMain(1, argv + 1);
  const Subcommand* s = Find(cmd);
  if (s == nullptr) {
    std::fprintf(stderr,
                 "runsc: unknown subcommand \"%s\" (see \"runsc help\")\n",
                 argv[1]);
    return 2;
  }
  return s->run(argc - 1, argv + 1);
}
