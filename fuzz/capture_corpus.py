#!/usr/bin/python3
"""Rebuilds the protocol seed corpora in fuzz/corpus/ from real traffic.

    fuzz/capture_corpus.py            # writes fuzz/corpus/{memcache,redis}_{request,response}/cap-*

Starts memcached and redis-server on free 127.0.0.1 ports, puts a recording
TCP relay in front of each, and runs real clients through the relay:
pymemcache, libmemcached's memccapable (ASCII tests), redis-py, redis-cli and
redis-benchmark, plus raw sockets for what clients never send (inline redis
commands, malformed memcached lines) so that the servers' own error replies
are recorded too. What each client sent becomes a request seed and what the
server answered a response seed, cut to MAX_SEED bytes.

Every seed starts with the fuzz input header (fuzz/harness/stream.hpp):
"\\0" (one chunk) for half of them, and a header that cuts the stream into
small chunks for the other half. Hand-written seeds (names not starting with
"cap-") and regression inputs are left alone. Needs Debian's memcached,
redis-server, redis-tools, libmemcached-tools, python3-pymemcache and
python3-redis.
"""
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(ROOT, "corpus")
MAX_SEED = 1500
# Chunk headers for the seeds that start cut: S sizes (each byte + 1).
SPLIT_HEADERS = [b"\x03\x00\x06\x1f", b"\x02\x02\x0c", b"\x04\x00\x00\x10\x40", b"\x01\x04"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, deadline=10.0):
    end = time.time() + deadline
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


class Recorder:
    """A relay on 127.0.0.1 that records every connection's two directions."""

    def __init__(self, backend_port):
        self.backend = backend_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.connections = []  # [client->server bytearray, server->client bytearray]
        self.threads = []
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            record = [bytearray(), bytearray()]
            with self.lock:
                self.connections.append(record)
            t = threading.Thread(target=self.relay, args=(client, record), daemon=True)
            self.threads.append(t)
            t.start()

    def relay(self, client, record):
        server = socket.create_connection(("127.0.0.1", self.backend))
        ends = {client: (server, record[0]), server: (client, record[1])}
        open_ends = {client, server}
        try:
            while open_ends:
                ready, _, _ = select.select(list(open_ends), [], [], 5.0)
                if not ready:
                    break
                for s in ready:
                    data = s.recv(65536)
                    peer, log = ends[s]
                    if not data:
                        open_ends.discard(s)
                        try:
                            peer.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                        continue
                    log.extend(data)
                    peer.sendall(data)
        except OSError:
            pass
        finally:
            client.close()
            server.close()

    def take(self):
        """The connections recorded since the last call, once they are quiet."""
        time.sleep(0.3)
        with self.lock:
            taken, self.connections = self.connections, []
        return [(bytes(a), bytes(b)) for a, b in taken if a or b]


