'use strict';
// A grpc-js interop server: grpc.testing.TestService as the interop test
// descriptions define it, for the cross-implementation matrix.
//
//   node interop_server.js --port 0 --use_tls true
//
// Prints "listening on PORT" once it serves; stops on SIGTERM or Ctrl-C.
//
// grpc-js can neither compress chosen response messages nor see whether a
// request message arrived compressed, so the compressed cases are not
// applicable against this server (the matrix says so).

const { grpc, loadTesting, readCert, parseFlags, asBool } = require('./common');

const testing = loadTesting();
const MAX_SIZE = 4 * 1024 * 1024;

function echoMetadata(call) {
  const md = call.metadata;
  const initial = new grpc.Metadata();
  const trailing = new grpc.Metadata();
  for (const v of md.get('x-grpc-test-echo-initial')) initial.add('x-grpc-test-echo-initial', v);
  for (const v of md.get('x-grpc-test-echo-trailing-bin')) trailing.add('x-grpc-test-echo-trailing-bin', v);
  call.sendMetadata(initial);
  return trailing;
}

function requestedStatus(status, trailing) {
  if (!status || !status.code) return null;
  return { code: status.code, details: status.message, metadata: trailing };
}

function payload(size) {
  if (size < 0 || size > MAX_SIZE) {
    const err = new Error(`response size ${size}`);
    err.code = grpc.status.INVALID_ARGUMENT;
    throw err;
  }
  return { type: 0, body: Buffer.alloc(size) };
}

const sleep = (us) => new Promise((resolve) => setTimeout(resolve, us / 1000));

/** Writes one response per parameter, honouring interval_us. */
async function writeResponses(call, params) {
  for (const p of params) {
    if (p.interval_us > 0) await sleep(p.interval_us);
    if (call.cancelled) return false;
    call.write({ payload: payload(p.size) });
  }
  return true;
}

function fail(call, err, trailing) {
  call.emit('error', {
    code: err.code ?? grpc.status.UNKNOWN,
    details: err.details ?? err.message,
    metadata: err.metadata ?? trailing,
  });
}

const service = {
  EmptyCall(call, callback) {
    callback(null, {});
  },

  UnaryCall(call, callback) {
    const trailing = echoMetadata(call);
    const req = call.request;
    const status = requestedStatus(req.response_status, trailing);
    if (status) return callback(status);
    try {
      callback(null, { payload: payload(req.response_size) }, trailing);
    } catch (err) {
      callback({ code: err.code, details: err.message, metadata: trailing });
    }
  },

  CacheableUnaryCall(call, callback) {
    service.UnaryCall(call, callback);
  },

  async StreamingOutputCall(call) {
    const trailing = echoMetadata(call);
    try {
      if (!(await writeResponses(call, call.request.response_parameters))) return;
      const status = requestedStatus(call.request.response_status, trailing);
      if (status) return fail(call, status, trailing);
      call.end(trailing);
    } catch (err) {
      fail(call, err, trailing);
    }
  },

  StreamingInputCall(call, callback) {
    const trailing = echoMetadata(call);
    let total = 0;
    call.on('data', (req) => {
      total += req.payload ? req.payload.body.length : 0;
    });
    call.on('end', () => callback(null, { aggregated_payload_size: total }, trailing));
    call.on('error', () => {});
  },

  FullDuplexCall(call) {
    const trailing = echoMetadata(call);
    let chain = Promise.resolve(true);
    let done = false;
    call.on('data', (req) => {
      chain = chain.then(async (ok) => {
        if (!ok || done) return false;
        const status = requestedStatus(req.response_status, trailing);
        if (status) {
          done = true;
          fail(call, status, trailing);
          return false;
        }
        return writeResponses(call, req.response_parameters);
      }).catch((err) => {
        done = true;
        fail(call, err, trailing);
        return false;
      });
    });
    call.on('end', () => {
      chain.then((ok) => {
        if (ok && !done) call.end(trailing);
      });
    });
    call.on('error', () => {});
  },

  HalfDuplexCall(call) {
    const trailing = echoMetadata(call);
    const params = [];
    let status = null;
    call.on('data', (req) => {
      status = status || requestedStatus(req.response_status, trailing);
      params.push(...req.response_parameters);
    });
    call.on('end', async () => {
      if (status) return fail(call, status, trailing);
      try {
        if (await writeResponses(call, params)) call.end(trailing);
      } catch (err) {
        fail(call, err, trailing);
      }
    });
    call.on('error', () => {});
  },
};

function main() {
  const flags = parseFlags(process.argv.slice(2), ['port', 'use_tls']);
  const port = Number(flags.port ?? '10000');
  const useTls = asBool(flags.use_tls);
  const server = new grpc.Server();
  // UnimplementedCall is left out on purpose: grpc-js answers UNIMPLEMENTED.
  const { UnimplementedCall, ...implemented } = testing.TestService.service;
  void UnimplementedCall;
  server.addService(implemented, service);
  const creds = useTls
    ? grpc.ServerCredentials.createSsl(null, [
        { private_key: readCert('server1.key'), cert_chain: readCert('server1.pem') },
      ])
    : grpc.ServerCredentials.createInsecure();
  server.bindAsync(`0.0.0.0:${port}`, creds, (err, bound) => {
    if (err) {
      console.error(`interop_server.js: ${err.message}`);
      process.exit(2);
    }
    console.log(`listening on ${bound} (${useTls ? 'TLS' : 'h2c'})`);
  });
  const stop = () => server.tryShutdown(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
