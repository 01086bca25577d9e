#!/usr/bin/python3
"""pymemcache through a memcached proxy: python3 pymemcache_client.py PORT

Exercises set_many/get_many/incr/decr/delete and friends through the proxy
on 127.0.0.1:PORT, then leaves keys keep_key(i) = "<i>" (i < KEEP) behind
for the caller to find on the backends.  Prints one line per failed check and
"pymemcache: N checks passed" at the end; exits 1 on any failure.
"""
import sys

from client_checks import Checks

from pymemcache.client.base import Client

KEEP = 300


def keep_key(i: int) -> str:
    # Scrambled, so that the keys spread over the servers with any hash
    # (fnv1a keys differing only in their last digits cluster on a ring).
    return f"py:keep:{(i * 2654435761) % 2**32}:{i}"


def main() -> int:
    port = int(sys.argv[1])
    client = Client(("127.0.0.1", port), connect_timeout=5, timeout=10)
    checks = Checks()
    check = checks.check

    # set_many / get_many across servers
    data = {f"py:many:{i}": f"value-{i}".encode() * (1 + i % 5) for i in range(500)}
    check("set_many failed keys", client.set_many(data, noreply=False), [])
    got = client.get_many(list(data))
    check("get_many size", len(got), len(data))
    check("get_many values", got, data)
    check("get_many with misses", client.get_many(["py:many:1", "py:nope", "py:many:2"]),
          {"py:many:1": data["py:many:1"], "py:many:2": data["py:many:2"]})

    # incr / decr
    check("set counter", client.set("py:counter", "10", noreply=False), True)
    check("incr", client.incr("py:counter", 5), 15)
    check("decr", client.decr("py:counter", 20), 0)
    check("incr missing", client.incr("py:no-counter", 1), None)
    check("incr noreply", client.incr("py:counter", 7, noreply=True), None)
    # (memcached pads a shrunken decr result with spaces: "15" - 20 = "0 ")
    check("get after incr noreply", client.get("py:counter").strip(), b"7")

    # add / replace / append / prepend
    check("add new", client.add("py:add", "a", noreply=False), True)
    check("add existing", client.add("py:add", "b", noreply=False), False)
    check("replace", client.replace("py:add", "c", noreply=False), True)
    check("replace missing", client.replace("py:no-add", "c", noreply=False), False)
    check("append", client.append("py:add", "d", noreply=False), True)
    check("prepend", client.prepend("py:add", "e", noreply=False), True)
    check("get edited", client.get("py:add"), b"ecd")

    # gets / cas
    value, cas = client.gets("py:add")
    check("gets value", value, b"ecd")
    check("cas ok", client.cas("py:add", "f", cas, noreply=False), True)
    check("cas stale", client.cas("py:add", "g", cas, noreply=False), False)
    check("cas missing", client.cas("py:no-add", "g", cas, noreply=False), None)

    # touch / delete / delete_many
    check("touch", client.touch("py:add", 100, noreply=False), True)
    check("touch missing", client.touch("py:no-add", 100, noreply=False), False)
    check("delete", client.delete("py:add", noreply=False), True)
    check("delete missing", client.delete("py:add", noreply=False), False)
    check("get deleted", client.get("py:add"), None)
    check("delete_many", client.delete_many([f"py:many:{i}" for i in range(100)], noreply=False), True)
    check("get_many after delete_many", len(client.get_many(list(data))), len(data) - 100)

    # a large value
    big = bytes(range(256)) * 2048  # 512 KiB, every byte value
    check("set big", client.set("py:big", big, noreply=False), True)
    check("get big", client.get("py:big") == big, True)

    # keys left for the caller
    keep = {keep_key(i): str(i) for i in range(KEEP)}
    check("set_many keep", client.set_many(keep, noreply=False), [])

    client.close()
    return checks.report("pymemcache")


if __name__ == "__main__":
    sys.exit(main())
