'use strict';
// ioredis 5 on its default options through a redis proxy:
//   node ioredis_client.js PORT DIRECT_PORT
//
// PORT is the proxy, DIRECT_PORT a redis-server of its own (not behind the
// proxy).  The same script runs against both; the replies must be equal.
// ioredis's defaults include enableReadyCheck (an INFO before 'ready') and
// CLIENT SETINFO; a server that fails INFO sends it into a reconnect loop.
// Checks, per target: 'ready' within 5 s, no 'reconnecting' and no 'error'
// event, SET/GET/MGET and a pipeline across the pool's servers, quit()
// resolving 'OK' and the connection ending.  Leaves KEEP keys
// spreadKey('ior:keep', i) = String(i) behind on the proxy for the caller to
// find on the servers.  Prints "FAIL ..." per failed check and
// "ioredis: N of M checks passed"; exits 0 only if all passed.

const Redis = require('ioredis');
const { HOST, ports, Checks, hardLimit, within, settle, spreadKey } = require('./common');

const KEEP = 60;
const { port, directPort } = ports('node ioredis_client.js PORT DIRECT_PORT');
const checks = new Checks('ioredis');
hardLimit(checks, 40000);

async function scenario(client) {
  const r = [];
  const keys = Array.from({ length: 30 }, (_, i) => spreadKey('ior:k', i));
  r.push(await settle(client.set('ior:a', 'apple')));
  r.push(await settle(client.get('ior:a')));
  r.push(await settle(client.get('ior:missing')));
  for (const [i, k] of keys.entries()) r.push(await settle(client.set(k, `v${i}`)));
  r.push(await settle(client.mget(...keys, 'ior:missing', 'ior:a')));
  r.push(await settle(client.mset('ior:m1', '1', 'ior:m2', '2', 'ior:m3', '3')));
  r.push(await settle(client.mget('ior:m1', 'ior:m2', 'ior:m3')));
  r.push(await settle(client.del(...keys.slice(0, 10), 'ior:missing')));

  // A pipeline: multi-key commands split over the servers, and an error in
  // the middle, answered in order.
  const p = client.pipeline();
  p.set('ior:p', 'x');
  p.get('ior:p');
  p.mget(keys[9], keys[10], keys[20], 'ior:missing', 'ior:p');
  p.incr('ior:counter');
  p.incr('ior:p'); // ERR value is not an integer
  p.incrby('ior:counter', 41);
  p.del('ior:p', keys[29], 'ior:missing');
  for (let i = 0; i < KEEP; i++) p.set(spreadKey('ior:keep', i), String(i));
  p.mget(Array.from({ length: KEEP }, (_, i) => spreadKey('ior:keep', i)));
  const res = await settle(p.exec());
  r.push(Array.isArray(res) ? res.map(([err, v]) => (err ? { error: err.message } : v)) : res);
  return r;
}

async function session(label, p) {
  const events = [];
  const client = new Redis({ host: HOST, port: p });
  client.on('error', (e) => events.push(`error: ${e.message}`));
  client.on('reconnecting', (ms) => events.push(`reconnecting (in ${ms} ms)`));
  const ended = new Promise((resolve) => client.once('end', resolve));

  const t0 = Date.now();
  const ready = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000);
    client.once('ready', () => { clearTimeout(timer); resolve(true); });
    client.once('reconnecting', () => { clearTimeout(timer); resolve(false); });
  });
  if (!checks.ok(`${label}: 'ready' within 5 s, before any 'reconnecting'`, ready,
                 `after ${Date.now() - t0} ms; events: ${JSON.stringify(events)}`)) {
    client.disconnect();
    return null;
  }

  let results = null;
  try {
    results = await within(15000, `${label} commands`, scenario(client));
  } catch (e) {
    checks.fail(`${label}: ${e.message}`);
  }
  checks.equal(`${label}: quit()`, await settle(within(5000, `${label} quit`, client.quit())), 'OK');
  checks.ok(`${label}: the connection ends after quit()`,
            await settle(within(5000, `${label} end`, ended.then(() => true))) === true);
  checks.equal(`${label}: 'error' and 'reconnecting' events`, events, []);
  client.disconnect();
  return results;
}

(async () => {
  const want = await session(`direct redis ${directPort}`, directPort);
  const got = await session(`proxy ${port}`, port);
  if (want === null) {
    checks.fail('the script failed against redis itself: no replies to compare with');
  } else if (got !== null) {
    checks.equal('number of replies through the proxy', got.length, want.length);
    for (let i = 0; i < Math.max(got.length, want.length); i++) {
      checks.equal(`reply ${i} through the proxy equals redis's`, got[i], want[i]);
    }
  }
  checks.finish();
})().catch((e) => {
  checks.fail(`uncaught: ${e && e.stack ? e.stack : e}`);
  checks.finish();
});
