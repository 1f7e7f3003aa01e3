#!/bin/bash
# runsc mount, end to end: the real binary serving a composed sandbox
# (a busybox-static rootfs through a gofer, a tmpfs overlay, /proc, /tmp)
# at a host directory, and real programs on it: coreutils, tar, find,
# python3, setpriv, getfattr/setfattr, and a chroot running a busybox
# shell script. Needs root and /dev/fuse.
set -uo pipefail
export PATH="/usr/sbin:/sbin:/usr/bin:/bin"

RUNSC="${TEST_SRCDIR}/__main__/runsc/runsc"
BUSYBOX=/bin/busybox
PY=/usr/bin/python3

if [[ "$(id -u)" -ne 0 || ! -c /dev/fuse ]]; then
  echo "SKIP: needs root and /dev/fuse"
  exit 0
fi

# Under /tmp, not TEST_TMPDIR: the unprivileged checks must reach it.
T="$(mktemp -d /tmp/runsc_mount_test.XXXXXX)"
chmod 0755 "${T}"  # the unprivileged checks walk through it
ROOTFS="${T}/rootfs"
MNT="${T}/mnt"
failures=0
mkdir -p "${MNT}"

cleanup() {
  grep -q " ${MNT} " /proc/mounts && umount -l "${MNT}"
  pkill -TERM -f "runsc gofer --root=${ROOTFS}" 2>/dev/null
  rm -rf "${T}"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect_eq WHAT GOT WANT
expect_eq() {
  if [[ "$2" != "$3" ]]; then
    fail "$1: got [$2], want [$3]"
  else
    echo "ok: $1"
  fi
}

mounted() { grep -q " ${MNT} fuse" /proc/mounts; }

gofers() { pgrep -fc "runsc gofer --root=${ROOTFS}" || true; }

# The rootfs: busybox-static and a little data.
make_rootfs() {
  rm -rf "${ROOTFS}"
  mkdir -p "${ROOTFS}"/{bin,etc,data,tmp,proc,sys,dev}
  cp "${BUSYBOX}" "${ROOTFS}/bin/busybox"
  for c in sh cat echo ls mkdir rm mv grep wc stat head sort id touch; do
    ln -s busybox "${ROOTFS}/bin/${c}"
  done
  echo 'root:x:0:0:root:/:/bin/sh' >"${ROOTFS}/etc/passwd"
  echo original >"${ROOTFS}/data/f"
  chmod 0755 "${ROOTFS}/data"
}

tree_digest() {
  (cd "$1" && find . -printf '%p %y %m %s %l\n' | sort &&
    find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum
}

start() {
  "${RUNSC}" mount --rootfs="${ROOTFS}" --overlay --daemon -o allow_other \
    "$@" "${MNT}"
}

stop() {
  umount "${MNT}"
  for _ in $(seq 50); do
    [[ "$(gofers)" -eq 0 ]] && return 0
    sleep 0.1
  done
  fail "gofer still running after unmount"
}

make_rootfs
before="$(tree_digest "${ROOTFS}")"

# ---- Done when: a chroot shell sees the sandbox's mountinfo, writes
# into the overlay, and the host rootfs is unchanged.
start || fail "runsc mount --daemon failed"
mounted || fail "not mounted after --daemon returned"
cat >"${MNT}/tmp/script.sh" <<'EOF'
cat /proc/self/mountinfo > /tmp/mountinfo
echo changed > /data/f
echo new > /data/g
mkdir /data/d && echo deep > /data/d/h
rm /bin/wc
cat /data/f /data/g /data/d/h
ls /data | sort | head -5
id -u
EOF
out="$(chroot "${MNT}" /bin/sh /tmp/script.sh 2>&1)"
expect_eq "chroot script output" "${out}" "$(printf 'changed\nnew\ndeep\nd\nf\ng\n0')"
mi="$(cat "${MNT}/tmp/mountinfo")"
grep -q '^1 1 [0-9:]* / / rw,relatime - overlay' <<<"${mi}" ||
  fail "mountinfo has no overlay root: ${mi}"
for m in /proc /sys /dev /tmp; do
  grep -q " ${m} " <<<"${mi}" || fail "mountinfo lacks ${m}: ${mi}"
done
grep -q "fuse" <<<"${mi}" && fail "mountinfo is the host's, not the sandbox's"
expect_eq "host rootfs unchanged" "$(tree_digest "${ROOTFS}")" "${before}"
expect_eq "overlay write visible outside the chroot" "$(cat "${MNT}/data/f")" changed
[[ -e "${MNT}/bin/wc" ]] && fail "removed file still visible (whiteout)"

# ---- coreutils on the mount.
SRC="${T}/src"
mkdir -p "${SRC}/a/b/c" "${SRC}/empty"
head -c 300000 /dev/urandom >"${SRC}/a/big"
echo hello >"${SRC}/a/b/small"
printf '' >"${SRC}/a/b/c/zero"
chmod 0751 "${SRC}/a/b"
chmod 0600 "${SRC}/a/b/small"
ln -s ../big "${SRC}/a/b/link"
ln "${SRC}/a/big" "${SRC}/a/hard"
touch -d '2001-02-03 04:05:06' "${SRC}/a/b/small"
W="${MNT}/data/w"
mkdir "${W}" || fail "mkdir on the mount"
cp -a "${SRC}" "${W}/copy" || fail "cp -a into the mount"
diff -r --no-dereference "${SRC}" "${W}/copy" || fail "diff -r after cp -a"
# Each path's type, mode, link count, size (not of directories: tmpfs
# counts entries), mtime (to the nanosecond, or with a second argument to
# the second, as tar keeps it) and symlink target, one a line.
stat_list() {
  "${PY}" - "$@" <<'PYEOF'
import os, stat, sys
top, secs = sys.argv[1], len(sys.argv) > 2
out = []
for d, dirs, files in os.walk(top):
    for n in ["."] if d == top else []:
        pass
    for name in [None] + dirs + files:
        p = d if name is None else os.path.join(d, name)
        if name is None and d != top:
            continue
        st = os.lstat(p)
        t = st.st_mtime_ns // 10**9 if secs else st.st_mtime_ns
        size = "" if stat.S_ISDIR(st.st_mode) else st.st_size
        link = os.readlink(p) if stat.S_ISLNK(st.st_mode) else ""
        out.append("%s %o %d %s %d %s" % (os.path.relpath(p, top), st.st_mode,
                                         st.st_nlink, size, t, link))
print("\n".join(sorted(out)))
PYEOF
}
expect_eq "cp -a keeps modes, sizes, links, times" \
  "$(stat_list "${W}/copy")" "$(stat_list "${SRC}")"
expect_eq "hard link shares the inode" \
  "$(stat -c %i "${W}/copy/a/big")" "$(stat -c %i "${W}/copy/a/hard")"
expect_eq "sha256sum" "$(cd "${W}/copy" && sha256sum a/big a/b/small)" \
  "$(cd "${SRC}" && sha256sum a/big a/b/small)"
ls -lR "${W}/copy" >"${T}/lslr" || fail "ls -lR"
grep -q 'link -> ../big' "${T}/lslr" || fail "ls -lR shows no symlink"
touch -d '1999-12-31 23:59:58' "${W}/copy/a/big"
expect_eq "touch -d" "$(stat -c %Y "${W}/copy/a/big")" \
  "$(date -d '1999-12-31 23:59:58' +%s)"
chmod 0704 "${W}/copy/a/big"
expect_eq "chmod" "$(stat -c %a "${W}/copy/a/big")" 704
ln "${W}/copy/a/big" "${W}/copy/a/hard2" && ln -s nowhere "${W}/copy/dangling"
expect_eq "ln: link count" "$(stat -c %h "${W}/copy/a/big")" 3
expect_eq "ln -s" "$(readlink "${W}/copy/dangling")" nowhere
mv "${W}/copy/a/b" "${W}/copy/moved" || fail "mv of a directory"
expect_eq "mv keeps contents" "$(cat "${W}/copy/moved/small")" hello
[[ -e "${W}/copy/a/b" ]] && fail "mv left the source"
expect_eq "find" "$(cd "${W}/copy" && find . -type f | sort | tr '\n' ' ')" \
  "./a/big ./a/hard ./a/hard2 ./moved/c/zero ./moved/small "
rm -r "${W}/copy/moved" || fail "rm -r"
[[ -e "${W}/copy/moved" ]] && fail "rm -r left the directory"
# Errors come back as the VFS's errnos.
expect_eq "rmdir of a non-empty directory" \
  "$(rmdir "${W}/copy/a" 2>&1 | sed 's/.*: //')" "Directory not empty"
expect_eq "mkdir of an existing name" \
  "$(mkdir "${W}/copy/a" 2>&1 | sed 's/.*: //')" "File exists"
expect_eq "cat of a missing file" \
  "$(cat "${W}/copy/nope" 2>&1 | sed 's/.*: //')" "No such file or directory"

# ---- tar: create from the mount, extract into it, compare.
tar -C "${SRC}" -cf "${T}/src.tar" . || fail "tar create on the host"
mkdir "${W}/untar" && tar -C "${W}/untar" -xpf "${T}/src.tar" ||
  fail "tar extract into the mount"
expect_eq "tar extract into the mount" "$(stat_list "${W}/untar" s)" \
  "$(stat_list "${SRC}" s)"
diff -r --no-dereference "${SRC}" "${W}/untar" || fail "diff after untar"
mkdir "${T}/out" && tar -C "${W}/untar" -cf - . | tar -C "${T}/out" -xpf - ||
  fail "tar create from the mount"
expect_eq "tar create from the mount" "$(stat_list "${T}/out" s)" \
  "$(stat_list "${SRC}" s)"

# ---- python3: os.walk, renameat2 flags, SEEK_DATA/SEEK_HOLE, locks.
"${PY}" - "${SRC}" "${W}/untar" "${MNT}/tmp" <<'EOF' || fail "python checks"
import ctypes, errno, fcntl, os, sys, time
src, dst = sys.argv[1], sys.argv[2]
def walk(top):
    out = []
    for d, dirs, files in os.walk(top):
        rel = os.path.relpath(d, top)
        for f in sorted(files):
            st = os.lstat(os.path.join(d, f))
            out.append("%s/%s %d %o" % (rel, f, st.st_size, st.st_mode))
        out.append("%s: %s" % (rel, sorted(dirs)))
    return sorted(out)
assert walk(src) == walk(dst), "os.walk differs"
libc = ctypes.CDLL(None, use_errno=True)
def renameat2(a, b, flags):
    r = libc.syscall(316, -100, a.encode(), -100, b.encode(), flags)
    return 0 if r == 0 else -ctypes.get_errno()
# (On /tmp, a tmpfs: the overlay refuses RENAME_EXCHANGE.)
a, b = os.path.join(sys.argv[3], "x"), os.path.join(sys.argv[3], "y")
open(a, "w").write("A"); open(b, "w").write("B")
assert renameat2(a, b, 1) == -errno.EEXIST, "RENAME_NOREPLACE"
assert renameat2(a, b, 2) == 0, "RENAME_EXCHANGE"
assert open(a).read() == "B" and open(b).read() == "A", "exchanged"
assert renameat2(a, b, 3) == -errno.EINVAL, "both flags"
fd = os.open(os.path.join(dst, "sparse"), os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b"x" * 4096, 1 << 20)
assert os.lseek(fd, 0, os.SEEK_DATA) == 1 << 20, "SEEK_DATA"
assert os.lseek(fd, 0, os.SEEK_HOLE) == 0, "SEEK_HOLE"
os.fsync(fd)
os.fdatasync(fd)
os.posix_fallocate(fd, 0, 8192)
assert os.fstat(fd).st_size == (1 << 20) + 4096
# As on Linux's tmpfs: allocated but unwritten pages still read as a hole.
assert os.lseek(fd, 0, os.SEEK_DATA) == 1 << 20, "SEEK_DATA after fallocate"
# POSIX locks across processes: the child sees the parent's lock and pid.
fcntl.lockf(fd, fcntl.LOCK_EX, 100, 0)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    fd2 = os.open(os.path.join(dst, "sparse"), os.O_RDWR)
    try:
        fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 0)
        msg = "locked"
    except OSError as e:
        msg = errno.errorcode[e.errno]
    import struct
    lk = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 100, 0)
    got = struct.unpack("hhqqi", fcntl.fcntl(fd2, fcntl.F_GETLK, lk))
    os.write(w, (msg + " %d" % got[4]).encode())
    fcntl.flock(fd2, fcntl.LOCK_EX)  # flock is separate from POSIX locks
    os._exit(0)
