"""Expose system (apt-installed) C/C++ libraries as ordinary Bazel targets.

`system_libs` is a repository rule that runs pkg-config when the repository is
fetched and generates one `cc_library` per entry of `libs`, carrying the
module's include directories, defines and link flags. Depend on them as e.g.
`@system_libs//:absl` or `@system_libs//:gtest_main`.

Nothing is compiled: the headers come from /usr/include and the libraries from
the system library directory. Install the packages with tools/setup.sh.
"""

# Target name -> pkg-config modules. A module ending in "*" is a prefix glob
# over `pkg-config --list-all` (so "absl_*" is every installed abseil module).
DEFAULT_LIBS = {
    "absl": ["absl_*"],
    "benchmark": ["benchmark"],
    "benchmark_main": ["benchmark"],
    "fuse3": ["fuse3"],
    "gmock": ["gmock"],
    "gmock_main": ["gmock_main"],
    "gtest": ["gtest"],
    "gtest_main": ["gtest_main"],
    "seccomp": ["libseccomp"],
}

# Target name -> libraries without a pkg-config module of their own; they are
# linked (as -l<name>, before the module's libraries) and must exist in the
# first module's libdir.
DEFAULT_EXTRA_LIBS = {
    # Debian ships libbenchmark_main.a but no benchmark_main.pc.
    "benchmark_main": ["benchmark_main"],
}

# Linked into every target: the static gtest/gmock archives need it, and it is
# harmless for everything else.
_COMMON_LINKOPTS = ["-pthread"]

def _split_ws(s):
    """str.split() without arguments (Bazel 4's Starlark requires a separator)."""
    s = s.replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return [w for w in s.split(" ") if w]

def _fail(ctx, msg):
    fail("\n@%s: %s\nHint: run tools/setup.sh to install the system packages." % (ctx.name, msg))

def _run(ctx, args, what):
    res = ctx.execute(args)
    if res.return_code != 0:
        _fail(ctx, "%s failed (exit %d): %s\n%s" % (
            " ".join([str(a) for a in args]),
            res.return_code,
            what,
            (res.stderr + res.stdout).strip(),
        ))
    return res.stdout

def _pkg_config(ctx, pkg_config, args):
    return _run(ctx, [pkg_config] + args, "pkg-config query").strip()

def _all_modules(ctx, pkg_config):
    out = _pkg_config(ctx, pkg_config, ["--list-all"])
    return sorted([line.split(" ")[0] for line in out.splitlines() if line.strip()])

def _expand_modules(ctx, pkg_config, target, modules, all_modules):
    result = []
    for m in modules:
        if m.endswith("*"):
            prefix = m[:-1]
            matched = [a for a in all_modules if a.startswith(prefix)]
            if not matched:
                _fail(ctx, "pkg-config knows no module matching '%s' (needed for @%s//:%s)." % (m, ctx.name, target))
            result.extend(matched)
        else:
            res = ctx.execute([pkg_config, "--exists", "--print-errors", m])
            if res.return_code != 0:
                _fail(ctx, "pkg-config does not know module '%s' (needed for @%s//:%s):\n%s" % (
                    m,
                    ctx.name,
                    target,
                    (res.stderr + res.stdout).strip(),
                ))
            result.append(m)
    return result

def _sanitize(path):
    out = ""
    for c in path.elems():
        out += c if c.isalnum() else "_"
    return out.strip("_")

def _starlark_list(items, indent = "        "):
    if not items:
        return "[]"
    return "[\n" + "".join(["%s%s,\n" % (indent, repr(i)) for i in items]) + indent[:-4] + "]"

