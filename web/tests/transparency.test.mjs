// The public transparency register and the impact assessment, in a real
// browser, without signing in: they render under the strict CSP, pass axe,
// state what the demo's configuration says, and list the queries made.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import AxeBuilderModule from '@axe-core/playwright';
import { RESULTS_DIR, launchBrowser, newContext } from './support/server.mjs';
import { startDemo } from './support/dashboard.mjs';

const AxeBuilder = AxeBuilderModule.default ?? AxeBuilderModule;
const DESKTOP = { width: 1280, height: 900 };

let demo, browser;

before(async () => {
  demo = await startDemo({ days: 7, events: 15000 });
  browser = await launchBrowser();
  await mkdir(RESULTS_DIR, { recursive: true });
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

async function open(path) {
  const context = await newContext(browser, { viewport: DESKTOP });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(String(e)));
  const response = await page.goto(demo.url + path);
  return { context, page, response, problems };
}

async function noAxeViolations(page, what) {
  const results = await new AxeBuilder({ page }).analyze();
  assert.deepEqual(
    results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`),
    [],
    `axe on ${what}`,
  );
}

test('the register is public, states the configuration and lists every query', async () => {
  // A query by the Welsh Government's token, which the log must show.
  const { status } = await demo.api('/api/v1/stats/aggregate?site_id=gov.wales&period=7d', demo.orgTokens['welsh-government']);
  assert.equal(status, 200);

  const { context, page, response, problems } = await open('/transparency');
  assert.equal(response.status(), 200);
  const text = await page.locator('main').innerText();
  for (const expected of [
    'Journeys between GOV.UK and GOV.WALES',
    'Cabinet Office',
    'Welsh Government',
    'Scottish Government',
    'Service improvement',
    'Performance reporting',
    'www.mygov.scot',
  ]) {
    assert.ok(text.includes(expected), `the register mentions ${expected}`);
  }
  const json = await (await fetch(demo.url + '/transparency.json')).json();
  const agreement = json.agreements.find((a) => a.id === 'gov-uk-gov-wales-journeys');
  assert.equal(agreement.k, 10);
  assert.ok(text.includes(String(agreement.k)), 'k is on the page');
  // Signed by both parties, each signature checked against its key.
  assert.equal(agreement.in_force, true);
  assert.deepEqual(agreement.unsigned_by, []);
  assert.deepEqual(agreement.signatures.map((s) => [s.organisation, s.verified]).sort(), [['cabinet-office', true], ['welsh-government', true]]);
  assert.match(text, /Welsh Government: signed .*, signature verified/);
  await page.screenshot({ path: join(RESULTS_DIR, 'transparency-desktop.png'), fullPage: true });
  const row = page.locator('tr', { hasText: 'aggregate site=gov.wales' }).first();
  const rowText = await row.innerText();
  assert.ok(/Welsh Government|welsh-government/.test(rowText), `the audit log names the organisation: ${rowText}`);
  assert.ok(rowText.includes('period='), 'the audit log shows the question itself, as parsed');
  assert.ok(!text.includes(demo.orgTokens['welsh-government']), 'no token is shown');
  await noAxeViolations(page, '/transparency');
  assert.deepEqual(problems, [], 'no console errors (CSP included)');
  await context.close();
});

test('one site\'s register and the impact assessment render and pass axe', async () => {
  let { context, page, response } = await open('/transparency?site=www.mygov.scot');
  assert.equal(response.status(), 200);
  const text = await page.locator('main').innerText();
  assert.ok(text.includes('www.mygov.scot'));
  assert.ok(!text.includes('Journeys between GOV.UK and GOV.WALES'), 'no agreement covers this site');
  await noAxeViolations(page, 'the site register');
  await context.close();

  ({ context, page, response } = await open('/transparency/dpia'));
  assert.equal(response.status(), 200);
  const headings = await page.locator('h2').allInnerTexts();
  const sections = ['Identify the need', 'Describe the processing', 'Consultation', 'necessity and proportionality', 'risks', 'measures', 'Sign off'];
  let at = -1;
  for (const s of sections) {
    const i = headings.findIndex((h, j) => j > at && h.toLowerCase().includes(s.toLowerCase()));
    assert.ok(i > at, `DPIA section "${s}" in order: ${headings.join(' | ')}`);
    at = i;
  }
  await noAxeViolations(page, '/transparency/dpia');
  await page.screenshot({ path: join(RESULTS_DIR, 'dpia-desktop.png'), fullPage: true });
  await context.close();
});
