#!/usr/bin/env python3
"""Black-box oracle for the hash and distribution plugin tests.

Runs the system's nutcracker (Debian nutcracker 0.5.0) in front of local
memcached instances on 127.0.0.1, writes keys through it and asks every
memcached which keys it holds. Nothing of cachemux is used, so what this
prints is what nutcracker really does:

  hashes     For every nutcracker hash function, the full 32-bit hash of a set
             of keys, recovered with the Chinese remainder theorem from the
             server a key lands on in `modula` pools of 32, 31, 29, 27, 25, 23
             and 19 equal-weight servers (server index = hash % n, and the
             product of the moduli exceeds 2^32).
  placements For `ketama` and `modula` pools with unequal weights, node names,
             an ejected server and equal ring points (ties), the server index
             of "0:cachemux" .. "399:cachemux" and of a few special keys.

Output is C++ source fragments on stdout, pasted into the *_test.cpp files.
Usage: nutcracker_oracle.py hashes|placements  (needs /usr/sbin/nutcracker and
/usr/bin/memcached; uses ports 31000-31063 and 32000-32199; stops every
process it starts).
"""
import hashlib
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

NUTCRACKER = "/usr/sbin/nutcracker"
MEMCACHED = "/usr/bin/memcached"
MC_BASE = 31000
NC_BASE = 32000
STATS_PORT = 32199
HASHES = ["one_at_a_time", "md5", "crc16", "crc32", "crc32a", "fnv1_64",
          "fnv1a_64", "fnv1_32", "fnv1a_32", "hsieh", "murmur", "jenkins"]
MODULI = [32, 31, 29, 27, 25, 23, 19]


# --------------------------------------------------------------- processes