os.close(w)
msg = os.read(r, 100).decode()
os.waitpid(pid, 0)
assert msg == "EAGAIN %d" % os.getpid(), msg
# flock: a second open file description conflicts.
f1 = os.open(a, os.O_RDONLY)
f2 = os.open(a, os.O_RDONLY)
fcntl.flock(f1, fcntl.LOCK_EX)
try:
    fcntl.flock(f2, fcntl.LOCK_EX | fcntl.LOCK_NB)
    raise AssertionError("flock did not conflict")
except BlockingIOError:
    pass
os.close(f1)  # the last close releases it
# ...once the server has the RELEASE, which FUSE sends after close(2)
# returns (asynchronously, but for fuseblk), so allow it a moment.
for i in range(500):
    try:
        fcntl.flock(f2, fcntl.LOCK_EX | fcntl.LOCK_NB)
        break
    except BlockingIOError:
        if i == 499:
            raise AssertionError("flock still held 5 s after the last close")
        time.sleep(0.01)
# copy_file_range
src_fd = os.open(os.path.join(src, "a", "big"), os.O_RDONLY)
out = os.open(os.path.join(dst, "cfr"), os.O_RDWR | os.O_CREAT, 0o644)
data = open(os.path.join(dst, "a", "big"), "rb").read()
inm = os.open(os.path.join(dst, "a", "big"), os.O_RDONLY)
n = 0
while n < len(data):
    k = os.copy_file_range(inm, out, len(data) - n)
    assert k > 0
    n += k
