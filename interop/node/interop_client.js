'use strict';
// A grpc-js interop client: runs the interop test cases against any interop
// server, for the cross-implementation matrix.
//
//   node interop_client.js --server_host localhost --server_port 10000 \
//     --test_case empty_unary,large_unary --use_tls true --use_test_ca true \
//     --server_host_override foo.test.google.fr
//
// --test_case takes one case, a comma-separated list, or "all". Prints
// "PASS name (N ms)" or "FAIL name: reason" per case; exits 1 if any failed.
//
// Not expressible with grpc-js (the matrix lists them as not applicable):
// the four compressed cases, since grpc-js has no per-call or per-message
// compression control and does not show a message's compressed flag.

const { grpc, loadTesting, readCert, parseFlags, asBool } = require('./common');

const testing = loadTesting();
const CASE_LIMIT_MS = 60000;
const CONCURRENT_CALLS = 100;
const SPECIAL_MESSAGE = '\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \u{1F608}\t\n';

const ALL = [
  'empty_unary',
  'large_unary',
  'client_streaming',
  'server_streaming',
  'ping_pong',
  'empty_stream',
  'custom_metadata',
  'status_code_and_message',
  'special_status_message',
  'unimplemented_method',
  'unimplemented_service',
  'cancel_after_begin',
  'cancel_after_first_response',
  'timeout_on_sleeping_server',
  'concurrent_large_unary',
  'rpc_soak',
];

class Failed extends Error {}

function ensure(cond, why) {
  if (!cond) throw new Failed(why);
}

const deadline = (ms = CASE_LIMIT_MS) => ({ deadline: Date.now() + ms });
const zeros = (n) => ({ type: 0, body: Buffer.alloc(n) });

function checkPayload(what, payload, n) {
  const body = payload ? payload.body : Buffer.alloc(0);
  ensure(body.length === n, `${what}: payload of ${body.length} bytes, expected ${n}`);
  ensure(body.every((b) => b === 0), `${what}: payload is not all zeros`);
}

const largeRequest = () => ({ response_size: 314159, payload: zeros(271828) });

function unary(client, method, request, metadata = new grpc.Metadata(), options = deadline()) {
  return new Promise((resolve, reject) => {
    let initial = null;
    let trailing = null;
    const call = client[method](request, metadata, options, (err, response) => {
      if (err) reject(err);
      else resolve({ response, initial: () => initial, trailing: () => trailing });
    });
    call.on('metadata', (md) => { initial = md; });
    call.on('status', (status) => { trailing = status.metadata; });
  });
}

/** Reads a response stream to its end: { responses, status, initial }. */
function readAll(call) {
  return new Promise((resolve) => {
    const responses = [];
    let initial = null;
    call.on('metadata', (md) => { initial = md; });
    call.on('data', (r) => responses.push(r));
    call.on('error', () => {});
    call.on('status', (status) => resolve({ responses, status, initial }));
  });
}

/** Pulls responses one at a time from a duplex call. */
function reader(call) {
  const queue = [];
  const waiters = [];
  let ended = null;
  const push = (item) => (waiters.length ? waiters.shift()(item) : queue.push(item));
  call.on('data', (r) => push({ value: r }));
  call.on('error', (err) => { ended = { error: err }; push(ended); });
  call.on('end', () => { if (!ended) { ended = { done: true }; push(ended); } });
  return () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)));
}

function checkSizes(what, responses, sizes) {
  ensure(responses.length === sizes.length, `${what}: ${responses.length} responses, expected ${sizes.length}`);
  responses.forEach((r, i) => checkPayload(`${what} response ${i}`, r.payload, sizes[i]));
}

const duplex = (size, body) => ({ response_parameters: [{ size }], payload: zeros(body) });

