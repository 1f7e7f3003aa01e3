"""@com_google_protobuf backed by the system protobuf (apt: protobuf-compiler,
libprotobuf-dev) instead of building protobuf from source.

The generated repository provides :protoc (wrapping the system protoc),
:protobuf / :protobuf_lite (linking the system libraries, found via
pkg-config), the proto_lang_toolchain :cc_toolchain that native
cc_proto_library uses by default, and proto_library targets for the
well-known types (:any_proto, :timestamp_proto, ...).
"""

# name -> (file under google/protobuf/, deps)
_WELL_KNOWN_PROTOS = {
    "any_proto": ("any.proto", []),
    "api_proto": ("api.proto", ["source_context_proto", "type_proto"]),
    "compiler_plugin_proto": ("compiler/plugin.proto", ["descriptor_proto"]),
    "descriptor_proto": ("descriptor.proto", []),
    "duration_proto": ("duration.proto", []),
    "empty_proto": ("empty.proto", []),
    "field_mask_proto": ("field_mask.proto", []),
    "source_context_proto": ("source_context.proto", []),
    "struct_proto": ("struct.proto", []),
    "timestamp_proto": ("timestamp.proto", []),
    "type_proto": ("type.proto", ["any_proto", "source_context_proto"]),
    "wrappers_proto": ("wrappers.proto", []),
}

def _split_ws(s):
    """str.split() without arguments (Bazel 4's Starlark requires a separator)."""
    s = s.replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return [w for w in s.split(" ") if w]

def _fail(ctx, msg):
    fail("\n@%s: %s\nHint: run tools/setup.sh to install protobuf-compiler and libprotobuf-dev." % (ctx.name, msg))

def _run(ctx, args):
    res = ctx.execute(args)
    if res.return_code != 0:
        _fail(ctx, "%s failed (exit %d):\n%s" % (
            " ".join([str(a) for a in args]),
            res.return_code,
            (res.stderr + res.stdout).strip(),
        ))
    return res.stdout.strip()

def _linkopts(ctx, pkg_config, module):
    res = ctx.execute([pkg_config, "--exists", "--print-errors", module])
    if res.return_code != 0:
        _fail(ctx, "pkg-config does not know module '%s':\n%s" % (module, (res.stderr + res.stdout).strip()))
    opts = _split_ws(_run(ctx, [pkg_config, "--libs", module]))
    if "-pthread" not in opts:
        opts.append("-pthread")
    return repr(opts)

def _system_protobuf_impl(ctx):
    pkg_config = ctx.which("pkg-config")
    if pkg_config == None:
        _fail(ctx, "pkg-config not found in PATH.")
    protoc = ctx.which("protoc")
    if protoc == None:
        _fail(ctx, "protoc not found in PATH.")

    lib_version = _run(ctx, [pkg_config, "--modversion", "protobuf"])
    protoc_version = _run(ctx, [protoc, "--version"])

    # Generated code #errors out unless protoc and the runtime match.
    if protoc_version.split(" ")[-1] != lib_version:
        _fail(ctx, "%s (%s) does not match libprotobuf %s." % (protoc, protoc_version, lib_version))

    includedir = _run(ctx, [pkg_config, "--variable=includedir", "protobuf"])
    rules = []
    targets = []
    files = []
    for name in sorted(_WELL_KNOWN_PROTOS.keys()):
        src, deps = _WELL_KNOWN_PROTOS[name]
        path = ctx.path("%s/google/protobuf/%s" % (includedir, src))
        if not path.exists:
            continue  # e.g. compiler/plugin.proto needs libprotoc-dev.
        dst = "google/protobuf/" + src
        ctx.symlink(path, dst)
        targets.append(":" + name)
        files.append(dst)
        rules.append("""proto_library(
    name = "{name}",
    srcs = ["{src}"],
    deps = {deps},
)
""".format(name = name, src = dst, deps = repr([":" + d for d in deps])))
    if "google/protobuf/descriptor.proto" not in files:
        _fail(ctx, "well-known .proto files not found under %s/google/protobuf." % includedir)

    ctx.template("protoc.sh", ctx.attr._protoc_tpl, {
        "%{PROTOC}": str(protoc),
        "%{PROTOC_VERSION}": protoc_version,
    }, executable = True)
    ctx.template("BUILD.bazel", ctx.attr._build_tpl, {
        "%{PROTOBUF_VERSION}": "protobuf " + lib_version,
        "%{PROTOBUF_LINKOPTS}": _linkopts(ctx, pkg_config, "protobuf"),
        "%{PROTOBUF_LITE_LINKOPTS}": _linkopts(ctx, pkg_config, "protobuf-lite"),
        "%{WELL_KNOWN_PROTO_TARGETS}": repr(targets),
        "%{WELL_KNOWN_PROTO_FILES}": repr(files),
        "%{WELL_KNOWN_PROTOS}": "\n".join(rules),
    })
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)

system_protobuf = repository_rule(
    implementation = _system_protobuf_impl,
    attrs = {
        "_build_tpl": attr.label(default = Label("//third_party/protobuf:BUILD.protobuf.bazel")),
        "_protoc_tpl": attr.label(default = Label("//third_party/protobuf:protoc.sh.tpl")),
    },
    environ = ["PATH", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "PKG_CONFIG_SYSROOT_DIR"],
    local = True,
)
