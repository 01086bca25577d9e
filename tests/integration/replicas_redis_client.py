#!/usr/bin/python3
"""python3-redis (Debian's redis-py) through a pool with replicas: replicas_redis_client.py PORT

Only commands every copy runs alike (reads, and writes whose effect is a
function of the key's state: SET, INCR, HSET, EXPIRE, RPUSH, DEL, ...), so
that the copies must end holding the same data, which the caller then
checks on each redis-server. No LPOP, SPOP, EVAL: those run on the primary
alone and the other copies lose the key. Prints one line per failed check and
"redis-py replicas: N of M checks passed"; exits 1 on any failure.
"""
import sys

from client_checks import Checks

import redis

N = 200


def key(i: int) -> str:
    # Scrambled so that fnv1a keys do not cluster.
    return f"rp:k:{(i * 2654435761) % 2**32}:{i}"


def main() -> int:
    port = int(sys.argv[1])
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10, socket_connect_timeout=5)
    checks = Checks()
    check, attempt = checks.check, checks.attempt

    # set / get / mget / delete
    data = {key(i): f"value-{i}".encode() * (1 + i % 3) for i in range(N)}
    check("set all", attempt("set", lambda: all(r.set(k, v) for k, v in data.items())), True)
    keys = list(data)
    check("get one", attempt("get", lambda: r.get(keys[11])), data[keys[11]])
    check("get missing", attempt("get missing", lambda: r.get("rp:nokey")), None)
    check("mget all", attempt("mget", lambda: r.mget(keys)), [data[k] for k in keys])
    check("mget with misses and repeats",
          attempt("mget mixed", lambda: r.mget([keys[5], "rp:miss", keys[150], keys[5]])),
          [data[keys[5]], None, data[keys[150]], data[keys[5]]])
    check("set nx on an existing key", attempt("set nx", lambda: r.set(keys[0], "other", nx=True)), None)
    check("delete 50", attempt("delete", lambda: r.delete(*keys[:50], "rp:nokey")), 50)
    check("mget after delete", attempt("mget3", lambda: r.mget(keys[48:52])),
          [None, None, data[keys[50]], data[keys[51]]])

    # counters
    check("incr", attempt("incr", lambda: r.incr("rp:counter")), 1)
    check("incrby", attempt("incrby", lambda: r.incrby("rp:counter", 41)), 42)
    check("decr", attempt("decr", lambda: r.decr("rp:counter")), 41)
    check("get counter", attempt("get counter", lambda: r.get("rp:counter")), b"41")

    # hashes, lists, sets
    check("hset mapping", attempt("hset", lambda: r.hset("rp:h", mapping={"a": "1", "b": "2"})), 2)
    check("hset one", attempt("hset one", lambda: r.hset("rp:h", "c", "3")), 1)
    check("hincrby", attempt("hincrby", lambda: r.hincrby("rp:h", "a", 5)), 6)
    check("hdel", attempt("hdel", lambda: r.hdel("rp:h", "b")), 1)
    check("hgetall", attempt("hgetall", lambda: r.hgetall("rp:h")), {b"a": b"6", b"c": b"3"})
    check("rpush", attempt("rpush", lambda: r.rpush("rp:l", "a", "b", "c")), 3)
    check("lrange", attempt("lrange", lambda: r.lrange("rp:l", 0, -1)), [b"a", b"b", b"c"])
    check("sadd", attempt("sadd", lambda: r.sadd("rp:s", "x", "y")), 2)
    check("smembers", attempt("smembers", lambda: r.smembers("rp:s")), {b"x", b"y"})

    # expiry: the copies each get the EXPIRE
    check("expire", attempt("expire", lambda: r.expire(keys[60], 1000)), True)
    check("ttl", attempt("ttl", lambda: 990 <= r.ttl(keys[60]) <= 1000), True)
    check("expire missing", attempt("expire missing", lambda: r.expire("rp:nokey", 1000)), False)
    check("setex", attempt("setex", lambda: r.setex("rp:ex", 500, "x")), True)
    check("get setex", attempt("get setex", lambda: r.get("rp:ex")), b"x")
    check("persist", attempt("persist", lambda: r.persist(keys[61])), False)

    # a pipeline across the copies: writes, reads and a multi-key read
    def pipeline():
        p = r.pipeline(transaction=False)
        want = []
        for i in range(30):
            k = f"rp:p:{(i * 7919) % 1000}:{i}"
            p.set(k, f"p{i}"); want.append(True)
            p.get(k); want.append(f"p{i}".encode())
            p.incr(f"rp:pc:{i % 5}"); want.append(1 + i // 5)
            p.mget([k, "rp:nokey", keys[100]]); want.append([f"p{i}".encode(), None, data[keys[100]]])
            p.hset("rp:ph", f"f{i}", str(i)); want.append(1)
            if i % 3 == 0:
                p.delete(k); want.append(1)
            p.expire(f"rp:pc:{i % 5}", 2000); want.append(True)
        return p.execute(), want
    res = attempt("pipeline", pipeline)
    if res is not None:
        got, want = res
        check("pipeline length", len(got), len(want))
        check("pipeline results", got, want)

    # a pipeline with an error in the middle: the others still answer, in order
    def pipeline_error():
        p = r.pipeline(transaction=False)
        p.set("rp:e", "notanumber")
        p.incr("rp:e")
        p.get("rp:e")
        return p.execute(raise_on_error=False)
    res = attempt("pipeline with an error", pipeline_error)
    if res is not None and len(res) == 3:
        check("pipeline error: set", res[0], True)
        check("pipeline error: incr message", str(res[1]), "value is not an integer or out of range")
        check("pipeline error: get", res[2], b"notanumber")
    else:
        check("pipeline with an error: 3 replies", res, "3 replies")

    return checks.report("redis-py replicas")


if __name__ == "__main__":
    sys.exit(main())