const cases = {
  async empty_unary(client) {
    const { response } = await unary(client, 'EmptyCall', {});
    ensure(response !== undefined, 'no response');
  },

  async large_unary(client) {
    const { response } = await unary(client, 'UnaryCall', largeRequest());
    checkPayload('UnaryCall', response.payload, 314159);
  },

  async client_streaming(client) {
    const response = await new Promise((resolve, reject) => {
      const call = client.StreamingInputCall(deadline(), (err, r) => (err ? reject(err) : resolve(r)));
      for (const n of [27182, 8, 1828, 45904]) call.write({ payload: zeros(n) });
      call.end();
    });
    ensure(response.aggregated_payload_size === 74922, `aggregated_payload_size ${response.aggregated_payload_size}`);
  },

  async server_streaming(client) {
    const sizes = [31415, 9, 2653, 58979];
    const call = client.StreamingOutputCall({ response_parameters: sizes.map((size) => ({ size })) }, deadline());
    const { responses, status } = await readAll(call);
    ensure(status.code === grpc.status.OK, `status ${status.code} ${status.details}`);
    checkSizes('StreamingOutputCall', responses, sizes);
  },

  async ping_pong(client) {
    const steps = [[31415, 27182], [9, 8], [2653, 1828], [58979, 45904]];
    const call = client.FullDuplexCall(deadline());
    const next = reader(call);
    for (const [i, [size, body]] of steps.entries()) {
      call.write(duplex(size, body));
      const item = await next();
      ensure(item.value, `the response stream ended after ${i} responses: ${item.error ? item.error.message : 'end'}`);
      checkPayload(`response ${i}`, item.value.payload, size);
    }
    call.end();
    const last = await next();
    ensure(last.done, last.error ? `ended with ${last.error.message}` : 'more responses than expected');
  },

  async empty_stream(client) {
    const call = client.FullDuplexCall(deadline());
    const done = readAll(call);
    call.end();
    const { responses, status } = await done;
    ensure(status.code === grpc.status.OK, `status ${status.code} ${status.details}`);
    ensure(responses.length === 0, `${responses.length} responses, expected none`);
  },

  async custom_metadata(client) {
    const metadata = () => {
      const md = new grpc.Metadata();
      md.set('x-grpc-test-echo-initial', 'test_initial_metadata_value');
      md.set('x-grpc-test-echo-trailing-bin', Buffer.from([0xab, 0xab, 0xab]));
      return md;
    };
    const check = (what, initial, trailing) => {
      const got = initial ? initial.get('x-grpc-test-echo-initial') : [];
      ensure(got[0] === 'test_initial_metadata_value', `${what}: initial metadata ${JSON.stringify(got)}`);
      const bin = trailing ? trailing.get('x-grpc-test-echo-trailing-bin') : [];
      ensure(bin[0] && Buffer.compare(bin[0], Buffer.from([0xab, 0xab, 0xab])) === 0, `${what}: trailing metadata ${JSON.stringify(bin)}`);
    };
    const u = await unary(client, 'UnaryCall', largeRequest(), metadata());
    checkPayload('UnaryCall', u.response.payload, 314159);
    check('UnaryCall', u.initial(), u.trailing());
    const call = client.FullDuplexCall(metadata(), deadline());
    const done = readAll(call);
    call.write(duplex(314159, 271828));
    call.end();
    const { responses, status, initial } = await done;
    ensure(status.code === grpc.status.OK, `FullDuplexCall: status ${status.code} ${status.details}`);
    checkSizes('FullDuplexCall', responses, [314159]);
    check('FullDuplexCall', initial, status.metadata);
  },

  async status_code_and_message(client) {
    await expectStatus(client, 'test status message');
  },

  async special_status_message(client) {
    await expectStatus(client, SPECIAL_MESSAGE);
  },

  async unimplemented_method(client) {
    await expectUnimplemented(client, 'UnimplementedCall');
  },

  async unimplemented_service(client, channelArgs) {
    const other = new testing.UnimplementedService(...channelArgs);
    try {
      await expectUnimplemented(other, 'UnimplementedCall');
    } finally {
      other.close();
    }
  },

  async cancel_after_begin(client) {
    const status = await new Promise((resolve) => {
      const call = client.StreamingInputCall(deadline(), (err) => resolve(err ? err.code : grpc.status.OK));
      setTimeout(() => call.cancel(), 50);
    });
    ensure(status === grpc.status.CANCELLED, `status ${status}, expected CANCELLED`);
    await cases.empty_unary(client);
  },

  async cancel_after_first_response(client) {
    const call = client.FullDuplexCall(deadline());
    const next = reader(call);
    call.write(duplex(31415, 27182));
    const first = await next();
    ensure(first.value, 'no first response');
    checkPayload('the first response', first.value.payload, 31415);
    call.cancel();
    const after = await next();
    ensure(after.error && after.error.code === grpc.status.CANCELLED, `after the cancellation: ${after.error ? after.error.code : 'end'}`);
    await cases.empty_unary(client);
  },

  async timeout_on_sleeping_server(client) {
    const call = client.FullDuplexCall(deadline(1));
    const done = readAll(call);
    call.write({ payload: zeros(27182) });
    const { status } = await done;
    ensure(status.code === grpc.status.DEADLINE_EXCEEDED, `status ${status.code} ${status.details}`);
  },

  async concurrent_large_unary(client) {
    const calls = [];
    for (let i = 0; i < CONCURRENT_CALLS; i++) calls.push(cases.large_unary(client));
    await Promise.all(calls);
  },

  async rpc_soak(client, channelArgs, opts) {
    let slow = 0;
    for (let i = 0; i < opts.soakIterations; i++) {
      const started = Date.now();
      try {
        await cases.large_unary(client);
      } catch (err) {
        throw new Failed(`iteration ${i}: ${describe(err)}`);
      }
      if (Date.now() - started > opts.soakMaxLatencyMs) slow += 1;
    }
    ensure(slow === 0, `${slow} iterations were too slow`);
  },
};

