#!/usr/bin/python3
"""python3-redis (Debian's redis-py 4.3) with a client name and db=0 through
a redis proxy: redis_named_client.py PORT DIRECT_PORT

redis-py sends CLIENT SETNAME on connect when client_name is set and fails
the connection unless it gets +OK (SELECT only for a db other than 0).  The
same checks run against the proxy on 127.0.0.1:PORT and against a
redis-server of its own on DIRECT_PORT; replies that do not depend on the
server (GET, MGET, ECHO, PING) must be equal.  Checks: connecting,
client_getname() == "svc", set/get/mget across servers, client_id() an int,
info() with redis_version and loading == 0, echo, ping, PING with a message.
Prints one line per failed check and "redis-py named: N of M checks passed";
exits 1 on any failure.
"""
import sys

from client_checks import Checks

import redis


def session(port, check, attempt):
    """Runs the checks on one target; returns the comparable replies."""
    r = redis.Redis(host="127.0.0.1", port=port, client_name="svc", db=0,
                    socket_timeout=10, socket_connect_timeout=5)
    out = {}
    try:
        # The first command connects: CLIENT SETNAME svc, which must get +OK.
        out["connect"] = attempt(f"{port}: connect (CLIENT SETNAME on connect) and ping", r.ping)
        if out["connect"] is None:
            return out
        out["getname"] = attempt(f"{port}: client_getname", r.client_getname)
        check(f"{port}: client_getname()", out["getname"], "svc")
        keys = [f"pyn:{(i * 2654435761) % 2**32}:{i}" for i in range(20)]
        out["set"] = attempt(f"{port}: set", lambda: [r.set(k, f"v{i}") for i, k in enumerate(keys)])
        out["get"] = attempt(f"{port}: get", lambda: (r.get(keys[3]), r.get("pyn:missing")))
        out["mget"] = attempt(f"{port}: mget", lambda: r.mget(keys + ["pyn:missing"]))
        check(f"{port}: mget", out["mget"], [f"v{i}".encode() for i in range(20)] + [None])

        cid = attempt(f"{port}: client_id", r.client_id)
        check(f"{port}: client_id() is an int", type(cid).__name__, "int")

        info = attempt(f"{port}: info", r.info)
        if isinstance(info, dict):
            check(f"{port}: info() has redis_version", "redis_version" in info, True)
            check(f"{port}: info() loading", info.get("loading"), 0)
        else:
            check(f"{port}: info() is a dict", type(info).__name__, "dict")

        out["echo"] = attempt(f"{port}: echo", lambda: r.echo("hello proxy"))
        check(f"{port}: echo", out["echo"], b"hello proxy")
        out["ping"] = attempt(f"{port}: ping", r.ping)
        check(f"{port}: ping", out["ping"], True)
        r.set_response_callback("PING", lambda reply: reply)  # the reply itself, not a bool
        out["ping msg"] = attempt(f"{port}: PING msg", lambda: r.execute_command("PING", "are you there"))
        check(f"{port}: PING msg", out["ping msg"], b"are you there")
    finally:
        r.close()
    return out


def main() -> int:
    port, direct_port = int(sys.argv[1]), int(sys.argv[2])
    checks = Checks()
    check, attempt = checks.check, checks.attempt

    want = session(direct_port, check, attempt)
    got = session(port, check, attempt)
    if got.get("connect") is not None:
        for k, v in want.items():
            check(f"proxy's {k} equals redis's", got.get(k), v)

    return checks.report("redis-py named")


if __name__ == "__main__":
    sys.exit(main())
