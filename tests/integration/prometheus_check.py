"""Reads a cachemux stats port twice, as JSON (a plain read) and as
Prometheus text (GET /metrics), parses the text with python3-prometheus-client's
parser, and checks that every JSON number is there as a sample with the same
value and labels, each family with its HELP and TYPE.

usage: prometheus_check.py STATS_PORT     (prints "families ok" on success)
"""
import json
import socket
import sys

from prometheus_client.parser import text_string_to_metric_families


def read_all(port, request=b""):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        if request:
            s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def main():
    port = int(sys.argv[1])
    stats = json.loads(read_all(port))
    # Snapshot the JSON first: counters can only have grown by the time
    # /metrics is read, and nothing runs meanwhile.
    http = read_all(port, b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n").decode()
    head, _, body = http.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200 OK"), head
    assert "text/plain; version=0.0.4" in head, head
    for line in body.splitlines():
        if line.startswith("# TYPE ") or line.startswith("# HELP "):
            continue
        assert not line.startswith("#"), line

    families = {f.name: f for f in text_string_to_metric_families(body)}
    samples = {}
    for f in families.values():
        assert f.documentation, f"{f.name}: no HELP"
        assert f.type in ("counter", "gauge"), f"{f.name}: type {f.type}"
        for s in f.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value

    header = {"total_connections", "curr_connections", "service", "source", "version", "uptime", "timestamp"}
    checked = 0
    for pool, pool_stats in stats.items():
        if pool in header:
            continue
        for key, value in pool_stats.items():
            if isinstance(value, dict):
                for metric, v in value.items():
                    labels = (("pool", pool), ("server", key))
                    checked += check(samples, families, metric, labels, v)
            else:
                checked += check(samples, families, key, (("pool", pool),), value)
    assert checked > 0
    print(f"{len(families)} families ok, {checked} samples checked")


def check(samples, families, metric, labels, json_value):
    counter = f"cachemux_{metric}_total"
    gauge = f"cachemux_{metric}"
    for name in (counter, gauge):
        if (name, labels) in samples:
            got = samples[(name, labels)]
            assert got == json_value, f"{name}{dict(labels)}: /metrics says {got}, the JSON {json_value}"
            return 1
    raise AssertionError(f"{metric}{dict(labels)}: no sample in /metrics")


if __name__ == "__main__":
    main()
