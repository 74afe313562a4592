// End-to-end run of SIGEX's ncalayer-js-client against a running qoltanba.
//
// Usage: node e2e.js confirm|cancel|token|gost-token OUT_DIR
// Env:   QOLTANBA_URL (wss://127.0.0.1:PORT), NODE_EXTRA_CA_CERTS (qoltanba's ca.pem).
// Writes what the client returned into OUT_DIR/results.json; the Rust test verifies
// the signatures with openssl. Exits non-zero on any unexpected outcome.
'use strict';

const fs = require('fs');
const path = require('path');
const { NCALayerClient } = require('ncalayer-js-client');

const [mode, outDir] = process.argv.slice(2);
const url = process.env.QOLTANBA_URL;

// Keys the tests use are NCA *test* keys, expired: ask for test CAs and expired keys.
const signer = { extKeyUsageOids: ['1.3.6.1.5.5.7.3.4'], chain: [] };
const detached = { ...NCALayerClient.basicsCMSParamsDetachedNoTSP, allowExpired: true };

async function confirmRun() {
  const client = new NCALayerClient(url, false);
  const results = {};
  results.version = await client.connect();
  results.activeTokens = await client.getActiveTokens();
  results.basicsSignCMS = await client.basicsSignCMS(NCALayerClient.basicsStorageAll, 'MTEK', detached, signer);
  results.basicsSignCMSBatch = await client.basicsSignCMS(
    NCALayerClient.basicsStorageAll, ['MTEK', 'MTIK'], detached, signer,
  );
  // The preset with a timestamp (tsaProfile: {}): the test runs a TSA for it.
  results.basicsSignCMSWithTSP = await client.basicsSignCMS(
    NCALayerClient.basicsStorageAll, 'MTEK', { ...NCALayerClient.basicsCMSParamsDetached, allowExpired: true }, signer,
  );
  results.createCAdESFromBase64 = await client.createCAdESFromBase64('PKCS12', 'MTEK');
  results.createCAdESFromBase64Attached = await client.createCAdESFromBase64('PKCS12', 'MTEK', 'SIGNATURE', true);
  const hash = require('crypto').createHash('sha256').update('11\n').digest('base64');
  results.createCAdESFromBase64Hash = await client.createCAdESFromBase64Hash('PKCS12', hash);
  results.keyInfo = await client.getKeyInfo('PKCS12');
  results.signXml = await client.signXml('PKCS12', '<tag>data</tag>');
  results.signXmls = await client.signXmls('PKCS12', ['<a>1</a>', '<b>2</b>']);
  results.basicsSignXML = await client.basicsSignXML(
    NCALayerClient.basicsStorageAll, '<tag>data</tag>', { allowExpired: true }, { extKeyUsageOids: [], chain: [] },
  );
  return results;
}

async function cancelRun() {
  const client = new NCALayerClient(url, false);
  const results = { version: await client.connect() };
  try {
    await client.basicsSignCMS(NCALayerClient.basicsStorageAll, 'MTEK', detached, signer);
    throw new Error('basicsSignCMS resolved although the user cancelled');
  } catch (err) {
    results.basicsCanceledByUser = err.canceledByUser === true;
    results.basicsMessage = err.message;
  }
  try {
    await client.createCAdESFromBase64('PKCS12', 'MTEK');
    throw new Error('createCAdESFromBase64 resolved although the user cancelled');
  } catch (err) {
    results.commonUtilsMessage = err.message;
  }
  return results;
}

// A token (SoftHSM as KAZTOKEN): the storages the page sees, and CMS signatures with
// the client's hardware-storage presets.
async function tokenRun() {
  const client = new NCALayerClient(url, false);
  const results = { version: await client.connect() };
  results.activeTokens = await client.getActiveTokens();
  results.basicsSignCMSKaztoken = await client.basicsSignCMS(
    NCALayerClient.basicsStorageKAZTOKEN, 'MTEK', detached, signer,
  );
  results.basicsSignCMSHardware = await client.basicsSignCMS(
    NCALayerClient.basicsStorageHardware, ['MTEK', 'MTIK'], detached, signer,
  );
  results.keyInfo = await client.getKeyInfo('AKKaztokenStore');
  return results;
}

// A GOST token (the test PKCS#11 module as the Kazakh ID card).
async function gostTokenRun() {
  const client = new NCALayerClient(url, false);
  const results = { version: await client.connect() };
  results.activeTokens = await client.getActiveTokens();
  results.basicsSignCMSIdCard = await client.basicsSignCMS(
    NCALayerClient.basicsStorageIDCard, 'MTEK', { ...NCALayerClient.basicsCMSParams, decode: true, encapsulate: true }, signer,
  );
  return results;
}

(async () => {
  const runs = { cancel: cancelRun, token: tokenRun, 'gost-token': gostTokenRun };
  const results = await (runs[mode] || confirmRun)();
  fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(results, null, 2));
  process.exit(0);
})().catch((err) => {
  console.error(`e2e failed: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