assert open(os.path.join(dst, "cfr"), "rb").read() == data, "copy_file_range"
print("python ok")
EOF

# ---- Large directories and paths longer than PATH_MAX (the export speaks
# in nodes, not paths: each component is one lookup).
"${PY}" - "${MNT}/tmp" <<'EOF' || fail "big directory / deep path"
import os, sys
top = os.path.join(sys.argv[1], "many")
os.mkdir(top)
for i in range(3000):
    open(os.path.join(top, "entry-%04d" % i), "w").close()
names = os.listdir(top)
assert len(names) == 3000 and len(set(names)) == 3000, len(names)
with os.scandir(top) as it:
    assert sum(1 for e in it if e.is_file()) == 3000
os.chdir(sys.argv[1])
comp = "d" * 250
for depth in range(20):  # 20 * 251 bytes: beyond PATH_MAX (4096)
    os.mkdir(comp)
    os.chdir(comp)
with open("leaf", "w") as f:
    f.write("deep")
assert open("leaf").read() == "deep"
assert os.stat(".").st_nlink == 2
print("big directory and deep path ok")
EOF

# ---- xattrs.
setfattr -n user.k -v value "${W}/untar/a/big" || fail "setfattr"
expect_eq "getfattr" "$(getfattr --only-values -n user.k "${W}/untar/a/big")" value
expect_eq "getfattr of a missing name" \
  "$(getfattr -n user.none "${W}/untar/a/big" 2>&1 | sed 's/.*: //')" "No such attribute"
