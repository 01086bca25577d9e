#!/usr/bin/python3
"""python3-redis (Debian's redis-py) through a redis proxy: redis_client.py PORT

Exercises set/get/mget/delete across servers, a pipeline of 100 commands
(transaction=False: a proxy does not do MULTI), a pipeline holding an error,
hashes, lists, sets, sorted sets, counters and EVAL through the proxy on
127.0.0.1:PORT, then leaves keys keep_key(i) = "<i>" (i < KEEP) behind for the
caller to find on the backends.  Prints one line per failed check and
"redis-py: N of M checks passed" at the end; exits 1 on any failure.
"""
import sys

from client_checks import Checks

import redis

KEEP = 300


def keep_key(i: int) -> str:
    # Scrambled, so that the keys spread over the servers (fnv1a keys that
    # differ only in their last digits cluster on a ketama ring).
    return f"py:keep:{(i * 2654435761) % 2**32}:{i}"


def main() -> int:
    port = int(sys.argv[1])
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10, socket_connect_timeout=5)
    checks = Checks()
    check, attempt = checks.check, checks.attempt

    check("ping", attempt("ping", r.ping), True)

    # set / get / mget / delete across servers
    data = {f"py:k:{(i * 40503) % 65536}:{i}": f"value-{i}".encode() * (1 + i % 4) for i in range(400)}
    ok = attempt("set", lambda: all(r.set(k, v) for k, v in data.items()))
    check("set all", ok, True)
    keys = list(data)
    check("get one", attempt("get", lambda: r.get(keys[7])), data[keys[7]])
    check("get missing", attempt("get missing", lambda: r.get("py:nokey")), None)
    got = attempt("mget", lambda: r.mget(keys))
    check("mget all", got, [data[k] for k in keys])
    mixed = [keys[3], "py:miss:1", keys[200], keys[3], "py:miss:2", keys[399]]
    check("mget with misses and repeats", attempt("mget mixed", lambda: r.mget(mixed)),
          [data[keys[3]], None, data[keys[200]], data[keys[3]], None, data[keys[399]]])
    check("mset", attempt("mset", lambda: r.mset({"py:m:a": "1", "py:m:b": "2", "py:m:c": "3", "py:m:d": "4"})), True)
    check("mget after mset", attempt("mget2", lambda: r.mget(["py:m:a", "py:m:b", "py:m:c", "py:m:d"])),
          [b"1", b"2", b"3", b"4"])
    check("exists (first key's server only)", attempt("exists", lambda: r.exists("py:m:a")), 1)
    check("delete many", attempt("delete", lambda: r.delete(*keys[:250], "py:nokey")), 250)
    check("mget after delete", attempt("mget3", lambda: r.mget(keys[248:252])),
          [None, None, data[keys[250]], data[keys[251]]])
    check("unlink", attempt("unlink", lambda: r.unlink(*keys[250:300])), 50)
    check("touch", attempt("touch", lambda: r.touch(*keys[300:310], "py:nokey")), 10)

    # counters and expiry
    check("incr", attempt("incr", lambda: r.incr("py:counter")), 1)
    check("incrby", attempt("incrby", lambda: r.incrby("py:counter", 41)), 42)
    check("decr", attempt("decr", lambda: r.decr("py:counter")), 41)
    check("incrbyfloat", attempt("incrbyfloat", lambda: r.incrbyfloat("py:float", 2.5)), 2.5)
    check("expire", attempt("expire", lambda: r.expire("py:counter", 100)), True)
    check("ttl", attempt("ttl", lambda: r.ttl("py:counter")), 100)
    check("persist", attempt("persist", lambda: r.persist("py:counter")), True)
    check("setex + get", attempt("setex", lambda: (r.setex("py:ex", 100, "x"), r.get("py:ex"))), (True, b"x"))

    # hashes, lists, sets, sorted sets
    check("hset", attempt("hset", lambda: r.hset("py:h", mapping={"a": "1", "b": "2"})), 2)
    check("hgetall", attempt("hgetall", lambda: r.hgetall("py:h")), {b"a": b"1", b"b": b"2"})
    check("hmget", attempt("hmget", lambda: r.hmget("py:h", ["b", "zz", "a"])), [b"2", None, b"1"])
    check("hincrby", attempt("hincrby", lambda: r.hincrby("py:h", "a", 9)), 10)
    check("lpush", attempt("lpush", lambda: r.lpush("py:l", "c", "b", "a")), 3)
    check("rpush", attempt("rpush", lambda: r.rpush("py:l", "d")), 4)
    check("lrange", attempt("lrange", lambda: r.lrange("py:l", 0, -1)), [b"a", b"b", b"c", b"d"])
    check("lpop", attempt("lpop", lambda: r.lpop("py:l")), b"a")
    check("sadd", attempt("sadd", lambda: r.sadd("py:s", 1, 2, 3)), 3)
    check("smembers", attempt("smembers", lambda: r.smembers("py:s")), {b"1", b"2", b"3"})
    check("sismember", attempt("sismember", lambda: r.sismember("py:s", 2)), True)
    check("zadd", attempt("zadd", lambda: r.zadd("py:z", {"a": 1, "b": 2, "c": 3})), 3)
    check("zrange", attempt("zrange", lambda: r.zrange("py:z", 0, -1, withscores=True)),
          [(b"a", 1.0), (b"b", 2.0), (b"c", 3.0)])
    check("zscore", attempt("zscore", lambda: r.zscore("py:z", "b")), 2.0)
    check("pfadd/pfcount", attempt("pf", lambda: (r.pfadd("py:pf", "x", "y"), r.pfcount("py:pf"))), (1, 2))

    # scripting: routed by the first key
    check("eval", attempt("eval", lambda: r.eval("return {KEYS[1], ARGV[1]}", 1, "py:m:a", "arg")),
          [b"py:m:a", b"arg"])
    check("eval get", attempt("eval get", lambda: r.eval("return redis.call('GET', KEYS[1])", 1, "py:m:b")), b"2")

    # a pipeline of 100 commands across servers
    def pipeline_100():
        p = r.pipeline(transaction=False)
        want = []
        for i in range(20):
            k = f"py:p:{(i * 7919) % 1000}:{i}"
            p.set(k, f"v{i}"); want.append(True)
            p.get(k); want.append(f"v{i}".encode())
            p.incr(f"py:pc:{i}"); want.append(1)
            p.mget([k, "py:nokey", f"py:m:{'abcd'[i % 4]}"])
            want.append([f"v{i}".encode(), None, str(1 + i % 4).encode()])
            p.delete(k, f"py:pc:{i}"); want.append(2)
        return p.execute(), want
    res = attempt("pipeline of 100", pipeline_100)
    if res is not None:
        got, want = res
        check("pipeline length", len(got), 100)
        check("pipeline results", got, want)

    # a pipeline with an error in the middle: the others still answer, in order
    def pipeline_error():
        p = r.pipeline(transaction=False)
        p.set("py:e", "notanumber")
        p.incr("py:e")
        p.get("py:e")
        p.hget("py:e", "f")  # WRONGTYPE
        p.ping()
        return p.execute(raise_on_error=False)
    res = attempt("pipeline with errors", pipeline_error)
    if res is not None:
        check("pipeline with errors: length", len(res), 5)
        if len(res) == 5:
            check("pipeline with errors: set", res[0], True)
            check("pipeline with errors: incr is an error", isinstance(res[1], redis.ResponseError), True)
            check("pipeline with errors: incr message", str(res[1]), "value is not an integer or out of range")
            check("pipeline with errors: get", res[2], b"notanumber")
            check("pipeline with errors: wrongtype", isinstance(res[3], redis.ResponseError), True)
            check("pipeline with errors: ping", res[4], True)

    # a large pipeline (many round trips' worth of bytes at once)
    def pipeline_big():
        p = r.pipeline(transaction=False)
        for i in range(2000):
            p.set(f"py:big:{(i * 2654435761) % 2**32}", "x" * (i % 50))
        for i in range(2000):
            p.get(f"py:big:{(i * 2654435761) % 2**32}")
        out = p.execute()
        return out[:2000] == [True] * 2000 and out[2000:] == [b"x" * (i % 50) for i in range(2000)]
    check("pipeline of 4000", attempt("pipeline of 4000", pipeline_big), True)

    # keys left for the caller
    def keep():
        p = r.pipeline(transaction=False)
        for i in range(KEEP):
            p.set(keep_key(i), str(i))
        return all(p.execute())
    check("keep keys", attempt("keep keys", keep), True)

    return checks.report("redis-py")


if __name__ == "__main__":
    sys.exit(main())
