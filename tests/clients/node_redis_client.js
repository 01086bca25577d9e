'use strict';
// node-redis 4 (npm "redis") with a client name through a redis proxy:
//   node node_redis_client.js PORT DIRECT_PORT
//
// PORT is the proxy, DIRECT_PORT a redis-server of its own; the same script
// runs against both and the replies must be equal.  node-redis 4 sends
// CLIENT SETINFO LIB-VER/LIB-NAME (errors ignored) and, with `name`,
// CLIENT SETNAME (an error fails the connection); `database: 0` sends no
// SELECT, any other database does.  Two clients per target:
// createClient({socket: {host, port}, name: 'svc'}) and the same with
// database: 0.  Each must connect with no 'error' or 'reconnecting' event,
// answer CLIENT GETNAME with 'svc', SET/GET/MGET across the servers and quit
// with 'OK'.  Prints "FAIL ..." per failed check and
// "node-redis: N of M checks passed"; exits 0 only if all passed.

const { createClient } = require('redis');
const { HOST, ports, Checks, hardLimit, within, settle, spreadKey } = require('./common');

const { port, directPort } = ports('node node_redis_client.js PORT DIRECT_PORT');
const checks = new Checks('node-redis');
hardLimit(checks, 40000);

async function scenario(client, tag) {
  const r = [];
  const keys = Array.from({ length: 20 }, (_, i) => spreadKey(`nr:${tag}`, i));
  r.push(await settle(client.clientGetName()));
  r.push(await settle(client.set(`nr:${tag}:a`, 'apple')));
  r.push(await settle(client.get(`nr:${tag}:a`)));
  r.push(await settle(client.get(`nr:${tag}:missing`)));
  for (const [i, k] of keys.entries()) r.push(await settle(client.set(k, `v${i}`)));
  r.push(await settle(client.mGet([...keys, `nr:${tag}:missing`, `nr:${tag}:a`])));
  r.push(await settle(client.del(keys.slice(0, 5))));
  r.push(await settle(client.mGet(keys.slice(3, 7))));
  r.push(await settle(client.incr(`nr:${tag}:a`))); // ERR value is not an integer
  r.push(await settle(client.get(`nr:${tag}:a`)));
  return r;
}

async function session(label, p, extra, tag) {
  const events = [];
  const client = createClient({ socket: { host: HOST, port: p }, name: 'svc', ...extra });
  let gaveUp = false;
  const giveUp = () => {
    if (!gaveUp) { gaveUp = true; client.disconnect().catch(() => {}); }
  };
  // The default reconnect strategy retries forever: record the first
  // 'error'/'reconnecting' and stop, so that the check fails fast.
  client.on('error', (e) => { events.push(`error: ${e.message}`); giveUp(); });
  client.on('reconnecting', () => { events.push('reconnecting'); giveUp(); });

  const connected = await settle(within(5000, `${label} connect`, client.connect().then(() => true)));
  if (!checks.ok(`${label}: connects`, connected === true && !gaveUp,
                 `connect() gave ${JSON.stringify(connected)}, gave up: ${gaveUp}; events: ${JSON.stringify(events)}`)) {
    giveUp();
    return null;
  }
  let results = null;
  try {
    results = await within(15000, `${label} commands`, scenario(client, tag));
    checks.equal(`${label}: CLIENT GETNAME`, results[0], 'svc');
  } catch (e) {
    checks.fail(`${label}: ${e.message}`);
  }
  checks.equal(`${label}: quit()`, await settle(within(5000, `${label} quit`, client.quit())), 'OK');
  checks.equal(`${label}: 'error' and 'reconnecting' events`, events, []);
  giveUp();
  return results;
}

(async () => {
  for (const [what, extra, tag] of [['name: svc', {}, 'n'], ['name: svc, database: 0', { database: 0 }, 'd']]) {
    const want = await session(`direct redis ${directPort} (${what})`, directPort, extra, tag);
    const got = await session(`proxy ${port} (${what})`, port, extra, tag);
    if (want === null) {
      checks.fail(`${what}: the script failed against redis itself: no replies to compare with`);
    } else if (got !== null) {
      checks.equal(`${what}: number of replies through the proxy`, got.length, want.length);
      for (let i = 0; i < Math.max(got.length, want.length); i++) {
        checks.equal(`${what}: reply ${i} through the proxy equals redis's`, got[i], want[i]);
      }
    }
  }
  checks.finish();
})().catch((e) => {
  checks.fail(`uncaught: ${e && e.stack ? e.stack : e}`);
  checks.finish();
});
