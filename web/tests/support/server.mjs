// Test support: starts the real glasshouse binary, a second "customer site"
// server, and a headless Chromium. Everything listens on 127.0.0.1 only.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const here = dirname(fileURLToPath(import.meta.url));

/** The repository's root (web/tests/support → ../../..). */
export const REPO_ROOT = resolve(here, '..', '..', '..');
/** Where the tracker lives in the source tree (the server embeds this file). */
export const TRACKER_PATH = join(REPO_ROOT, 'crates', 'server', 'assets', 'glasshouse.js');
/** Plausible's official npm tracker, installed from the lock file. */
export const PLAUSIBLE_TRACKER = join(REPO_ROOT, 'web', 'node_modules', '@plausible-analytics', 'tracker', 'plausible.js');
/** A results folder for screenshots (git-ignored); its own for a run on ClickHouse. */
export const RESULTS_DIR = resolve(
  here,
  '..',
  '..',
  'test-results',
  process.env.GLASSHOUSE_TEST_STORE === 'clickhouse' ? 'clickhouse' : '',
);

/**
 * An ordinary desktop Chrome User-Agent. Headless Chromium's own contains
 * "HeadlessChrome", which the server rightly treats as a bot.
 */
export const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The glasshouse binary: $GLASSHOUSE_BIN, else the usual build locations. */
export function glasshouseBin() {
  const candidates = [
    process.env.GLASSHOUSE_BIN,
    join(homedir(), '.cache', 'glasshouse', 'target', 'release', 'glasshouse'),
    join(REPO_ROOT, 'target', 'release', 'glasshouse'),
    join(REPO_ROOT, 'target', 'debug', 'glasshouse'),
  ].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `glasshouse binary not found; build it and set GLASSHOUSE_BIN (looked in: ${candidates.join(', ')})`,
    );
  }
  return found;
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort() {
  return new Promise((res, rej) => {
    const srv = createNetServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** Polls `fn` until it returns a truthy value, or throws the last error after `timeout` ms. */
export async function waitFor(fn, { timeout = 5000, interval = 100, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = undefined;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw last || new Error(`timed out after ${timeout} ms waiting for ${message}`);
    }
    await sleep(interval);
  }
}

let current;

/**
 * Starts `glasshouse serve` on a free port with a fresh data directory and a
 * random Stats API token. Returns { url, port, token, dir, statsApi, stop, log }.
 */
export async function startServer({ extraConfig = '' } = {}) {
  const bin = glasshouseBin();
  const dir = await mkdtemp(join(tmpdir(), 'glasshouse-web-'));
  const port = await freePort();
  const token = randomBytes(24).toString('hex');
  const sha256 = createHash('sha256').update(token).digest('hex');
  const configPath = join(dir, 'glasshouse.toml');
  const toml = (s) => JSON.stringify(s); // a TOML basic string is a JSON string for these values
  await writeFile(
    configPath,
    `listen = ${toml(`127.0.0.1:${port}`)}
data_dir = ${toml(join(dir, 'data'))}
trusted_proxies = ["127.0.0.1/32"]

[[organisations]]
id = "test-org"
name = "Test Organisation"

[[sites]]
host = "test.example"
organisation = "test-org"
query_params = ["q"]

[[api_tokens]]
name = "tests"
organisation = "test-org"
sha256 = ${toml(sha256)}
${extraConfig}`,
  );

  let log = '';
  const child = spawn(bin, ['serve', '--config', configPath], {
    cwd: dir,
    env: { ...process.env, RUST_BACKTRACE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const append = (chunk) => {
    log += chunk;
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });

  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`glasshouse exited early (${JSON.stringify(exited)}):\n${log}`);
        const r = await fetch(`${url}/health`);
        return r.status === 200;
      },
      { timeout: 60_000, interval: 200, message: `${url}/health` },
    );
  } catch (e) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`glasshouse did not become healthy: ${e.message}\n--- server log ---\n${log}`);
  }

  async function statsApi(path) {
    const r = await fetch(url + path, { headers: { Authorization: `Bearer ${token}` } });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`GET ${path} → ${r.status}: ${text}`);
    return JSON.parse(text);
  }

  async function stop() {
    if (!exited) {
      const gone = new Promise((res) => child.once('exit', res));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    if (current === server) current = undefined;
    await rm(dir, { recursive: true, force: true });
  }

  const server = { url, port, token, dir, statsApi, stop, log: () => log };
  current = server;
  return server;
}

/** Stats API call against the server started last. */
export async function statsApi(path) {
  if (!current) throw new Error('no glasshouse server started');
  return current.statsApi(path);
}

/** Headless Debian Chromium driven by playwright-core. */
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/** A browser context that looks like an ordinary desktop Chrome. */
export async function newContext(browser, options = {}) {
  return browser.newContext({ userAgent: CHROME_UA, ...options });
}

// ---------------------------------------------------------------------------
// The "customer site": a second origin (another port on 127.0.0.1) whose pages
// embed the tracker from the glasshouse server.

