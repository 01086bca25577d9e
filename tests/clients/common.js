'use strict';
// Shared by the client scripts: argument parsing, checks, a hard time limit,
// and the summary line the doctest cases look for.

const HOST = '127.0.0.1';

function ports(usage) {
  const [port, directPort] = process.argv.slice(2).map(Number);
  if (!Number.isInteger(port) || !Number.isInteger(directPort)) {
    console.error(`usage: ${usage}`);
    process.exit(64);
  }
  return { port, directPort };
}

class Checks {
  constructor(name) {
    this.name = name;
    this.count = 0;
    this.failures = [];
  }

  // Records a failed check unless `got` and `want` are equal as JSON.
  equal(what, got, want) {
    this.count += 1;
    const g = JSON.stringify(got);
    const w = JSON.stringify(want);
    if (g !== w) this.failures.push(`${what}: got ${g}, want ${w}`);
    return g === w;
  }

  ok(what, cond, detail = '') {
    this.count += 1;
    if (!cond) this.failures.push(`${what}${detail ? `: ${detail}` : ''}`);
    return Boolean(cond);
  }

  fail(what) {
    this.count += 1;
    this.failures.push(what);
  }

  // Prints one line per failure and the summary; exits 0 only if all passed.
  finish() {
    for (const f of this.failures) console.log(`FAIL ${f}`);
    const passed = this.count - this.failures.length;
    console.log(`${this.name}: ${passed} of ${this.count} checks passed`);
    process.exit(this.failures.length ? 1 : 0);
  }
}

// Kills the script after `ms` whatever it is waiting for (a client that
// reconnects forever, a reply that never comes).
function hardLimit(checks, ms) {
  const t = setTimeout(() => {
    checks.fail(`${checks.name} did not finish within ${ms} ms`);
    checks.finish();
  }, ms);
  t.unref();
}

// Resolves `promise`, or rejects after `ms` with a message naming `what`.
function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// The command's result, or {error: message} if it failed, so that the
// results of a whole script can be compared between two servers.
async function settle(promise) {
  try {
    const v = await promise;
    return v === undefined ? null : v;
  } catch (e) {
    return { error: e && e.message ? e.message : String(e) };
  }
}

// Keys that spread over the servers of a ketama pool (fnv1a keys differing
// only in their last digits cluster on the ring).
function spreadKey(prefix, i) {
  return `${prefix}:${(i * 2654435761) % 2 ** 32}:${i}`;
}

module.exports = { HOST, ports, Checks, hardLimit, within, settle, spreadKey };
