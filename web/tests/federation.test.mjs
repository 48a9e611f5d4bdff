// Two organisations, two nodes (separate processes, own data directories),
// set up as their operators would: keys from `glasshouse agreement keygen`,
// the agreement signed by both with `glasshouse agreement sign`, an account
// from `glasshouse user add`. Visitors cross from GOV.UK to mygov.scot; the
// nodes cross midnight together (GLASSHOUSE_CLOCK_OFFSET_FILE) and compute
// the day's figure; the GOV.UK analyst sees it on the Funnels view, marked
// as computed privately, and the card passes axe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RESULTS_DIR, freePort, glasshouseBin, launchBrowser, newContext, waitFor } from './support/server.mjs';
import { axeProblems, watchProblems } from './support/dashboard.mjs';

const NODES = [
  { org: 'cabinet-office', name: 'Cabinet Office', site: 'www.gov.uk' },
  { org: 'scottish-government', name: 'Scottish Government', site: 'www.mygov.scot' },
];
const CROSSING = 14;
const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

function run(args, input) {
  return execFileSync(glasshouseBin(), args, { input, encoding: 'utf8' });
}

function keygen(dir, name) {
  const out = run(['agreement', 'keygen', '--organisation', name, '--out', join(dir, `${name}.key`)]);
  return /signing_key = "([^"]+)"/.exec(out)[1];
}