async function expectStatus(client, message) {
  const status = { code: 2, message };
  try {
    await unary(client, 'UnaryCall', { response_status: status });
    throw new Failed('UnaryCall succeeded; expected the echoed status');
  } catch (err) {
    if (err instanceof Failed) throw err;
    ensure(err.code === grpc.status.UNKNOWN && err.details === message, `UnaryCall: ${err.code} ${JSON.stringify(err.details)}`);
  }
  const call = client.FullDuplexCall(deadline());
  const done = readAll(call);
  call.write({ response_status: status });
  call.end();
  const { status: got } = await done;
  ensure(got.code === grpc.status.UNKNOWN && got.details === message, `FullDuplexCall: ${got.code} ${JSON.stringify(got.details)}`);
}

async function expectUnimplemented(client, method) {
  try {
    await unary(client, method, {});
    throw new Failed(`${method} succeeded; expected UNIMPLEMENTED`);
  } catch (err) {
    if (err instanceof Failed) throw err;
    ensure(err.code === grpc.status.UNIMPLEMENTED, `${err.code} ${err.details}`);
  }
}

function describe(err) {
  if (err instanceof Failed) return err.message;
  if (err && err.code !== undefined) return `code ${err.code} ${JSON.stringify(err.details)}`;
  return String(err && err.stack ? err.stack : err);
}

const withLimit = (promise) => Promise.race([
  promise,
  new Promise((_, reject) => setTimeout(() => reject(new Failed(`did not finish within ${CASE_LIMIT_MS} ms`)), CASE_LIMIT_MS).unref()),
]);

async function main() {
  const flags = parseFlags(process.argv.slice(2), [
    'server_host', 'server_port', 'test_case', 'use_tls', 'use_test_ca',
    'server_host_override', 'ca_file', 'soak_iterations',
    'soak_per_iteration_max_acceptable_latency_ms',
  ]);
  const target = `${flags.server_host ?? 'localhost'}:${flags.server_port}`;
  const names = (flags.test_case ?? 'large_unary') === 'all' ? ALL : flags.test_case.split(',').map((s) => s.trim());
  const opts = {
    soakIterations: Number(flags.soak_iterations ?? '200'),
    soakMaxLatencyMs: Number(flags.soak_per_iteration_max_acceptable_latency_ms ?? '1000'),
  };
  let creds = grpc.credentials.createInsecure();
  const options = {};
  if (asBool(flags.use_tls)) {
    let roots = null;
    if (flags.ca_file) roots = require('fs').readFileSync(flags.ca_file);
    else if (asBool(flags.use_test_ca)) roots = readCert('ca.pem');
    creds = grpc.credentials.createSsl(roots);
    if (flags.server_host_override) {
      options['grpc.ssl_target_name_override'] = flags.server_host_override;
      options['grpc.default_authority'] = flags.server_host_override;
    }
  }
  const channelArgs = [target, creds, options];
  const client = new testing.TestService(...channelArgs);
  let allPassed = true;
  for (const name of names) {
    const started = Date.now();
    try {
      if (!ALL.includes(name)) throw new Failed(`not a case this client runs: ${name}`);
      await withLimit(cases[name](client, channelArgs, opts));
      console.log(`PASS ${name} (${Date.now() - started} ms)`);
    } catch (err) {
      allPassed = false;
      console.log(`FAIL ${name}: ${describe(err).replace(/\n/g, '\\n')}`);
    }
  }
  client.close();
  process.exit(allPassed ? 0 : 1);
}

main().catch((err) => {
  console.error(`interop_client.js: ${describe(err)}`);
  process.exit(2);
});