class Writer:
    def __init__(self, protocol):
        self.protocol = protocol
        self.count = 0
        for side in ("request", "response"):
            d = os.path.join(CORPUS, f"{protocol}_{side}")
            os.makedirs(d, exist_ok=True)
            for name in os.listdir(d):
                if name.startswith("cap-"):
                    os.remove(os.path.join(d, name))

    def save(self, name, connections, limit=2, flags=0):
        """`flags`: the high bits of the header's first byte (redis requests:
        0x10 gives the pool redis_auth "secret", as the scenario's server has)."""
        # The busiest connections of the scenario first.
        connections = sorted(connections, key=lambda c: -(len(c[0]) + len(c[1])))[:limit]
        for i, (sent, answered) in enumerate(connections):
            suffix = "" if i == 0 else f"-{i}"
            for side, data in (("request", sent), ("response", answered)):
                if not data:
                    continue
                header = b"\x00" if self.count % 2 == 0 else SPLIT_HEADERS[(self.count // 2) % len(SPLIT_HEADERS)]
                if side == "request":
                    header = bytes([header[0] | flags]) + header[1:]
                path = os.path.join(CORPUS, f"{self.protocol}_{side}", f"cap-{name}{suffix}")
                with open(path, "wb") as f:
                    f.write(header + data[:MAX_SEED])
            self.count += 1


def raw(port, payload, linger=0.3):
    """Sends `payload` on a fresh connection and reads what comes back."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(payload)
        end = time.time() + linger
        s.settimeout(0.1)
        while time.time() < end:
            try:
                if not s.recv(65536):
                    break
            except socket.timeout:
                pass


def memcache_scenarios(rec, out):
    from pymemcache.client.base import Client

    port = rec.port

    def client():
        return Client(("127.0.0.1", port), connect_timeout=2, timeout=2, default_noreply=False)

    def scenario(name, fn, limit=2):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - error replies are wanted too
            print(f"memcache scenario {name}: {e}", file=sys.stderr)
        out.save(name, rec.take(), limit)

    def basic():
        c = client()
        c.set("greeting", "hello world")
        c.get("greeting")
        c.get("missing")
        c.delete("greeting")
        c.delete("greeting")
        c.close()

    def multi():
        c = client()
        c.set_many({f"user:{i}": f"v{i}" * (i + 1) for i in range(6)})
        c.get_many([f"user:{i}" for i in range(8)])
        c.gets_many(["user:1", "user:2", "nope"])
        c.close()

    def cas():
        c = client()
        c.set("counter", "10")
        _, token = c.gets("counter")
        c.cas("counter", "11", token)
        c.cas("counter", "12", token)
        c.cas("absent", "1", b"123")
        c.close()

    def arithmetic():
        c = client()
        c.set("n", "41")
        c.incr("n", 1)
        c.decr("n", 100)
        c.incr("absent", 1)
        c.touch("n", 100)
        c.touch("absent", 1)
        c.set("text", "abc")
        c.incr("text", 1)  # CLIENT_ERROR, raised: last

    def storage():
        c = client()
        c.add("a", "1")
        c.add("a", "2")
        c.replace("a", "3")
        c.replace("absent", "3")
        c.append("a", "-tail")
        c.prepend("a", "head-")
        c.get("a")
        c.set("flags", "x", expire=0, flags=42)
        c.set("ttl", "y", expire=3600)
        c.close()

    def noreply():
        c = Client(("127.0.0.1", port), connect_timeout=2, timeout=2, default_noreply=True)
        c.set("q1", "quiet")
        c.add("q2", "quiet")
        c.delete("q1")
        c.incr("q3", 1)
        c.get("q2")
        c.close()

    def binary_values():
        c = client()
        c.set("bin", bytes(range(256)))
        c.set("crlf", b"line1\r\nline2\r\nEND\r\n")
        c.set("empty", b"")
        c.get_many(["bin", "crlf", "empty"])
        c.close()

    def admin():
        c = client()
        c.version()
        c.flush_all()
        c.flush_all(delay=10)
        c.close()

    def stats():
        c = client()
        c.stats()
        c.close()

    for name, fn in [("basic", basic), ("multi", multi), ("cas", cas), ("arith", arithmetic),
                     ("storage", storage), ("noreply", noreply), ("binary", binary_values),
                     ("admin", admin), ("stats", stats)]:
        scenario(name, fn)

    # What no client library sends: memcached's own answers to bad requests.
    bad = {
        "bad-unknown": b"bogus command\r\nget ok\r\n",
        "bad-chunk": b"set k 0 0 3\r\nabcd\r\nget k\r\n",
        "bad-number": b"set k 0 0 x\r\nset k abc 0 1\r\nincr k x\r\ntouch k x\r\n",
        "bad-delete": b"delete k 5\r\ndelete k 0\r\ndelete k 0 noreply\r\ndelete\r\n",
        "bad-args": b"get\r\nincr\r\nversion x\r\nverbosity\r\nverbosity 1\r\n",
        "long-key": b"get " + b"k" * 251 + b"\r\nset " + b"k" * 251 + b" 0 0 1\r\nx\r\n",
        "lf-only": b"set k 0 0 2\nhi\r\nget k\nget k k k\r\n",
        "quit": b"get a\r\nquit\r\n",
    }
    for name, payload in bad.items():
        raw(rec.port, payload)
        out.save(name, rec.take())

    for test in ["set noreply", "cas", "mget", "incr noreply", "append", "flush", "verbosity", "quit",
                 "delete noreply", "prepend noreply"]:
        subprocess.run(["memccapable", "-a", "-h", "127.0.0.1", "-p", str(rec.port), "-T", "ascii " + test],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, check=False)
        out.save("memccapable-" + test.replace(" ", "-"), rec.take(), limit=1)


def redis_scenarios(rec, auth_rec, out):
    import redis

    def client():
        return redis.Redis(host="127.0.0.1", port=rec.port, socket_timeout=2)

    def scenario(name, fn, recorder=rec, limit=2, flags=0):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - error replies are wanted too
            print(f"redis scenario {name}: {e}", file=sys.stderr)
        out.save(name, recorder.take(), limit, flags)

    def strings():
        r = client()
        r.set("greeting", "hello")
        r.get("greeting")
        r.get("missing")
        r.set("k", "v", ex=100, nx=True)
        r.getset("greeting", "bye")
        r.append("greeting", "!")
        r.strlen("greeting")
        r.getrange("greeting", 0, 2)

    def multi_key():
        r = client()
        r.mset({f"user:{i}": f"v{i}" for i in range(5)})
        r.mget([f"user:{i}" for i in range(7)])
        r.delete("user:0", "user:1", "absent")
        r.exists("user:2", "user:3")
        r.touch("user:2", "user:4")
        r.unlink("user:3")

    def counters():
        r = client()
        r.incr("n")
        r.incrby("n", 41)
        r.decrby("n", 100)
        r.incrbyfloat("f", 1.5)
        r.ttl("n")
        r.expire("n", 100)
        r.pttl("n")
        r.ttl("absent")

    def collections():
        r = client()
        r.hset("h", mapping={"a": "1", "b": "2"})
        r.hgetall("h")
        r.hmget("h", ["a", "zz"])
        r.rpush("l", "x", "y", "z")
        r.lrange("l", 0, -1)
        r.sadd("s", "m1", "m2")
        r.smembers("s")
        r.zadd("z", {"a": 1, "b": 2.5})
        r.zrange("z", 0, -1, withscores=True)
        r.hscan("h", 0)

    def scripting():
        r = client()
        r.eval("return {1, {2, 'three'}, KEYS[1], ARGV[1]}", 1, "key", "arg")
        r.eval("return redis.call('get', KEYS[1])", 1, "greeting")
        try:
            r.eval("return {err='My Error'}", 1, "k")
        except redis.ResponseError:
            pass
        try:
            r.evalsha("0000000000000000000000000000000000000000", 1, "k")
        except redis.ResponseError:
            pass

    def pipeline():
        r = client()
        p = r.pipeline(transaction=False)
        for i in range(8):
            p.set(f"p:{i}", i)
            p.get(f"p:{i}")
        p.lpush("p:list", "a")
        p.get("p:list")  # WRONGTYPE
        try:
            p.execute()
        except redis.ResponseError:
            pass

    def errors():
        r = client()
        for cmd in (("GET",), ("SET", "k"), ("NOSUCHCOMMAND", "a", "b"), ("INCR", "greeting"),
                    ("EVAL", "return 1", "x"), ("EVAL", "return 1", "-1")):
            try:
                r.execute_command(*cmd)
            except redis.ResponseError:
                pass

    def big_values():
        r = client()
        r.set("big", b"\r\n".join([b"x" * 100] * 8))
        r.get("big")
        r.set("empty", b"")
        r.get("empty")
        r.set("binary", bytes(range(256)))
        r.get("binary")

    for name, fn in [("strings", strings), ("multi", multi_key), ("counters", counters),
                     ("collections", collections), ("eval", scripting), ("pipeline", pipeline),
                     ("errors", errors), ("big", big_values)]:
        scenario(name, fn)

    def auth():
        r = redis.Redis(host="127.0.0.1", port=auth_rec.port, socket_timeout=2)
        try:
            r.get("k")
        except redis.RedisError:
            pass
        r2 = redis.Redis(host="127.0.0.1", port=auth_rec.port, password="secret", socket_timeout=2)
        r2.set("k", "v")
        r2.get("k")
        try:
            redis.Redis(host="127.0.0.1", port=auth_rec.port, password="wrong", socket_timeout=2).ping()
        except redis.RedisError:
            pass

    scenario("auth", auth, auth_rec, limit=3, flags=0x10)

    for args in (["set", "cli:key", "value with spaces"], ["mget", "cli:key", "nope"], ["hgetall", "h"],
                 ["command", "info", "get"], ["ping"], ["ping", "hello"], ["lrange", "l", "0", "-1"],
                 ["blpop", "empty:list", "0.01"]):
        subprocess.run(["redis-cli", "-p", str(rec.port), *args], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=10, check=False)
        out.save("cli-" + "-".join(a.replace(" ", "_").replace(":", "_") for a in args[:2]), rec.take(), limit=1)

    subprocess.run(["redis-benchmark", "-p", str(rec.port), "-c", "1", "-n", "6", "-P", "3", "-q",
                    "-t", "set,get,incr,lpush,lpop,mset"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60, check=False)
    out.save("benchmark", rec.take(), limit=3)

    inline = {
        "inline": b"PING\r\nSET inline:k value\r\nGET inline:k\r\nMGET inline:k nope\r\nECHO hi\n\r\n",
        "inline-errors": b"GET\r\nFOO bar baz\r\n*1\r\n$4\r\nPING\r\n*0\r\n",
        "resp-bad": b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$x\r\n",
        "quit": b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nQUIT\r\n",
    }
    for name, payload in inline.items():
        raw(rec.port, payload)
        out.save(name, rec.take())


def main():
    procs = []
    try:
        mc = free_port()
        as_root = ["-u", "nobody"] if os.geteuid() == 0 else []  # memcached refuses root
        procs.append(subprocess.Popen(["memcached", "-l", "127.0.0.1", "-p", str(mc), "-U", "0", "-m", "16", *as_root],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        rd, rd_auth = free_port(), free_port()
        for port, extra in ((rd, []), (rd_auth, ["--requirepass", "secret"])):
            procs.append(subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                           "--save", "", "--appendonly", "no", *extra],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in (mc, rd, rd_auth):
            wait_port(port)
        memcache_scenarios(Recorder(mc), Writer("memcache"))
        redis_scenarios(Recorder(rd), Recorder(rd_auth), Writer("redis"))
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(CORPUS) for f in files)
    print(f"corpus: {total} bytes in {sum(len(f) for _, _, f in os.walk(CORPUS))} files")


if __name__ == "__main__":
    if shutil.which("memcached") is None or shutil.which("redis-server") is None:
        sys.exit("needs memcached and redis-server")
    main()
