// Sharing, in a real browser against `glasshouse demo`: saved segments from
// the filter bar, and shared links made on the dashboard, followed without
// an account (read-only, with the organisation's figures), locked by a
// password, framed only by the sites listed for them, and withdrawn. And
// the traffic alerts' rules stay quiet over the demo's ordinary month.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RESULTS_DIR, glasshouseBin, launchBrowser, newContext } from './support/server.mjs';
import { DEMO_SITE, axeProblems, signIn, startDemo, waitForFigures, watchProblems } from './support/dashboard.mjs';

const DESKTOP = { width: 1280, height: 900 };
let demo, browser;

before(async () => {
  demo = await startDemo({ days: 30, events: 30000 });
  browser = await launchBrowser();
  await mkdir(RESULTS_DIR, { recursive: true });
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

/** A signed-in analyst on the demo site's dashboard. */
async function analyst(search = '?period=7d') {
  const ctx = await newContext(browser, { viewport: DESKTOP });
  const page = await ctx.newPage();
  const problems = watchProblems(page);
  await signIn(page, demo);
  await page.goto(`${demo.url}/sites/${DEMO_SITE}${search}`);
  await waitForFigures(page);
  return { ctx, page, problems };
}

/** The visitors tile's value as the page holds it. */
const visitorsShown = (page) => page.$eval('.gh-tile[data-metric=visitors]', (b) => Number(b.dataset.value));

/** The visitors the API counts for the site over 7 days, with `extra` parameters. */
async function visitors(extra = {}) {
  const q = new URLSearchParams({ site_id: DEMO_SITE, period: '7d', metrics: 'visitors', with_imported: 'true', ...extra });
  const { status, body } = await demo.api(`/api/v1/stats/aggregate?${q}`);
  assert.equal(status, 200, JSON.stringify(body));
  return body.results.visitors.value;
}

/** Makes a link from the Share panel; returns its address. */
async function makeLink(page, { password = '', segment = '' } = {}) {
  if (!(await page.$eval('#share', (d) => d.open))) await page.click('#share summary');
  await page.waitForSelector('#share-list li');
  await page.fill('#share-password', password);
  if (segment) await page.selectOption('#share-segment', { label: segment });
  await page.click('#share-create');
  await page.waitForFunction(() => document.querySelector('#share-url')?.value?.includes('/share/'));
  return page.inputValue('#share-url');
}

test('a segment is saved from the filter bar, applied by id, and removed', async () => {
  const { ctx, page, problems } = await analyst('?period=7d&filters=visit:source%3D%3DGoogle');
  await page.click('.gh-segment-save summary');
  await page.fill('#segment-name', 'From Google');
  await page.check('#segment-shared');
  await page.click('#segment-form button[type=submit]');
  await page.waitForSelector('#segment-chip');
  const id = new URL(page.url()).searchParams.get('segment');
  assert.match(id, /^[0-9a-f]+$/);
  assert.equal(new URL(page.url()).searchParams.get('filters'), null, 'the filters became the segment');
  await waitForFigures(page);
  assert.equal(await visitorsShown(page), await visitors({ filters: 'visit:source==Google' }));
  assert.equal(await visitorsShown(page), await visitors({ segment: id }));
  assert.equal(await page.inputValue('#segment'), id);
  await page.screenshot({ path: join(RESULTS_DIR, 'sharing-segment.png') });
  assert.deepEqual(await axeProblems(page), []);
  await page.selectOption('#segment', '');
  await page.waitForFunction(() => !document.querySelector('#segment-chip'));
  await waitForFigures(page);
  assert.equal(await visitorsShown(page), await visitors());
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('a shared link shows the dashboard read-only without an account, until it is withdrawn', async () => {
  const { ctx, page, problems } = await analyst();
  const url = await makeLink(page);
  await page.screenshot({ path: join(RESULTS_DIR, 'sharing-panel.png') });
  assert.deepEqual(await axeProblems(page), []);

  const stranger = await newContext(browser, { viewport: DESKTOP });
  const view = await stranger.newPage();
  const viewProblems = watchProblems(view);
  const response = await view.goto(`${url}?period=7d`);
  assert.equal(response.headers()['referrer-policy'], 'no-referrer');
  await waitForFigures(view);
  assert.equal(await visitorsShown(view), await visitors());
  assert.match(await view.textContent('#shared-banner'), /read-only view shared by Cabinet Office/);
  assert.equal(await view.isVisible('#account'), false, 'nobody is signed in');
  assert.equal(await view.$('#share'), null, 'no sharing from a link');
  assert.equal(await view.isVisible('#segment'), false, 'the link has its own segment, if any');
  assert.equal(await view.$('#annotation-form'), null, 'no annotations made from a link');
  // Following the dashboard's own links keeps to the link's address.
  await view.selectOption('#period', 'day');
  assert.ok(new URL(view.url()).pathname.startsWith('/share/'), view.url());
  await view.selectOption('#period', '7d');
  await waitForFigures(view);
  await view.waitForTimeout(400);
  await view.screenshot({ path: join(RESULTS_DIR, 'sharing-link.png'), fullPage: true });
  assert.deepEqual(await axeProblems(view), []);
  assert.deepEqual(viewProblems, []);

  // The public register lists it, without its secret.
  const register = await stranger.newPage();
  await register.goto(`${demo.url}/transparency?site=${DEMO_SITE}#links`);
  const listed = await register.textContent('#links + p + table, #links ~ table');
  assert.match(listed, /www\.gov\.uk/);
  assert.ok(!(await register.content()).includes(url.split('/share/')[1]), 'never the secret');
  await register.locator('#links').scrollIntoViewIfNeeded();
  await register.screenshot({ path: join(RESULTS_DIR, 'sharing-register.png') });

  // Withdrawn on the dashboard: the link is gone at once.
  await page.click('#share-list button[data-link]');
  await page.waitForFunction(() => document.querySelector('#share-list')?.textContent?.includes('No links yet'));
  const gone = await view.goto(url);
  assert.equal(gone.status(), 404);
  assert.match(await view.textContent('h1'), /This link does not work/);
  assert.deepEqual(await axeProblems(view), []);
  assert.deepEqual(problems, []);
  await stranger.close();
  await ctx.close();
});

test('a link with a password asks for it first; a segment link shows the segment only', async () => {
  const { ctx, page, problems } = await analyst();
  const segments = (await demo.api(`/api/v1/segments?site_id=${DEMO_SITE}`)).body.results;
  const url = await makeLink(page, { password: 'a long shared secret', segment: segments[0]?.name ?? '' });
  const stranger = await newContext(browser, { viewport: DESKTOP });
  const view = await stranger.newPage();
  await view.goto(`${url}?period=7d`);
  assert.equal(await view.textContent('h1'), 'Enter the password');
  assert.deepEqual(await axeProblems(view), []);
  await view.fill('#password', 'wrong');
  await view.click('button[type=submit]');
  assert.match(await view.textContent('#password-error'), /not right/);
  await view.screenshot({ path: join(RESULTS_DIR, 'sharing-password.png') });
  await view.fill('#password', 'a long shared secret');
  await view.click('button[type=submit]');
  await view.goto(`${url}?period=7d`);
  await waitForFigures(view);
  if (segments[0]) {
    assert.equal(await visitorsShown(view), await visitors({ segment: segments[0].id }));
    assert.match(await view.textContent('#shared-banner'), new RegExp(`segment “${segments[0].name}”`));
  }
  assert.deepEqual(problems, []);
  await stranger.close();
  await ctx.close();
});

test('an embeddable link shows in a frame on the sites listed for it, and nowhere else', async () => {
  const frames = [];
  const host = (src) =>
    new Promise((resolve) => {
      const server = createServer((_, res) => {
        res.setHeader('content-type', 'text/html');
        res.end(`<!doctype html><html lang="en"><title>Partner page</title><iframe title="Figures" src="${src()}" width="1000" height="700"></iframe>`);
      });
      server.listen(0, '127.0.0.1', () => resolve(server));
      frames.push(server);
    });
  let link = '';
  const listed = await host(() => `${link}?embed=true&period=7d`);
  const unlisted = await host(() => `${link}?embed=true&period=7d`);
  const origin = `http://127.0.0.1:${listed.address().port}`;
  const { status, body } = await fetch(`${demo.url}/api/v1/links`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${demo.orgTokens['cabinet-office'] ?? demo.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ site_id: DEMO_SITE, embed: [origin] }),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
  assert.equal(status, 201, JSON.stringify(body));
  link = body.url;

  const ctx = await newContext(browser, { viewport: DESKTOP });
  const page = await ctx.newPage();
  await page.goto(`${origin}/`);
  const frame = await (await page.waitForSelector('iframe')).contentFrame();
  await frame.waitForFunction(() => document.querySelectorAll('.gh-tile[data-value]').length === 6, null, { timeout: 20_000 });
  assert.equal(await frame.isVisible('.gh-header'), false, 'laid out for a frame');
  await page.screenshot({ path: join(RESULTS_DIR, 'sharing-embedded.png') });

  await page.goto(`http://127.0.0.1:${unlisted.address().port}/`);
  await page.waitForTimeout(1500);
  const blocked = await (await page.waitForSelector('iframe')).contentFrame();
  assert.equal(await blocked.$('.gh-tile'), null, 'another site cannot frame it');
  await ctx.close();
  for (const s of frames) s.close();
});

test('traffic alerts stay quiet over the demo\'s ordinary month', () => {
  for (const site of ['www.gov.uk', 'www.mygov.scot', 'gov.wales']) {
    // The running demo answers, through its control socket.
    const out = execFileSync(glasshouseBin(), ['alerts', '--config', join(demo.data, 'glasshouse.toml'), '--site', site, '--days', '30'], { encoding: 'utf8' });
    assert.match(out, new RegExp(`^${site.replace(/\./g, '\\.')}: 0 alerts over the last 30 days`), out);
  }
});

test('all sites on one page: own sites with their charts, partners\' under agreements, combined sums', async () => {
  const { ctx, page, problems } = await analyst();
  await Promise.all([page.waitForURL(/\/overview/), page.click('#all-sites')]);
  await page.goto(`${demo.url}/overview?period=7d`);
  await page.waitForSelector('#combined-pages');
  const shownFor = (site) => page.$eval(`[data-site="${site}"] [data-metric=visitors]`, (d) => Number(d.dataset.value));
  assert.equal(await shownFor(DEMO_SITE), await visitors({ with_imported: 'false' }));
  assert.ok(await page.$(`[data-site="${DEMO_SITE}"] svg.gh-spark polyline`), 'a small chart');
  // Wales shares visitors with the Cabinet Office under an agreement.
  const wales = await page.textContent('[data-site="gov.wales"]');
  assert.match(wales, /Welsh Government, shared under/);
  const { body } = await demo.api(`/api/v1/stats/aggregate?site_id=gov.wales&period=7d&metrics=visitors&purpose=service-improvement`, demo.orgTokens['cabinet-office']);
  assert.equal(await shownFor('gov.wales'), body.results.visitors.value);
  // The combined figures add the chosen sites up, and say so.
  const combined = await page.$eval('#combined [data-metric=visitors]', (d) => Number(d.dataset.value));
  assert.equal(combined, await shownFor(DEMO_SITE));
  assert.match(await page.textContent('#counting-note'), /not de-duplicated/);
  await page.uncheck(`[data-site="${DEMO_SITE}"] input[type=checkbox]`);
  await page.waitForFunction(() => document.querySelector('#combined-title')?.textContent === 'Combined: 0 sites');
  await page.check(`[data-site="${DEMO_SITE}"] input[type=checkbox]`);
  await page.waitForFunction(() => document.querySelector('#combined-title')?.textContent === 'Combined: 1 site');
  await page.screenshot({ path: join(RESULTS_DIR, 'sharing-overview.png'), fullPage: true });
  assert.deepEqual(await axeProblems(page), []);
  assert.deepEqual(problems, []);
  await ctx.close();
});