function config(dir, n, { keys, nodeKeys, signatures, token, user }) {
  const q = JSON.stringify;
  let c = `listen = ${q(`127.0.0.1:${n.port}`)}\ndata_dir = ${q(join(dir, n.org))}\ntrusted_proxies = ["127.0.0.1/32"]\n`;
  for (const o of NODES) {
    c += `\n[[organisations]]\nid = ${q(o.org)}\nname = ${q(o.name)}\nsigning_key = ${q(keys[o.org])}\n`;
    c += `\n[[sites]]\nhost = ${q(o.site)}\norganisation = ${q(o.org)}\ntimezone = "Europe/London"\n`;
  }
  const nodes = NODES.map((o) => `{ organisation = ${q(o.org)}, url = ${q(`http://127.0.0.1:${o.port}`)}, key = ${q(nodeKeys[o.org])} }`);
  c += `\n[[agreements]]\nid = "uk-scot"\n${signatures ? `signatures = [${signatures.join(', ')}]\n` : ''}title = "GOV.UK and mygov.scot journeys"\nparties = ["cabinet-office", "scottish-government"]\nsites = ["www.gov.uk", "www.mygov.scot"]\npurposes = ["service-improvement"]\nmetrics = ["visitors"]\nk = 5\nstart = "2026-01-01"\nsignatories = ["Jane Doe, Chief Data Officer, Cabinet Office", "Iain Smith, Data Protection Officer, Scottish Government"]\nnodes = [${nodes.join(', ')}]\n`;
  c += `\n[[agreements.figures]]\nid = "cost-of-living-then-apply"\ntitle = "Read cost of living help on GOV.UK, then applied on mygov.scot"\nsteps = [{ site = "www.gov.uk", page = "/cost-of-living/**" }, { site = "www.mygov.scot", page = "/apply/**" }]\n`;
  c += `\n[[api_tokens]]\nname = "analyst"\norganisation = ${q(n.org)}\nrole = "analyst"\nsha256 = ${q(createHash('sha256').update(token).digest('hex'))}\n`;
  if (user) c += `\n${user}\n`;
  c += `\n[node]\norganisation = ${q(n.org)}\nkey_file = ${q(join(dir, `${n.org}-node.key`))}\n`;
  return c;
}

async function configure(dir) {
  for (const n of NODES) n.port = await freePort();
  const keys = Object.fromEntries(NODES.map((n) => [n.org, keygen(dir, n.org)]));
  const nodeKeys = Object.fromEntries(NODES.map((n) => [n.org, keygen(dir, `${n.org}-node`)]));
  const token = randomBytes(16).toString('hex');
  const password = randomBytes(12).toString('hex');
  const user = run(['user', 'add', '--organisation', 'cabinet-office', '--role', 'analyst', 'analyst'], `${password}\n`)
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  // Each party signs the same terms; both nodes hold the signed agreement.
  const draft = join(dir, 'draft.toml');
  await writeFile(draft, config(dir, NODES[0], { keys, nodeKeys, token }));
  const signatures = NODES.map((n) =>
    run(['agreement', 'sign', '--config', draft, '--agreement', 'uk-scot', '--organisation', n.org, '--key', join(dir, `${n.org}.key`)])
      .trim()
      .split('\n')
      .pop(),
  );
  for (const n of NODES) {
    n.config = join(dir, `${n.org}.toml`);
    n.url = `http://127.0.0.1:${n.port}`;
    await writeFile(n.config, config(dir, n, { keys, nodeKeys, signatures, token, user: n.org === 'cabinet-office' ? user : '' }));
  }
  return { token, password };
}

function serve(n, clock) {
  let log = '';
  n.child = spawn(glasshouseBin(), ['serve', '--config', n.config], {
    env: { ...process.env, GLASSHOUSE_CLOCK_OFFSET_FILE: clock },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  n.child.stderr.on('data', (c) => (log = (log + c).slice(-50_000)));
  n.log = () => log;
  return waitFor(async () => (await fetch(`${n.url}/ready`).catch(() => ({ status: 0 }))).status === 200, {
    timeout: 60_000,
    message: `${n.org} ready`,
  });
}

async function linkKeyAgreed(dir, org, day) {
  const state = await readFile(join(dir, org, 'federation', 'state.json'), 'utf8').catch(() => '{}');
  return Object.entries(JSON.parse(state).keys ?? {}).some(([k, v]) => k.endsWith(day) && v.key);
}

async function view(n, visitor, path) {
  const r = await fetch(`${n.url}/api/event`, {
    method: 'POST',
    headers: { 'user-agent': `${UA} v${visitor}`, 'x-forwarded-for': `203.0.113.${visitor + 1}`, 'content-type': 'text/plain' },
    body: JSON.stringify({ n: 'pageview', u: `https://${n.site}${path}`, d: n.site }),
  });
  assert.equal(r.status, 202, await r.text());
}

async function figure(n, token) {
  const r = await fetch(`${n.url}/api/v1/federation/figures?site_id=${n.site}&agreement=uk-scot&period=7d`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(r.status, 200);
  return (await r.json()).results[0].days;
}

test('a figure computed privately between two nodes is shown on the Funnels view', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'glasshouse-federation-'));
  const clock = join(dir, 'clock');
  await writeFile(clock, '0');
  const browser = await launchBrowser();
  try {
    const { token, password } = await configure(dir);
    await Promise.all(NODES.map((n) => serve(n, clock)));
    const day = new Date().toISOString().slice(0, 10);
    await waitFor(async () => (await linkKeyAgreed(dir, 'cabinet-office', day)) && (await linkKeyAgreed(dir, 'scottish-government', day)), {
      timeout: 60_000,
      message: "today's link key",
    });
    const [uk, scot] = NODES;
    for (let v = 0; v < CROSSING; v++) {
      await view(uk, v, '/cost-of-living/help');
      await view(scot, v, '/apply/council-tax-reduction');
    }
    for (let v = 100; v < 110; v++) await view(uk, v, '/cost-of-living');
    for (let v = 200; v < 206; v++) await view(scot, v, '/apply/blue-badge');
    // Midnight passes on both nodes; the counting node computes the day.
    const midnight = Date.parse(`${day}T00:00:00Z`) + 86_400_000;
    await writeFile(clock, String(Math.ceil((midnight - Date.now()) / 1000) + 120));
    await waitFor(async () => (await figure(uk, token)).some((d) => d.date === day && d.status === 'released'), {
      timeout: 90_000,
      message: `the figure (${uk.log().slice(-2000)})`,
    });
    const released = (await figure(uk, token)).find((d) => d.date === day);
    assert.equal(released.visitors, CROSSING);
    assert.equal((await figure(scot, token)).find((d) => d.date === day).visitors, CROSSING);

    const context = await newContext(browser, { viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    const problems = watchProblems(page);
    await page.goto(`${uk.url}/login`);
    await page.fill('#username', 'analyst');
    await page.fill('#password', password);
    await Promise.all([page.waitForURL(/\/sites\//), page.click('button[type=submit]')]);
    await page.goto(`${uk.url}/sites/www.gov.uk?view=funnels&period=7d`);
    const row = page.locator(`.gh-card--federated tr[data-status="released"]`).first();
    await row.waitFor({ timeout: 20_000 });
    assert.match(await row.innerText(), new RegExp(`${CROSSING}`));
    const card = page.locator('.gh-card--federated');
    assert.match(await card.innerText(), /Computed privately/);
    assert.match(await card.innerText(), /neither received the other’s visits or visitor ids/);
    await card.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(RESULTS_DIR, 'federated.png'), fullPage: true });
    assert.deepEqual(await axeProblems(page), []);
    assert.deepEqual(problems, []);
    await context.close();
  } finally {
    await browser.close();
    for (const n of NODES) n.child?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await rm(dir, { recursive: true, force: true });
  }
});