setfattr -x user.k "${W}/untar/a/big" || fail "setfattr -x"

# ---- Permissions are the sandbox's, as the caller's ids.
as_user() { setpriv --reuid=1000 --regid=1000 --groups=2000 -- "$@"; }
as_user sh -c "echo mine > '${MNT}/tmp/u'" || fail "user create in /tmp"
expect_eq "new file owned by the caller" "$(stat -c %u:%g "${MNT}/tmp/u")" 1000:1000
expect_eq "user may not write root's file" \
  "$(as_user sh -c "echo x >> '${W}/untar/a/big'" 2>&1 | sed 's/.*: //')" \
  "Permission denied"
expect_eq "user may not read a 0600 file" \
  "$(as_user cat "${W}/untar/a/b/small" 2>&1 | sed 's/.*: //')" "Permission denied"
chgrp 2000 "${W}/untar/a/big" && chmod 0464 "${W}/untar/a/big"
as_user sh -c "echo g >> '${W}/untar/a/big'" || fail "supplementary group write"
expect_eq "sticky /tmp: user may not remove root's file" \
  "$(as_user rm -f "${MNT}/tmp/script.sh" 2>&1 | sed 's/.*: //')" \
  "Operation not permitted"
as_user mkdir "${MNT}/tmp/ud" && chmod 0700 "${MNT}/tmp/ud" 2>/dev/null
expect_eq "chmod of another's file by the user" \
  "$(as_user chmod 777 "${MNT}/data/f" 2>&1 | sed 's/.*: //')" \
  "Operation not permitted"
# Execute permission is checked by the sandbox, not only "some x bit".
mkdir "${MNT}/tmp/xbin" && cp "${BUSYBOX}" "${MNT}/tmp/xbin/busybox" &&
  chmod 0700 "${MNT}/tmp/xbin/busybox"
