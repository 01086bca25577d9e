#!/usr/bin/env bash
# The Debian packages, end to end: build them from this source tree (a build
# of its own, in a temporary directory), lint them, install them with apt,
# run what they installed, then purge them and check that nothing is left.
#
#   tests/package/package_test.sh [SOURCE_DIR]
#
# Needs root and a Debian system (dpkg, apt-get); otherwise it exits 77,
# which ctest reports as skipped. Refuses (77 too) to touch a machine where a
# cachemux package is already known to dpkg. All traffic is on 127.0.0.1, on
# free ports. Whatever happens, the trap purges the packages, stops what the
# test started and removes what it created. CACHEMUX_TEST_KEEP_TMP=1 keeps
# the temporary directory (build tree, .debs, configs, logs).
set -euo pipefail

SKIP=77
src=$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd)

say() { printf '%s\n' "$*"; }
step() { printf '\n== [%3ds] %s\n' "$SECONDS" "$*"; }
skip() { say "SKIP: $*"; exit "$SKIP"; }
fail() { say "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root: it installs and purges packages"
for tool in dpkg dpkg-query dpkg-deb apt-get; do
    command -v "$tool" >/dev/null || skip "no $tool: not a Debian system"
done
for tool in cmake cpack lintian dpkg-shlibdeps file memcached timeout setpriv; do
    command -v "$tool" >/dev/null || fail "$tool is missing (.ci/run lists the packages this test needs)"
done
python=/usr/bin/python3
[[ -x $python ]] || python=$(command -v python3) || fail "python3 is missing"

# The packages, in the order they can be purged (dependents first).
packages=(cachemux-dev cachemux-plugin-hash-extra cachemux-plugin-redis cachemux-plugin-memcache cachemux)

mapfile -t known < <(dpkg-query -W -f '${Package} ${db:Status-Status}\n' 'cachemux*' 2>/dev/null |
                     awk '$2 != "not-installed" { print $1 }')
((${#known[@]} == 0)) || skip "dpkg already knows cachemux packages (${known[*]}): not touching them"

export DEBIAN_FRONTEND=noninteractive

work=$(mktemp -d /tmp/cachemux-package.XXXXXX)
# The proxy runs as the unprivileged user cachemux and reads its configs here.
chmod 755 "$work"
pids=()
made_policy=false
had_user=false
getent passwd cachemux >/dev/null && had_user=true
had_group=false
getent group cachemux >/dev/null && had_group=true

installed_packages() {
    dpkg-query -W -f '${Package}:${Architecture} ${db:Status-Status}\n' |
        awk '$2 == "installed" { print $1 }' | sort
}
before=$(installed_packages)

purge_ours() {
    local present=() p
    for p in "${packages[@]}"; do
        if dpkg-query -W -f '${db:Status-Status}\n' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
            present+=("$p")
        fi
    done
    if ((${#present[@]})); then
        timeout 300 dpkg --purge "${present[@]}"
    fi
}

# The trap may fire inside a redirected command: it writes to these.
exec 3>&1 4>&2

cleanup() {
    local status=$?
    set +e
    trap - EXIT INT TERM
    exec 1>&3 2>&4
    step "cleanup"
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null && say "stopped pid $pid"
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null
    done
    purge_ours
    # Dependencies apt pulled in for the packages (none on a machine that
    # builds cachemux, but a minimal one may lack libboost-dev, adduser...).
    local added
    mapfile -t added < <(comm -13 <(echo "$before") <(installed_packages))
    if ((${#added[@]})); then
        say "purging what the install added: ${added[*]}"
        timeout 300 apt-get purge -y -q "${added[@]}" >/dev/null
    fi
    if ! $had_user && getent passwd cachemux >/dev/null; then userdel cachemux; fi
    if ! $had_group && getent group cachemux >/dev/null; then groupdel cachemux; fi
    if $made_policy; then rm -f /usr/sbin/policy-rc.d; fi
    if [[ ${CACHEMUX_TEST_KEEP_TMP:-} == 1 ]]; then
        say "kept $work"
    else
        rm -rf "$work"
    fi
    if ((status == 0)); then say "PASS ($SECONDS s)"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Package maintainer scripts start services through invoke-rc.d and
# deb-systemd-invoke, which ask policy-rc.d: forbid starting cachemux.service
# (it would take port 22121) if nothing else already does.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# cachemux package test: start no service.\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=true
fi

# N free TCP ports on 127.0.0.1 (free when asked; nothing here races for them).
free_ports() {
    "$python" - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# Wait up to $2 seconds for 127.0.0.1:$1 to accept, while process $3 lives.
wait_listening() {
    "$python" - "$@" <<'EOF'
import os, socket, sys, time
port, limit, pid = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(f"process {pid} exited before listening on {port}")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(f"nothing listens on 127.0.0.1:{port} after {limit} s")
EOF
}

# ---------------------------------------------------------------------------
step "configure and build the packages ($src)"
build=$work/build
timeout 300 cmake -S "$src" -B "$build" \
    -DCMAKE_INSTALL_PREFIX=/usr -DCACHEMUX_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    > "$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configure"; }
timeout 1200 cmake --build "$build" -j"$(nproc)" > "$work/build.log" 2>&1 ||
    { tail -50 "$work/build.log"; fail "build"; }
(cd "$build" && timeout 600 cpack -G DEB) > "$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log"; fail "cpack"; }
debs=()
for p in "${packages[@]}"; do
    deb=$(ls "$build"/"${p}"_*.deb 2>/dev/null) || fail "cpack made no $p package"
    debs+=("$deb")
done
for deb in "$build"/*.deb; do
    [[ " ${debs[*]} " == *" $deb "* ]] || fail "cpack made a package no one asked for: $deb"
done
for deb in "${debs[@]}"; do
    say "$(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"
done

# ---------------------------------------------------------------------------
step "lintian"
lintian_status=0
timeout 600 lintian --allow-root --fail-on error --display-info --tag-display-limit 0 "${debs[@]}" ||
    lintian_status=$?
((lintian_status == 0)) || fail "lintian found errors (exit $lintian_status)"

# ---------------------------------------------------------------------------
step "install with apt"
timeout 600 apt-get install -y -q --no-install-recommends "${debs[@]}" ||
    fail "apt-get install"
for p in "${packages[@]}"; do
    [[ $(dpkg-query -W -f '${db:Status-Status}' "$p") == installed ]] || fail "$p is not installed"
done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
plugin_dir=/usr/lib/$multiarch/cachemux/plugins
for f in /usr/sbin/cachemux /usr/share/man/man8/cachemux.8.gz /lib/systemd/system/cachemux.service \
         /etc/cachemux/cachemux.yml "$plugin_dir"/{fnv1a_64,ketama,modula,random,memcache,redis,md5}.so \
         /usr/include/cachemux/plugin_abi.hpp /usr/lib/"$multiarch"/cmake/cachemux/cachemuxConfig.cmake; do
    [[ -e $f ]] || fail "$f was not installed"
done
dpkg-query -W -f '${Conffiles}\n' cachemux | grep -q '^ /etc/cachemux/cachemux.yml ' ||
    fail "/etc/cachemux/cachemux.yml is not a conffile"
getent passwd cachemux >/dev/null || fail "postinst made no user cachemux"
if command -v deb-systemd-helper >/dev/null; then
    [[ -L /etc/systemd/system/multi-user.target.wants/cachemux.service ]] ||
        fail "postinst did not enable cachemux.service"
fi
/usr/sbin/cachemux -V
# The unit runs CACHEMUX_WORKERS workers, 1 unless the admin says otherwise.
grep -q '^Environment=CACHEMUX_WORKERS=1$' /lib/systemd/system/cachemux.service &&
    grep -q -- '--workers \${CACHEMUX_WORKERS}' /lib/systemd/system/cachemux.service ||
    fail "cachemux.service does not pass --workers from CACHEMUX_WORKERS"
# `systemctl reload` is SIGUSR1, the configuration reload.
grep -q '^ExecReload=/bin/kill -USR1 \$MAINPID$' /lib/systemd/system/cachemux.service ||
    fail "cachemux.service has no ExecReload sending SIGUSR1"

# ---------------------------------------------------------------------------
step "cachemux -t on the packaged and on a wider configuration"
timeout 30 /usr/sbin/cachemux -t -c /etc/cachemux/cachemux.yml ||
    fail "the default configuration does not pass -t"
read -r port_a port_b <<<"$(free_ports 2)"
cat > "$work/wide.yml" <<EOF
mc:
  listen: 127.0.0.1:$port_a
  hash: murmur
  distribution: modula
  servers:
   - 127.0.0.1:11211:1
rd:
  listen: 127.0.0.1:$port_b
  hash: md5
  distribution: random
  redis: true
  servers:
   - 127.0.0.1:6379:1
EOF
timeout 30 /usr/sbin/cachemux -t -c "$work/wide.yml" ||
    fail "a configuration using the extra hashes and redis does not pass -t"

# ---------------------------------------------------------------------------
step "set and get through the installed cachemux, as user cachemux"
read -r mc_port proxy_port stats_port <<<"$(free_ports 3)"
memcached -l 127.0.0.1 -p "$mc_port" -U 0 -u nobody -m 16 > "$work/memcached.log" 2>&1 &
pids+=($!)
wait_listening "$mc_port" 10 "${pids[-1]}" || fail "memcached did not start"
cat > "$work/proxy.yml" <<EOF
pkg:
  listen: 127.0.0.1:$proxy_port
  hash: fnv1a_64
  distribution: ketama
  timeout: 2000
  servers:
   - 127.0.0.1:$mc_port:1
EOF
chmod 644 "$work/proxy.yml"
setpriv --reuid=cachemux --regid=cachemux --init-groups -- \
    /usr/sbin/cachemux -c "$work/proxy.yml" -s "$stats_port" -a 127.0.0.1 --workers auto > "$work/cachemux.log" 2>&1 &
pids+=($!)
wait_listening "$proxy_port" 10 "${pids[-1]}" || { cat "$work/cachemux.log"; fail "cachemux did not start"; }
"$python" - "$proxy_port" "$mc_port" "$stats_port" <<'EOF' || { cat "$work/cachemux.log"; fail "set/get through cachemux"; }
import json, socket, sys
proxy, direct, stats = (int(p) for p in sys.argv[1:4])

def exchange(port, request, end):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        reply = b""
        while not reply.endswith(end):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
        return reply

value = b"from-the-package"
stored = exchange(proxy, b"set pkgtest 0 0 %d\r\n%s\r\n" % (len(value), value), b"\r\n")
assert stored == b"STORED\r\n", stored
expected = b"VALUE pkgtest 0 %d\r\n%s\r\nEND\r\n" % (len(value), value)
got = exchange(proxy, b"get pkgtest\r\n", b"END\r\n")
assert got == expected, got
# The value is on the memcached behind the proxy.
got = exchange(direct, b"get pkgtest\r\n", b"END\r\n")
assert got == expected, got
# The stats port answers with one JSON object that has the pool.
data = b""
with socket.create_connection(("127.0.0.1", stats), timeout=5) as s:
    try:
        while chunk := s.recv(65536):
            data += chunk
    except socket.timeout:
        pass  # all that came within 5 s
assert "pkg" in json.loads(data), data
print("set/get through cachemux: ok; stats: ok")
EOF
for pid in "${pids[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null || true; done
pids=()

# ---------------------------------------------------------------------------
step "an out-of-tree plugin built with cachemux-dev"
example=$src/examples/hash-plugin
if [[ -f $example/CMakeLists.txt ]]; then
    if ! { timeout 300 cmake -S "$example" -B "$work/hash-plugin" -DCMAKE_BUILD_TYPE=Release &&
           timeout 300 cmake --build "$work/hash-plugin"; } > "$work/hash-plugin.log" 2>&1; then
        cat "$work/hash-plugin.log"
        fail "building examples/hash-plugin against the installed SDK"
    fi
    djb2=$(find "$work/hash-plugin" -name djb2.so -print -quit)
    [[ -n $djb2 ]] || fail "examples/hash-plugin built no djb2.so"
    read -r port_c <<<"$(free_ports 1)"
    cat > "$work/djb2.yml" <<EOF
plugins:
  - $djb2
djb:
  listen: 127.0.0.1:$port_c
  hash: djb2
  distribution: ketama
  servers:
   - 127.0.0.1:11211:1
EOF
    timeout 30 /usr/sbin/cachemux -t -c "$work/djb2.yml" ||
        fail "the installed cachemux does not load djb2.so"
else
    say "SKIPPED this step: $example does not exist yet"
fi

# ---------------------------------------------------------------------------
step "without cachemux-plugin-redis, a redis pool fails -t and names redis.so"
timeout 300 apt-get remove -y -q cachemux-plugin-redis || fail "apt-get remove cachemux-plugin-redis"
[[ ! -e $plugin_dir/redis.so ]] || fail "redis.so is still there"
set +e
out=$(timeout 30 /usr/sbin/cachemux -t -c "$work/wide.yml" 2>&1)
status=$?
set -e
say "$out"
((status != 0)) || fail "cachemux -t accepted a redis pool without the redis plugin"
((status != 124)) || fail "cachemux -t timed out"
grep -q 'redis\.so' <<<"$out" || fail "the error does not name redis.so"

# ---------------------------------------------------------------------------
step "purge"
purge_ours
for p in "${packages[@]}"; do
    if dpkg-query -W -f '${db:Status-Status}\n' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
        fail "$p is still known to dpkg after purge"
    fi
done
for f in /etc/cachemux /usr/sbin/cachemux /usr/lib/"$multiarch"/cachemux /lib/systemd/system/cachemux.service \
         /etc/systemd/system/multi-user.target.wants/cachemux.service /etc/systemd/system/cachemux.service \
         /var/lib/systemd/deb-systemd-helper-enabled/cachemux.service.dsh-also \
         /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/cachemux.service \
         /var/lib/systemd/deb-systemd-helper-masked/cachemux.service; do
    [[ ! -e $f && ! -L $f ]] || fail "$f is left after purge"
done