const esc = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/**
 * Starts the customer site. Every HTML page embeds the tracker; the query
 * string tweaks it: ?consent=required adds data-consent, ?queue=1 adds the
 * pre-load queue stub with a queued event, ?allowlocal=0 leaves out
 * data-allow-local, ?api=1 points data-api at the site's own /collect. The page body offers buttons and
 * links for the scenarios. /files/* answers as a download, /elsewhere is a
 * plain page without the tracker.
 */
export async function startSite(glasshouseUrl) {
  const port = await freePort();
  const collected = [];
  const server = createServer((req, res) => {
    const u = new URL(req.url, `http://127.0.0.1:${port}`);
    if (u.pathname === '/collect' && req.method === 'POST') {
      // A stand-in collector for data-api: keeps the bodies it is sent.
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        collected.push({ contentType: req.headers['content-type'], body: JSON.parse(body) });
        res.writeHead(202, { 'access-control-allow-origin': req.headers.origin || '*', 'access-control-allow-credentials': 'true' });
        res.end();
      });
      return;
    }
    if (u.pathname.startsWith('/files/')) {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-disposition': `attachment; filename="${u.pathname.split('/').pop()}"`,
      });
      res.end('not really a file\n');
      return;
    }
    if (u.pathname === '/elsewhere') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!DOCTYPE html><title>Elsewhere</title><h1 id="elsewhere">Another site</h1>');
      return;
    }
    if (u.pathname === '/vendor/plausible.js') {
      // Plausible's own npm tracker, unchanged, as a site would bundle it.
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(readFileSync(PLAUSIBLE_TRACKER));
      return;
    }
    if (u.pathname.startsWith('/plausible/')) {
      // A page of a site that moved from Plausible: its tracker pointed at glasshouse.
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Plausible site ${esc(u.pathname)}</title>
<script src="${esc(glasshouseUrl)}/js/plausible-objection.js"></script>
<script type="module">
import { init, track } from '/vendor/plausible.js';
init({ domain: 'test.example', endpoint: ${JSON.stringify(glasshouseUrl + '/api/event')}, captureOnLocalhost: true });
window.track = track;
</script>
</head><body>
<h1>Plausible site: ${esc(u.pathname)}</h1>
<button id="spa" onclick="history.pushState({}, '', '/plausible/next')">Go to next step</button>
<div style="height:4000px">A long page to scroll through.</div>
</body></html>`);
      return;
    }
    if (u.pathname === '/favicon.ico') {
      res.writeHead(404);
      res.end();
      return;
    }
    const attrs = [
      'defer',
      'data-site="test.example"',
      u.searchParams.get('allowlocal') === '0' ? '' : 'data-allow-local',
      'data-track="outbound,downloads"',
      u.searchParams.get('consent') ? `data-consent="${esc(u.searchParams.get('consent'))}"` : '',
      u.searchParams.has('api') ? `data-api="http://127.0.0.1:${port}/collect"` : '',
      `src="${esc(glasshouseUrl)}/js/glasshouse.js"`,
    ]
      .filter(Boolean)
      .join(' ');
    const queue = u.searchParams.has('queue')
      ? `<script>window.glasshouse = window.glasshouse || function () { (window.glasshouse.q = window.glasshouse.q || []).push(arguments) };
glasshouse('event', 'Queued early', { props: { form: 'queued' } });</script>`
      : '';
    // The outbound link goes to "localhost", a different host from 127.0.0.1.
    const outbound = `http://localhost:${port}/elsewhere`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Customer site ${esc(u.pathname)}</title>
${queue}
<script ${attrs}></script>
</head><body>
<h1>Customer site: ${esc(u.pathname)}</h1>
<button id="spa" onclick="history.pushState({}, '', '/spa/next')">Go to next step</button>
<button id="spa-same" onclick="history.pushState({}, '', location.pathname)">Same page</button>
<button id="event" onclick="glasshouse('event', 'Form submitted', {props: {form: 'visa'}, callback: function (r) { window.lastCallback = r }})">Submit</button>
<button id="consent" onclick="glasshouse('consent', true)">Accept analytics</button>
<a id="outbound" href="${esc(outbound)}">Outbound link</a>
<a id="download" href="/files/report.pdf">Download the report (PDF)</a>
<a id="internal" href="/internal-target">Internal link</a>
${u.searchParams.has('tall') ? '<div style="height:4000px">A long page to scroll through.</div>' : ''}
</body></html>`);
  });
  await new Promise((res) => server.listen(port, '127.0.0.1', res));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    collected,
    stop: () => new Promise((res) => server.close(res)),
  };
}

/** Records every request the page makes to a collector (/api/event, or the site's /collect), with its answer. */
export function watchEvents(page) {
  // Engagement reports (on hide, blur and single-page navigation) are kept
  // apart, in `seen.engagement`, so counts of page views and events stay exact.
  const seen = [];
  seen.engagement = [];
  page.on('request', (req) => {
    const path = new URL(req.url()).pathname;
    if (req.method() === 'POST' && (path === '/api/event' || path === '/collect')) {
      const entry = { request: req, body: JSON.parse(req.postData() || 'null'), response: null };
      (entry.body?.n === 'engagement' ? seen.engagement : seen).push(entry);
      req
        .response()
        .then((r) => {
          entry.response = r;
        })
        .catch(() => {});
    }
  });
  return seen;
}