expect_eq "exec of a 0700 root binary by the user" \
  "$(as_user "${MNT}/tmp/xbin/busybox" true 2>&1 | sed 's/.*: //')" "Permission denied"
"${MNT}/tmp/xbin/busybox" true || fail "root exec"

# ---- Concurrent readers and writers from several processes.
"${PY}" - "${W}" <<'EOF' || fail "concurrency"
import os, sys
w = sys.argv[1]
path = os.path.join(w, "shared")
N, BLK, ROUNDS = 6, 65536, 20
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, N * BLK)
pids = []
for i in range(N):
    pid = os.fork()
    if pid == 0:
        f = os.open(path, os.O_RDWR)
        for r in range(ROUNDS):
            os.pwrite(f, bytes([65 + i]) * BLK, i * BLK)
            got = os.pread(f, BLK, ((i + 1) % N) * BLK)
            assert len(got) == BLK
            d = os.path.join(w, "c%d" % i)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "f%d" % r), "w") as g:
                g.write("x" * r)
        os._exit(0)
    pids.append(pid)
ok = all(os.waitpid(p, 0)[1] == 0 for p in pids)
assert ok, "a child failed"
data = os.pread(fd, N * BLK, 0)
for i in range(N):
    assert data[i * BLK:(i + 1) * BLK] == bytes([65 + i]) * BLK, i
for i in range(N):
    assert len(os.listdir(os.path.join(w, "c%d" % i))) == ROUNDS
print("concurrency ok")
EOF

# ---- statfs.
df "${MNT}/tmp" >/dev/null || fail "df"

# ---- SIGTERM unmounts and stops the gofers.
pid="$(pgrep -f "runsc mount --rootfs=${ROOTFS}")"
kill -TERM "${pid}"
for _ in $(seq 50); do mounted || break; sleep 0.1; done
mounted && fail "still mounted after SIGTERM"
for _ in $(seq 50); do [[ "$(gofers)" -eq 0 ]] && break; sleep 0.1; done
expect_eq "gofers after SIGTERM" "$(gofers)" 0
expect_eq "host rootfs unchanged at the end" "$(tree_digest "${ROOTFS}")" "${before}"

# ---- Foreground: SIGINT ends it with status 0.
"${RUNSC}" mount --rootfs="${ROOTFS}" "${MNT}" &
fg=$!
for _ in $(seq 100); do mounted && break; sleep 0.1; done
mounted || fail "foreground mount never appeared"
expect_eq "foreground mount without --overlay writes through" \
  "$(echo through >"${MNT}/data/through" && cat "${ROOTFS}/data/through")" through
kill -INT "${fg}"
wait "${fg}"
expect_eq "exit status after SIGINT" "$?" 0
mounted && fail "still mounted after SIGINT"
expect_eq "gofers after SIGINT" "$(gofers)" 0

# ---- Bad input: clear errors, nothing left behind.
out="$("${RUNSC}" mount --rootfs="${ROOTFS}" 2>&1)"
expect_eq "no mount point: status" "$?" 2
grep -q "expected one MOUNTPOINT" <<<"${out}" || fail "no mount point: ${out}"
out="$("${RUNSC}" mount --rootfs="${ROOTFS}" "${T}/nonexistent" 2>&1)"
expect_eq "missing mount point: status" "$?" 1
grep -q "No such file or directory" <<<"${out}" || fail "missing mount point: ${out}"
out="$("${RUNSC}" mount --rootfs="${T}/norootfs" --daemon "${MNT}" 2>&1)"
expect_eq "missing rootfs: status" "$?" 1
grep -q "norootfs" <<<"${out}" || fail "missing rootfs: ${out}"
out="$("${RUNSC}" mount --rootfs="${ROOTFS}" --daemon -o default_permissions \
  "${MNT}" 2>&1)"
expect_eq "-o default_permissions: status" "$?" 1
grep -q "default_permissions" <<<"${out}" || fail "default_permissions: ${out}"
out="$("${RUNSC}" mount --rootfs="${ROOTFS}" --daemon -o no_such_option \
  "${MNT}" 2>&1)"
expect_eq "unknown -o: status" "$?" 1
out="$("${RUNSC}" mount --bogus "${MNT}" 2>&1)"
expect_eq "unknown flag: status" "$?" 2
mounted && fail "a failed mount left a mount"
expect_eq "gofers after failures" "$(gofers)" 0

if [[ ${failures} -ne 0 ]]; then
  echo "${failures} check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