class Cluster:
    def __init__(self, nmc):
        self.dir = tempfile.mkdtemp(prefix="cmx-oracle-")
        self.procs = []
        self.mc_ports = [MC_BASE + i for i in range(nmc)]
        for p in self.mc_ports:
            if port_open(p):
                raise SystemExit(f"port {p} is in use")
        for p in self.mc_ports:
            self.procs.append(subprocess.Popen(
                [MEMCACHED, "-l", "127.0.0.1", "-p", str(p), "-U", "0", "-m", "16", "-t", "1"]
                + (["-u", "root"] if os.geteuid() == 0 else []),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for p in self.mc_ports:
            wait_port(p)
        self.nc = None

    def start_nutcracker(self, yaml_text, listen_ports):
        conf = os.path.join(self.dir, "nc.yml")
        with open(conf, "w") as f:
            f.write(yaml_text)
        self.nc = subprocess.Popen(
            [NUTCRACKER, "-c", conf, "-s", str(STATS_PORT), "-a", "127.0.0.1",
             "-o", os.path.join(self.dir, "nc.log"), "-p", os.path.join(self.dir, "nc.pid"), "-v", "6"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(self.nc)
        for p in listen_ports:
            wait_port(p)

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def port_open(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_port(port):
    for _ in range(200):
        if port_open(port):
            return
        time.sleep(0.02)
    raise SystemExit(f"nothing listens on {port}")


# --------------------------------------------------------------- memcached client

class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def close(self):
        self.s.close()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def exact(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def set_many(self, keys):
        """Pipelined sets; returns the reply line of every key."""
        self.s.sendall(b"".join(b"set " + k + b" 0 0 1\r\nx\r\n" for k in keys))
        return [self.line() for _ in keys]

    def present(self, keys):
        """The subset of keys this server holds."""
        found = set()
        for i in range(0, len(keys), 16):
            self.s.sendall(b"get " + b" ".join(keys[i:i + 16]) + b"\r\n")
            while True:
                ln = self.line()
                if ln == b"END":
                    break
                parts = ln.split(b" ")
                assert parts[0] == b"VALUE", ln
                self.exact(int(parts[3]) + 2)
                found.add(parts[1])
        return found

    def flush(self):
        self.s.sendall(b"flush_all\r\n")
        assert self.line() == b"OK"


def placement(cluster, nc_port, mc_ports, keys, allow_errors=False):
    """Writes keys through the proxy pool and returns {key: index into mc_ports}."""
    mcs = [Conn(p) for p in mc_ports]
    for m in mcs:
        m.flush()
    c = Conn(nc_port)
    replies = c.set_many(keys)
    c.close()
    if not allow_errors:
        bad = [(k, r) for k, r in zip(keys, replies) if r != b"STORED"]
        assert not bad, bad[:5]
    where = {}
    for i, m in enumerate(mcs):
        for k in m.present(keys):
            assert k not in where, k
            where[k] = i
        m.close()
    return where


# --------------------------------------------------------------- helpers

def pool_yaml(name, port, dist, hash_, servers, extra=""):
    lines = [f"{name}:", f"  listen: 127.0.0.1:{port}", f"  hash: {hash_}",
             f"  distribution: {dist}", "  timeout: 2000", "  preconnect: false"]
    if extra:
        lines.append(extra)
    lines.append("  servers:")
    lines += [f"   - {s}" for s in servers]
    return "\n".join(lines) + "\n"


def cxx_string(b):
    out = []
    for ch in b:
        c = chr(ch)
        if 0x20 < ch < 0x7f and c not in '"\\?':
            out.append(c)
        else:
            out.append("\\%03o" % ch)
    return '"' + "".join(out) + '"'


def crt(residues):
    x, m = 0, 1
    for r, n in residues:
        # find x' = x (mod m), x' = r (mod n)
        while x % n != r:
            x += m
        m *= n
    return x, m


# --------------------------------------------------------------- hashes

def hash_keys():
    rnd = random.Random(20240501)
    printable = bytes(range(0x21, 0x7f))
    high = bytes(range(0x80, 0x100))
    keys = [b"a", b"foo", b"key:0", b"key:1", b"hello world".replace(b" ", b"_"),
            b"user:1000", b"{tag}suffix", b"0123456789ab", b"0123456789abc"]
    for n in range(1, 41):  # every length 1..40, plain printable keys
        keys.append(bytes(rnd.choice(printable) for _ in range(n)))
    for n in [1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 15, 19, 23]:  # with bytes >= 0x80
        keys.append(bytes(rnd.choice(printable + high + high) for _ in range(n)))
    keys.append(bytes([0xff]))
    keys.append(bytes([0x80, 0x81, 0xfe]))
    keys.append(b"\xc3\xa9t\xc3\xa9")  # UTF-8 "été"
    for n in [64, 100, 250]:
        keys.append(bytes(rnd.choice(printable) for _ in range(n)))
    assert len(set(keys)) == len(keys)
    return keys


def run_hashes():
    keys = hash_keys()
    cluster = Cluster(max(MODULI))
    try:
        yaml = ""
        pools = []
        port = NC_BASE
        for h in HASHES:
            for m in MODULI:
                servers = [f"127.0.0.1:{p}:1" for p in cluster.mc_ports[:m]]
                yaml += pool_yaml(f"h_{h}_{m}", port, "modula", h, servers)
                pools.append((h, m, port))
                port += 1
        cluster.start_nutcracker(yaml, [p for _, _, p in pools])
        residues = {h: {k: [] for k in keys} for h in HASHES}
        for h, m, port in pools:
            where = placement(cluster, port, cluster.mc_ports[:m], keys)
            for k in keys:
                residues[h][k].append((where[k], m))
    finally:
        cluster.stop()
    print("// Generated by nutcracker_oracle.py hashes (nutcracker 0.5.0, modula pools, CRT).")
    print("inline const HashVector kNutcrackerHashes[] = {")
    for h in HASHES:
        for k in keys:
            v, mod = crt(residues[h][k])
            assert mod > 2**32 and v < 2**32
            print(f'    {{"{h}", {cxx_string(k)}, {len(k)}, 0x{v:08x}u}},')
    print("};")


# --------------------------------------------------------------- placements

def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def ketama_points(weights):
    """Points per server as nutcracker's float arithmetic gives them."""
    total = sum(weights)
    n = len(weights)
    out = []
    for w in weights:
        pct = f32(f32(w) / f32(total))
        t = f32(f32(f32(pct * 160.0) / 4.0) * f32(n))
        out.append(int(f32(t + 0.0000000001) // 1) * 4)
    return out


def find_rounding_weights():
    """Weight sets where float rounding loses points against exact arithmetic."""
    from fractions import Fraction
    rnd = random.Random(7)
    for _ in range(200000):
        n = rnd.randint(2, 9)
        ws = [rnd.randint(1, 12) for _ in range(n)]
        exact = [int(Fraction(40 * n * w, sum(ws))) * 4 for w in ws]
        if ketama_points(ws) != exact:
            return ws, ketama_points(ws), exact
    return None


def ring(names, weights):
    pts = []
    for i, (name, w) in enumerate(zip(names, weights)):
        for g in range(ketama_points(weights)[i] // 4):
            d = hashlib.md5(f"{name}-{g}".encode()).digest()
            for x in range(4):
                pts.append((struct.unpack("<I", d[4 * x:4 * x + 4])[0], i))
    return sorted(pts, key=lambda p: p[0])


def find_tie(accept=lambda a, b: True):
    """Two node names whose md5 ring points collide (2 servers of weight 1)."""
    seen = {}
    for i in range(200000):
        name = f"tie{i}"
        for g in range(40):
            d = hashlib.md5(f"{name}-{g}".encode()).digest()
            for x in range(4):
                v = struct.unpack("<I", d[4 * x:4 * x + 4])[0]
                if v in seen and seen[v] != name and accept(seen[v], name):
                    return seen[v], name, v
                seen.setdefault(v, name)
    raise SystemExit("no tie found")


def fnv1a_64(k):
    h = 0x84222325
    for b in k:
        h ^= (b | 0xffffff00) if b >= 0x80 else b
        h = (h * 0x1b3) & 0xffffffff
    return h


def find_tie_keys(names, value, count=3):
    """Keys whose fnv1a_64 hash falls on the tied point (prev < hash <= value)."""
    pts = ring(names, [1, 1])
    prev = max(v for v, _ in pts if v < value)
    keys, i = [], 0
    while len(keys) < count:
        k = f"tiekey:{i}".encode()
        if prev < fnv1a_64(k) <= value:
            keys.append(k)
        i += 1
    return keys


def run_placements(nkeys=400):
    keys = [f"{i}:cachemux".encode() for i in range(nkeys)]
    named = ["127.0.0.1", "127.0.0.1:11212", "cache-a", "server4", "10.0.0.5:22122"]
    w5 = [1, 2, 3, 5, 8]
    sorted_names = ["server10", "server9", "b", "aa", "c"]  # nutcracker sorts servers by name
    rounding = find_rounding_weights()
    assert rounding, "no float-rounding weight set found"
    rw = rounding[0]
    ta, tb, tv = find_tie()
    tie_keys = find_tie_keys([ta, tb], tv)
    # a second tie between names of different length (nutcracker sorts by length first)
    ua, ub, uv = find_tie(lambda a, b: len(a) != len(b))
    tie2_keys = find_tie_keys([ua, ub], uv)
    long_, short = (ua, ub) if len(ua) > len(ub) else (ub, ua)
    mc = lambda i: MC_BASE + i  # noqa: E731
    dead_port = MC_BASE + 63  # nothing listens there

    scen = []  # (name, dist, hash, server lines, mc indexes, keys, extra yaml, dead index)
    scen.append(("ketama_named_weighted", "ketama", "fnv1a_64",
                 [f"127.0.0.1:{mc(i)}:{w} {named[i]}" for i, w in enumerate(w5)], list(range(5)), keys, "", None))
    scen.append(("ketama_hostport_weighted", "ketama", "md5",
                 [f"127.0.0.1:{mc(5 + i)}:{w}" for i, w in enumerate(w5)], list(range(5, 10)), keys, "", None))
    scen.append(("ketama_equal7", "ketama", "murmur",
                 [f"127.0.0.1:{mc(10 + i)}:1" for i in range(7)], list(range(10, 17)), keys, "", None))
    scen.append(("ketama_rounding", "ketama", "fnv1a_64",
                 [f"127.0.0.1:{mc(17 + i)}:{w} r{i}" for i, w in enumerate(rw)],
                 list(range(17, 17 + len(rw))), keys, "", None))
    eject = "  auto_eject_hosts: true\n  server_failure_limit: 1\n  server_retry_timeout: 600000"
    scen.append(("ketama_ejected", "ketama", "fnv1a_64",
                 [f"127.0.0.1:{dead_port if i == 2 else mc(26 + i)}:{w} {named[i]}" for i, w in enumerate(w5)],
                 [26, 27, None, 29, 30], keys, eject, 2))
    scen.append(("ketama_tie_ab", "ketama", "fnv1a_64",
                 [f"127.0.0.1:{mc(31)}:1 {ta}", f"127.0.0.1:{mc(32)}:1 {tb}"], [31, 32], tie_keys, "", None))
    scen.append(("ketama_tie_ba", "ketama", "fnv1a_64",
                 [f"127.0.0.1:{mc(33)}:1 {tb}", f"127.0.0.1:{mc(34)}:1 {ta}"], [33, 34], tie_keys, "", None))
    scen.append(("ketama_tie_long_short", "ketama", "fnv1a_64",
                 [f"127.0.0.1:{mc(50)}:1 {long_}", f"127.0.0.1:{mc(51)}:1 {short}"], [50, 51], tie2_keys, "", None))
    scen.append(("modula_weighted", "modula", "fnv1a_64",
                 [f"127.0.0.1:{mc(35 + i)}:{w}" for i, w in enumerate(w5)], list(range(35, 40)), keys, "", None))
    scen.append(("modula_ejected", "modula", "fnv1a_64",
                 [f"127.0.0.1:{dead_port if i == 2 else mc(40 + i)}:{w}" for i, w in enumerate(w5)],
                 [40, 41, None, 43, 44], keys, eject, 2))
    scen.append(("modula_sorted_names", "modula", "fnv1a_64",
                 [f"127.0.0.1:{mc(45 + i)}:{w} {n}" for i, (w, n) in enumerate(zip(w5, sorted_names))],
                 list(range(45, 50)), keys, "", None))

    nmc = 52
    cluster = Cluster(nmc)
    results = {}
    try:
        yaml = ""
        for j, s in enumerate(scen):
            yaml += pool_yaml(s[0], NC_BASE + j, s[1], s[2], s[3], s[6])
        cluster.start_nutcracker(yaml, [NC_BASE + j for j in range(len(scen))])
        for j, (name, dist, hash_, servers, idx, ks, extra, dead) in enumerate(scen):
            port = NC_BASE + j
            live_idx = [i for i in range(len(idx)) if idx[i] is not None]
            live_ports = [MC_BASE + idx[i] for i in live_idx]
            if dead is not None:
                # Send until the dead server has failed and been ejected.
                c = Conn(port)
                replies = c.set_many(ks)
                c.close()
                assert any(r != b"STORED" for r in replies)
                time.sleep(0.2)
            where = placement(cluster, port, live_ports, ks)
            results[name] = [live_idx[where[k]] for k in ks]
    finally:
        cluster.stop()

    print("// Generated by nutcracker_oracle.py placements (nutcracker 0.5.0).")
    print(f"// Float-rounding weights {rw}: nutcracker points {rounding[1]}, exact arithmetic {rounding[2]}.")
    for a, b, v in ((ta, tb, tv), (ua, ub, uv)):
        print(f'// Tie: ring point 0x{v:08x} comes from both "{a}" and "{b}".')
    print("inline const std::vector<Scenario> kScenarios = {")
    for name, dist, hash_, servers, idx, ks, extra, dead in scen:
        specs = []
        for i, line in enumerate(servers):
            # the name nutcracker hashes: the node name, else host:port (no port 11211 here)
            sname = line.split(" ", 1)[1] if " " in line else line.rsplit(":", 1)[0]
            weight = int(line.split(" ", 1)[0].rsplit(":", 1)[1])
            specs.append(f'{{"{sname}", {weight}, {"false" if i == dead else "true"}}}')
        print(f'    {{"{name}", "{dist}", "{hash_}",')
        print("     {" + ", ".join(specs) + "},")
        if ks is keys:
            print("     {},  // keys \"0:cachemux\" .. \"%d:cachemux\"" % (len(ks) - 1))
        else:
            print("     {" + ", ".join(cxx_string(k) for k in ks) + "},")
        digits = "".join(str(i) for i in results[name])
        for i in range(0, len(digits), 100):
            print(f'     "{digits[i:i + 100]}"')
        print("    },")
    print("};")


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("hashes", "placements"):
        raise SystemExit(__doc__)
    run_hashes() if sys.argv[1] == "hashes" else run_placements()
