// An independent client for the Spillway coordinator: grpc-js + proto-loader, no Python.
// Usage: node client.js HOST:PORT PROTO_ROOT TOKEN   -> one JSON object on stdout.
'use strict';
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const [address, protoRoot, token] = process.argv.slice(2);
const definition = loader.loadSync(
  ['spillway/v1/operator.proto', 'spillway/v1/miner.proto'],
  { includeDirs: [protoRoot], keepCase: true, longs: String, enums: String, defaults: true },
);
const v1 = grpc.loadPackageDefinition(definition).spillway.v1;
const creds = grpc.credentials.createInsecure();
const operator = new v1.OperatorService(address, creds);
const hashing = new v1.HashingService(address, creds);

// grpc.health.v1.Health/Check by hand: an empty request; the reply's field 1 is the status.
const Health = grpc.makeGenericClientConstructor({
  Check: {
    path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false,
    requestSerialize: () => Buffer.alloc(0), requestDeserialize: (b) => b,
    responseSerialize: (b) => b, responseDeserialize: (b) => (b.length >= 2 ? b[1] : 0),
  },
}, 'Health');
const health = new Health(address, creds);

const unary = (fn, request, metadata) => new Promise((resolve) => {
  fn(request, metadata || new grpc.Metadata(), (err, reply) => resolve({ err, reply }));
});
const bearer = (value) => { const m = new grpc.Metadata(); m.set('authorization', value); return m; };

(async () => {
  const out = {};
  const h = await unary(health.Check.bind(health), {});
  out.health = h.err ? `error ${h.err.code}` : h.reply; // 1 = SERVING

  const status = await unary(operator.GetStatus.bind(operator), {});
  out.status_ok = !status.err && typeof status.reply.server_time === 'object';

  const override = { site: 'js-site', budget_watts: 5, duration: { seconds: 60 } };
  const noToken = await unary(operator.SetBudgetOverride.bind(operator), override);
  out.no_token_code = noToken.err ? noToken.err.code : 0;
  const bad = await unary(operator.SetBudgetOverride.bind(operator),
    { site: 'bad site!', budget_watts: -1, duration: { seconds: 60 } }, bearer(`Bearer ${token}`));
  out.bad_code = bad.err ? bad.err.code : 0;
  out.bad_details = bad.err ? bad.err.details : '';
  out.bad_has_status_details = bad.err ? bad.err.metadata.get('grpc-status-details-bin').length > 0 : false;
  const good = await unary(operator.SetBudgetOverride.bind(operator), override, bearer(`Bearer ${token}`));
  out.set_budget_watts = good.err ? `error ${good.err.code}` : good.reply.budget_override.budget_watts;

  // Server streaming: mainnet block 0's header with its nonce in range.
  const header = Buffer.from(process.env.SPW_HEADER_HEX, 'hex');
  const found = [];
  let progress = 0;
  await new Promise((resolve) => {
    const call = hashing.SearchNonces({
      header, bits: Number(process.env.SPW_BITS), nonce_start: Number(process.env.SPW_START),
      nonce_count: 2000,
    }, bearer(`Bearer ${token}`));
    call.on('data', (m) => { progress = Number(m.hashes_done); m.found.forEach((f) => found.push(f.nonce)); });
    call.on('error', (e) => { out.stream_error = e.code; resolve(); });
    call.on('end', resolve);
  });
  out.stream_found = found;
  out.stream_hashes = progress;
  const badStream = await new Promise((resolve) => {
    const call = hashing.SearchNonces(
      { header: Buffer.alloc(3), bits: 0x1d00ffff, nonce_count: 1 }, bearer(`Bearer ${token}`));
    call.on('data', () => {});
    call.on('error', (e) => resolve(e.code));
    call.on('end', () => resolve(0));
  });
  out.bad_stream_code = badStream;
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
})();
