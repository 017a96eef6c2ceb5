'use strict';
// Shared by the grpc-js interop server and client: the grpc.testing protos
// (loaded at run time from examples/proto), the test certificates and the
// interop flag syntax.

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_DIR = path.join(__dirname, '..', '..', 'examples', 'proto');
const CERTS_DIR = path.join(__dirname, '..', 'certs');

function loadTesting() {
  const definition = protoLoader.loadSync('grpc/testing/test.proto', {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    longs: String,
    enums: Number,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).grpc.testing;
}

function readCert(name) {
  return fs.readFileSync(path.join(CERTS_DIR, name));
}

/** --name=value or --name value, as interop harnesses pass them. */
function parseFlags(argv, known) {
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    let name = arg.slice(2);
    let value;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else {
      i += 1;
      if (i >= argv.length) throw new Error(`--${name} needs a value`);
      value = argv[i];
    }
    if (!known.includes(name)) throw new Error(`unknown flag --${name}; known: --${known.join(', --')}`);
    flags[name] = value;
  }
  return flags;
}

function asBool(value) {
  if (value === undefined || value === 'false' || value === '0' || value === '') return false;
  if (value === 'true' || value === '1') return true;
  throw new Error(`not a boolean: ${value}`);
}

module.exports = { grpc, loadTesting, readCert, parseFlags, asBool };
