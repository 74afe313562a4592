// The example page (examples/web) in headless Chromium, against a running qoltanba.
//
// Usage: node browser.js OUT_DIR
// Env:   QOLTANBA_URL (wss://127.0.0.1:PORT), NSS_HOME (a HOME whose .pki/nssdb trusts
//        qoltanba's CA, as a user's browser would), CHROMIUM (default /usr/bin/chromium).
// Serves examples/web on http://localhost:<free port> (the client script from this
// folder's node_modules, same pinned version), clicks "Sign", and writes the CMS the
// page shows into OUT_DIR/page-cms.pem. With EXPECT_FAILURE set, the page must fail
// to connect; what it says goes into OUT_DIR/page-status.txt.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const { chromium } = require('playwright-core');

const [outDir] = process.argv.slice(2);
const pageDir = path.join(__dirname, '..', '..', 'examples', 'web');
const clientJs = path.join(__dirname, 'node_modules', 'ncalayer-js-client', 'ncalayer-client.js');

function serve() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    let file = null;
    if (url.pathname === '/' || url.pathname === '/index.html') file = path.join(pageDir, 'index.html');
    if (url.pathname === '/node_modules/ncalayer-js-client/ncalayer-client.js') file = clientJs;
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    const type = file.endsWith('.html') ? 'text/html; charset=utf-8' : 'text/javascript';
    res.writeHead(200, { 'Content-Type': type }).end(fs.readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

(async () => {
  const server = await serve();
  const pageUrl = `http://localhost:${server.address().port}/?url=${encodeURIComponent(process.env.QOLTANBA_URL)}`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    env: { ...process.env, HOME: process.env.NSS_HOME },
  });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => console.error(`page: ${m.text()}`));
    await page.goto(pageUrl);
    await page.click('#sign');
    await page.waitForFunction(
      () => document.getElementById('result').value.startsWith('-----BEGIN CMS-----')
        || document.getElementById('status').className === 'error',
      null,
      { timeout: 20000 },
    );
    const status = await page.textContent('#status');
    const cms = await page.inputValue('#result');
    if (process.env.EXPECT_FAILURE) {
      // The browser must refuse the connection: the page reports an error, no CMS.
      if (cms.startsWith('-----BEGIN CMS-----')) throw new Error('the page signed although it should not connect');
      fs.writeFileSync(path.join(outDir, 'page-status.txt'), status);
      return;
    }
    if (!cms.startsWith('-----BEGIN CMS-----')) throw new Error(`page says: ${status}`);
    fs.writeFileSync(path.join(outDir, 'page-cms.pem'), cms);
    fs.writeFileSync(path.join(outDir, 'page-text.txt'), await page.inputValue('#text'));
  } finally {
    await browser.close();
    server.close();
  }
})().catch((err) => {
  console.error(`browser run failed: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