def _gen_library(ctx, pkg_config, name, modules, extra_libs):
    cflags = _split_ws(_pkg_config(ctx, pkg_config, ["--cflags"] + modules))
    libs = _split_ws(_pkg_config(ctx, pkg_config, ["--libs"] + modules))
    versions = {}
    for m in modules:
        v = _pkg_config(ctx, pkg_config, ["--modversion", m])
        versions.setdefault(v, []).append(m)

    defines = []
    includes = []
    hdr_globs = []
    ignored = []
    for flag in cflags:
        if flag.startswith("-D"):
            defines.append(flag[2:])
        elif flag.startswith("-I") or flag.startswith("-isystem"):
            path = flag[2:] if flag.startswith("-I") else flag[len("-isystem"):]

            # Bazel can only propagate include paths that live inside the
            # repository, so symlink the directory in.
            link = "_include/" + _sanitize(path)
            if not ctx.path(link).exists:
                ctx.symlink(path, link)
            includes.append(link)
            hdr_globs.append(link + "/**")
        elif flag == "-pthread":
            pass  # Covered by _COMMON_LINKOPTS.
        else:
            ignored.append(flag)

    linkopts = []
    if extra_libs:
        libdir = _pkg_config(ctx, pkg_config, ["--variable=libdir", modules[0]])
        for lib in extra_libs:
            found = [
                f
                for f in ["lib%s.so" % lib, "lib%s.a" % lib]
                if ctx.path("%s/%s" % (libdir, f)).exists
            ]
            if not found:
                _fail(ctx, "library 'lib%s' (needed for @%s//:%s) not found in %s." % (lib, ctx.name, name, libdir))
            linkopts.append("-l" + lib)

    # No --as-needed: Bazel may place these flags before the objects that use
    # them, and the linker would then drop libraries that are needed.
    linkopts = linkopts + libs
    linkopts += [f for f in _COMMON_LINKOPTS if f not in linkopts]

    hdrs = "glob(%s)" % repr(hdr_globs) if hdr_globs else "[]"
    comment = "\n".join([
        "# pkg-config %s (version %s)" % (" ".join(mods) if len(mods) <= 4 else "%s ... %s [%d modules]" % (mods[0], mods[-1], len(mods)), v)
        for v, mods in versions.items()
    ])
    if ignored:
        comment += "\n# Ignored (not propagatable) cflags: " + " ".join(ignored)
    return """{comment}
cc_library(
    name = {name},
    hdrs = {hdrs},
    defines = {defines},
    includes = {includes},
    linkopts = {linkopts},
)
""".format(
        comment = comment,
        name = repr(name),
        hdrs = hdrs,
        defines = _starlark_list(defines),
        includes = _starlark_list(includes),
        linkopts = _starlark_list(linkopts),
    )

def _gen_llvm_support(ctx):
    """`llvm_support`: LLVM's Support library (llvm::vfs and friends).

    LLVM has no pkg-config module; llvm-config-14 says where it is. Only the
    include directory and the link flags are carried: LLVM's own compile
    flags (-std=c++14, -fno-exceptions) are not propagated, so they stay out
    of every dependent's build. Used by //tools/bench only.
    """
    llvm_config = ctx.which("llvm-config-14")
    if llvm_config == None:
        return "# llvm-config-14 not found: no llvm_support (install llvm-14-dev)."
    includedir = _run(ctx, [llvm_config, "--includedir"], "llvm-config").strip()
    libdir = _run(ctx, [llvm_config, "--libdir"], "llvm-config").strip()
    libs = _split_ws(_run(ctx, [llvm_config, "--libs", "support"], "llvm-config"))
    link = "_include/" + _sanitize(includedir)
    if not ctx.path(link).exists:
        ctx.symlink(includedir, link)
    linkopts = ["-L" + libdir, "-Wl,-rpath," + libdir] + libs + _COMMON_LINKOPTS
    return """# llvm-config-14 (LLVM Support: include dir and link flags only)
cc_library(
    name = "llvm_support",
    hdrs = glob({glob}),
    includes = [{inc}],
    linkopts = {linkopts},
)
""".format(glob = repr([link + "/llvm/**", link + "/llvm-c/**"]), inc = repr(link), linkopts = _starlark_list(linkopts))

def _system_libs_impl(ctx):
    pkg_config = ctx.which("pkg-config")
    if pkg_config == None:
        _fail(ctx, "pkg-config not found in PATH.")

    libs = ctx.attr.libs or DEFAULT_LIBS
    extra = ctx.attr.extra_libs if ctx.attr.libs else DEFAULT_EXTRA_LIBS
    all_modules = _all_modules(ctx, pkg_config)

    chunks = [
        "# Generated by //third_party:system_libs.bzl from pkg-config. Do not edit.",
        'package(default_visibility = ["//visibility:public"])',
    ]
    for name in sorted(libs.keys()):
        modules = _expand_modules(ctx, pkg_config, name, libs[name], all_modules)
        chunks.append(_gen_library(ctx, pkg_config, name, modules, extra.get(name, [])))

    chunks.append(_gen_llvm_support(ctx))

    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("BUILD.bazel", "\n".join(chunks))

system_libs = repository_rule(
    implementation = _system_libs_impl,
    attrs = {
        "libs": attr.string_list_dict(
            doc = "Target name -> pkg-config modules (a trailing '*' globs). Defaults to DEFAULT_LIBS.",
        ),
        "extra_libs": attr.string_list_dict(
            doc = "Target name -> extra -l libraries without a .pc file (only used together with `libs`).",
        ),
    },
    environ = ["PATH", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "PKG_CONFIG_SYSROOT_DIR"],
    local = True,
)
