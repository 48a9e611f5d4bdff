// The dashboard's paths and funnels views, served by the real glasshouse
// binary (`glasshouse demo`) in a real browser. Every figure shown is checked
// against the journeys API's answer for the same question.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import AxeBuilderModule from '@axe-core/playwright';
import { CHROME_UA, RESULTS_DIR, launchBrowser, newContext, waitFor } from './support/server.mjs';
import { DEMO_SITE, signIn, startDemo, watchProblems } from './support/dashboard.mjs';

const AxeBuilder = AxeBuilderModule.default ?? AxeBuilderModule;
const DESKTOP = { width: 1280, height: 900 };

let demo, browser;

before(async () => {
  demo = await startDemo();
  browser = await launchBrowser();
  await mkdir(RESULTS_DIR, { recursive: true });
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

/**
 * The token of the Cabinet Office, the signed-in user's organisation: the API
 * then sees what the dashboard sees (the operator's token would also see the
 * Welsh Government's pages that the agreement's k withholds from others).
 */
function token() {
  const t = demo.orgTokens['cabinet-office'];
  assert.ok(t, `the demo prints a Cabinet Office token: ${Object.keys(demo.orgTokens)}`);
  return t;
}

/** A GET of the API as the Cabinet Office; fails the test unless 200. */
async function get(path, params) {
  const q = new URLSearchParams({ site_id: DEMO_SITE, ...params });
  const { status, body } = await demo.api(`/api/v1/${path}?${q}`, token());
  assert.equal(status, 200, `${path}?${q} → ${status}: ${JSON.stringify(body)}`);
  return body;
}

/** A JSON request as the Cabinet Office: { status, body }. */
async function send(method, path, body) {
  const r = await fetch(`${demo.url}/api/v1/${path}`, {
    method,
    headers: { Authorization: `Bearer ${token()}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function funnelStats(steps, extra = {}) {
  const { status, body } = await send('POST', 'stats/funnel', { site_id: DEMO_SITE, period: '30d', steps, ...extra });
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

async function dashboard() {
  const ctx = await newContext(browser, { viewport: DESKTOP, acceptDownloads: true });
  const page = await ctx.newPage();
  const problems = watchProblems(page);
  await signIn(page, demo);
  return { ctx, page, problems };
}

async function axeProblems(page) {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'])
    .analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** How the dashboard writes a median time: 45 s; 2 min 10 s; 1 h 5 min. */
function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const two = (a, au, b, bu) => (b ? `${a} ${au} ${b} ${bu}` : `${a} ${au}`);
  if (s < 60) return `${s} s`;
  if (s < 3600) return two(Math.floor(s / 60), 'min', s % 60, 's');
  if (s < 86400) return two(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'min');
  return two(Math.floor(s / 86400), 'd', Math.floor((s % 86400) / 3600), 'h');
}

/** The funnel table as shown: [{ step, period, visits, visitors, conversion_rate, dropoff, median_seconds, medianText }]. */
async function funnelRows(page) {
  return page.$$eval('#funnel-table tbody tr', (trs) =>
    trs.map((tr) => {
      const row = { step: Number(tr.dataset.step), period: tr.dataset.period, suppressed: !!tr.querySelector('[data-suppressed]') };
      for (const td of tr.querySelectorAll('td[data-metric]')) {
        row[td.dataset.metric] = td.dataset.value === '' ? null : Number(td.dataset.value);
        if (td.dataset.metric === 'median_seconds') row.medianText = td.textContent;
      }
      return row;
    }),
  );
}

function expectFunnel(shown, results, period) {
  const rows = shown.filter((r) => r.period === period);
  assert.equal(rows.length, results.length, `${period}: ${rows.length} rows for ${results.length} steps`);
  results.forEach((r, i) => {
    const s = rows[i];
    assert.equal(s.step, r.step);
    // A step the agreement's k withholds shows no figures, only why.
    assert.equal(s.suppressed, !!r.suppressed, `${period} step ${r.step}: withheld`);
    if (r.suppressed) return;
    for (const k of ['visits', 'visitors', 'conversion_rate', 'median_seconds']) {
      assert.equal(s[k], r[k], `${period} step ${r.step}: ${k} shows ${s[k]}, the API says ${r[k]}`);
    }
    if (r.step > 1) assert.equal(s.dropoff, r.dropoff, `${period} step ${r.step}: drop-off`);
    assert.equal(s.medianText, r.median_seconds == null ? '–' : duration(r.median_seconds));
  });
}

// ---------------------------------------------------------------------------

test('a funnel built in the form is saved, and shows the figures of the funnel API', async () => {
  const { ctx, page, problems } = await dashboard();
  await page.click('.gh-viewnav__link[data-view=funnels]');
  await page.waitForURL(/view=funnels/);
  assert.equal(await page.getAttribute('.gh-viewnav__link[data-view=funnels]', 'aria-current'), 'page');
  await page.waitForSelector('#funnel-create');
  assert.equal(await page.isVisible('#overview'), false, 'the overview is hidden');

  // An empty form is refused, with an error summary linking to each field.
  await page.click('#funnel-create');
  await page.click('#funnel-save');
  await page.waitForSelector('#funnel-errors');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'funnel-errors');
  assert.deepEqual(
    await page.$$eval('#funnel-errors a', (as) => as.map((a) => a.getAttribute('href'))),
    ['#funnel-name', '#step-1-page', '#step-2-page'],
  );
  await page.click('#funnel-errors a[href="#step-2-page"]');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'step-2-page');
  assert.equal(new URL(page.url()).hash, '', 'the address does not change');
  assert.deepEqual(await axeProblems(page), []);

  const steps = [
    { page: '/universal-credit' },
    { page: '/universal-credit/how-to-claim' },
    { page: '/apply-universal-credit' },
    { event: 'Form submitted' },
  ];
  await page.fill('#funnel-name', 'Universal Credit claims');
  await page.fill('#step-1-page', steps[0].page);
  await page.fill('#step-2-page', steps[1].page);
  await page.click('#funnel-add-step');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'step-3-page', 'focus moves to the new step');
  await page.fill('#step-3-page', steps[2].page);
  await page.click('#funnel-add-step');
  await page.check('#step-4-kind-event');
  assert.equal(await page.isVisible('#step-4-page'), false);
  await page.fill('#step-4-event', steps[3].event);
  await page.screenshot({ path: join(RESULTS_DIR, 'funnels-form-desktop.png'), fullPage: true });

  const [saved] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/v1/funnels'),
    page.click('#funnel-save'),
  ]);
  assert.equal(saved.status(), 201);
  const { funnel } = await saved.json();
  await page.waitForURL(new RegExp(`funnel=${funnel.id}`));
  await page.waitForSelector('#funnel-table');
  assert.match(await page.textContent('#funnel-notice'), /Funnel ‘Universal Credit claims’ saved/);

  // Kept by the server as built.
  const list = (await get('funnels', {})).funnels;
  assert.deepEqual(
    list.map((f) => [f.id, f.name, f.steps]),
    [[funnel.id, 'Universal Credit claims', steps]],
  );
  assert.equal(await page.textContent('#funnel-list .gh-funnel-list__link[aria-current]'), 'Universal Credit claims');

  // The table holds the funnel API's figures for the same steps.
  const expected = await funnelStats(steps);
  assert.equal(expected.results.length, 4);
  assert.ok(expected.results[0].visits > 0, `the demo has visits to step 1: ${JSON.stringify(expected.results)}`);
  expectFunnel(await funnelRows(page), expected.results, 'current');
  assert.equal(expected.results[1].conversion_rate <= 100, true);
  // The bar chart is drawn.
  await page.waitForSelector('#funnel-results .gh-funnel-chart svg');
  assert.match(await page.getAttribute('#funnel-results .gh-funnel-chart', 'aria-label'), /Bar chart of visits reaching each of the 4 steps/);

  // Compared with the previous period: both sets of figures, side by side.
  await page.check('#compare');
  await page.waitForSelector('#funnel-table tr[data-period=previous]');
  const compared = await funnelStats(steps, { compare: 'previous_period' });
  const shown = await funnelRows(page);
  expectFunnel(shown, compared.results, 'current');
  expectFunnel(shown, compared.comparison.results, 'previous');
  await page.waitForTimeout(400);
  assert.deepEqual(await axeProblems(page), []);
  await page.screenshot({ path: join(RESULTS_DIR, 'funnels-desktop.png'), fullPage: true });

  // A reload shows the same funnel (the URL holds it).
  await page.reload();
  await page.waitForSelector('#funnel-table tr[data-period=previous]');
  expectFunnel(await funnelRows(page), compared.results, 'current');

  // The server's refusal is shown in the error summary: a step on a site
  // whose journeys are not linked with this one.
  await page.click('#funnel-edit');
  await page.fill('#step-2-site', 'www.mygov.scot');
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'PUT'),
    page.click('#funnel-save'),
  ]);
  assert.equal(refused.status(), 400);
  const reason = (await refused.json()).error;
  await page.waitForSelector('#funnel-errors');
  assert.equal((await page.textContent('#funnel-errors li')).trim(), reason);
  assert.equal(await page.getAttribute('#funnel-errors a', 'href'), '#step-2-site');
  assert.deepEqual(await axeProblems(page), []);
  await page.screenshot({ path: join(RESULTS_DIR, 'funnels-error-desktop.png'), fullPage: true });

  // Renamed, with a step fewer.
  await page.fill('#step-2-site', '');
  await page.fill('#funnel-name', 'Claims started');
  await page.click('.gh-steps__item:nth-child(4) .gh-step__remove');
  const [put] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'PUT'), page.click('#funnel-save')]);
  assert.equal(put.status(), 200);
  await page.waitForFunction(() => document.querySelector('#funnel-results .gh-card__title')?.textContent === 'Claims started');
  await page.waitForSelector('#funnel-table tr[data-step="3"]');
  const fewer = await funnelStats(steps.slice(0, 3), { compare: 'previous_period' });
  await page.waitForFunction(() => document.querySelectorAll('#funnel-table tr[data-period=current]').length === 3);
  expectFunnel(await funnelRows(page), fewer.results, 'current');
  assert.deepEqual((await get('funnels', {})).funnels[0].steps, steps.slice(0, 3));

  // Deleted, after saying yes.
  await page.click('#funnel-delete');
  await page.waitForSelector('.gh-confirm');
  const [gone] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'DELETE'), page.click('#funnel-delete-confirm')]);
  assert.equal(gone.status(), 204);
  await page.waitForSelector('.gh-funnels__intro');
  assert.match(await page.textContent('#funnel-notice'), /deleted/);
  assert.deepEqual((await get('funnels', {})).funnels, []);
  assert.deepEqual(problems.filter((p) => !/ 400 /.test(p)), []);
  await ctx.close();
});

/** The path tables as shown: [{ position, source, target, visits, visitors, share }]. */
async function pathRows(page) {
  return page.$$eval('#paths-table table[data-position] tbody tr', (trs) =>
    trs.map((tr) => {
      const row = {
        position: Number(tr.closest('table').dataset.position),
        source: tr.dataset.source,
        target: tr.dataset.target,
        // A page on this site is a link (its text starts with hidden words); others are text.
        page: tr.querySelector('th a[data-page]')?.dataset.page ?? tr.querySelector('th').textContent,
        site: tr.querySelector('.gh-paths__site').textContent,
      };
      for (const td of tr.querySelectorAll('td[data-metric]')) row[td.dataset.metric] = Number(td.dataset.value);
      return row;
    }),
  );
}

/** Checks the paths view against the API's answer for the same question. */
async function expectPathsEqualApi(page, params) {
  const api = await get('stats/paths', params);
  const byId = new Map(api.nodes.map((n) => [n.id, n]));
  // The figures of the page itself.
  assert.equal(Number(await page.getAttribute('#paths-figures [data-metric=visits]', 'data-value')), api.page.visits);
  assert.equal(Number(await page.getAttribute('#paths-figures [data-metric=visitors]', 'data-value')), api.page.visitors);
  // The diagram has every node.
  assert.equal(Number(await page.getAttribute('.gh-sankey', 'data-nodes')), api.nodes.length);
  // Every link is a table row with the same figures, at the position of its far end.
  const rows = await pathRows(page);
  const missing = api.links.filter((l) => !rows.some((r) => r.source === l.source && r.target === l.target));
  assert.deepEqual(missing, [], `every link has a row (nodes: ${JSON.stringify(api.nodes.map((n) => n.id))})`);
  assert.equal(rows.length, api.links.length, 'one row per link');
  const out = new Map();
  const into = new Map();
  for (const l of api.links) {
    out.set(l.source, (out.get(l.source) ?? 0) + l.visits);
    into.set(l.target, (into.get(l.target) ?? 0) + l.visits);
  }
  for (const l of api.links) {
    const row = rows.find((r) => r.source === l.source && r.target === l.target);
    assert.ok(row, `a row for ${l.source} → ${l.target}`);
    const s = byId.get(l.source);
    const t = byId.get(l.target);
    const far = t.position > 0 ? t : s;
    assert.equal(row.position, far.position);
    assert.equal(row.visits, l.visits);
    assert.equal(row.visitors, l.visitors);
    const whole = far === t ? out.get(l.source) : into.get(l.target);
    assert.equal(row.share, Math.round((l.visits / whole) * 1000) / 10);
    assert.equal(row.page, far.page);
    assert.equal(row.site, far.site || '–none');
  }
  return api;
}

test('paths open from a top pages row; the diagram and tables hold the paths API figures', async () => {
  const { ctx, page, problems } = await dashboard();
  const top = (await get('stats/breakdown', { period: '30d', property: 'event:page', limit: '10' })).results;
  const first = page.locator('#pages table tbody tr:nth-child(1) a[data-explore]');
  assert.equal(await first.textContent(), `Explore paths through ${top[0].page}`);
  await first.click();
  await page.waitForURL(/view=paths/);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('page'), top[0].page);
  assert.equal(url.searchParams.get('period'), '30d', 'the period is kept');
  await page.waitForSelector('.gh-sankey svg path');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'paths-heading');
  assert.equal(await page.inputValue('#paths-page'), top[0].page);
  assert.match(await page.textContent('#journey-paths h2'), new RegExp(`Paths through ${top[0].page.replace(/[/.*+?^${}()|[\]\\]/g, '\\$&')}$`));

  const api = await expectPathsEqualApi(page, { period: '30d', page: top[0].page, depth: '3' });
  assert.ok(api.nodes.length > 1, `the demo has paths through ${top[0].page}`);
  // The CSV holds one row per link, as the tables do.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-download=journey-paths]')]);
  const csv = (await readFile(await download.path(), 'utf8')).replace(/^\ufeff/, '').trim().split('\r\n');
  assert.equal(csv[0], 'Step,From,To,Site,Visits,Visitors,Share %');
  assert.equal(csv.length, api.links.length + 1);
  assert.ok((await page.$$('.gh-sankey svg path')).length > 1, 'the diagram draws nodes and links');
  // Entrances, exits and other pages are drawn in the muted grey.
  if (api.nodes.some((n) => n.kind !== 'page')) {
    assert.ok((await page.$$('.gh-sankey svg path[fill="#b1b4b6"]')).length > 0);
  }

  // Pages through which journeys go on to another site.
  const onward = (await get('stats/paths', { period: '30d', page: '/apply-council-tax-reduction', depth: '2' })).nodes.filter(
    (n) => n.kind === 'page' && n.site && n.site !== DEMO_SITE,
  );
  await page.fill('#paths-page', '/apply-council-tax-reduction');
  await page.selectOption('#paths-depth', '2');
  await page.waitForURL(/depth=2/);
  await page.waitForFunction(() => document.querySelector('#journey-paths h2')?.textContent.endsWith('/apply-council-tax-reduction'));
  await page.waitForFunction(() => !document.querySelector('#journey-paths[aria-busy]'));
  await page.click('#paths-table summary');
  await expectPathsEqualApi(page, { period: '30d', page: '/apply-council-tax-reduction', depth: '2' });
  if (onward.length) {
    // In the diagram, another site's page is labelled with its host.
    const texts = await page.$$eval('.gh-sankey svg text', (ts) => ts.map((t) => t.textContent));
    assert.ok(texts.some((t) => t.includes(onward[0].site)), `a label names ${onward[0].site}: ${texts.join(' | ')}`);
    assert.ok((await page.$$('.gh-sankey svg path[fill="#4c2c92"]')).length > 0, 'drawn in purple');
  }
  await page.waitForTimeout(300);
  assert.deepEqual(await axeProblems(page), []);
  await page.screenshot({ path: join(RESULTS_DIR, 'paths-desktop.png'), fullPage: true });

  // A page in a table explores paths through it.
  const link = page.locator('#paths-table a.gh-paths__link').first();
  const next = await link.getAttribute('data-page');
  await link.click();
  await page.waitForFunction((p) => new URLSearchParams(location.search).get('page') === p, next);
  await page.waitForFunction(() => !document.querySelector('#journey-paths[aria-busy]'));
  await expectPathsEqualApi(page, { period: '30d', page: next, depth: '2' });

  // So does a page node in the diagram; Back returns to the page before.
  const before = new URL(page.url()).searchParams.get('page');
  const node = page.locator('.gh-sankey svg path[fill="#1d70b8"]:not([fill-opacity])').first();
  assert.ok(await node.count(), 'a page node on this site');
  await node.click({ force: true });
  await page.waitForFunction((p) => new URLSearchParams(location.search).get('page') !== p, before);
  await page.waitForFunction(() => !document.querySelector('#journey-paths[aria-busy]'));
  const now = new URL(page.url()).searchParams.get('page');
  await expectPathsEqualApi(page, { period: '30d', page: now, depth: '2' });
  await page.goBack();
  await page.waitForFunction((p) => new URLSearchParams(location.search).get('page') === p, before);
  await page.waitForFunction(() => document.querySelector('#journey-paths h2')?.textContent.startsWith('Paths through'));

  // The view shares the period and the filters with the overview.
  await page.goto(`${demo.url}/sites/${DEMO_SITE}?view=paths&page=/universal-credit&depth=1&period=7d&filters=visit:device==Desktop`);
  await page.waitForSelector('.gh-sankey svg path');
  await page.waitForFunction(() => !document.querySelector('#journey-paths[aria-busy]'));
  assert.equal(await page.inputValue('#period'), '7d');
  assert.equal((await page.textContent('.gh-chip .gh-chip__text')).trim(), 'Device is Desktop');
  assert.equal(await page.isVisible('#compare'), false, 'no comparison for paths');
  await expectPathsEqualApi(page, { period: '7d', page: '/universal-credit', depth: '1', filters: 'visit:device==Desktop' });
  assert.deepEqual(
    await page.$$eval('#paths-table table[data-position]', (ts) => ts.map((t) => t.dataset.position)),
    ['-1', '1'],
  );
  await page.click('.gh-viewnav__link[data-view=overview]');
  await page.waitForSelector('#overview:not([hidden]) .gh-tile[data-value]');
  const back = new URL(page.url());
  assert.equal(back.searchParams.get('period'), '7d');
  assert.equal(back.searchParams.get('filters'), 'visit:device==Desktop');
  assert.equal(back.searchParams.get('view'), null);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('page and event names from browsers are shown as text in paths and funnels', async () => {
  const hostile = {
    page: '/journey-xss/<script>window.__xss=1</script>',
    img: '/journey-xss/<img src=x onerror=window.__xss=1>',
    event: '<img src=x onerror=window.__xss=1>',
  };
  // Ten visitors, the journey agreement's k: GOV.UK's journeys are linked
  // with GOV.WALES, so pages two steps out are released only from k up.
  const post = async (name, path) => {
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const r = await fetch(`${demo.url}/api/event`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'User-Agent': CHROME_UA, 'X-Forwarded-For': `198.51.100.${61 + i}` },
          body: JSON.stringify({ name, url: `https://www.gov.uk${path}`, domain: DEMO_SITE }),
        });
        assert.equal(r.status, 202, await r.text());
      }),
    );
    await new Promise((res) => setTimeout(res, 1100));
  };
  await post('pageview', '/journey-xss-start');
  await post('pageview', hostile.page);
  await post('pageview', hostile.img);
  await post(hostile.event, hostile.img);

  // Wait until the journey is in the store.
  const stored = await waitFor(
    async () => {
      const r = await get('stats/paths', { period: 'day', page: '/journey-xss-start', depth: '2' });
      return r.nodes.filter((n) => n.kind === 'page' && n.page.includes('journey-xss/')).length >= 2 ? r : null;
    },
    { timeout: 20_000, interval: 500, message: 'the hostile journey in the paths API' },
  );
  const pages = stored.nodes.filter((n) => n.kind === 'page' && n.page.includes('journey-xss/')).map((n) => n.page);
  const scriptPage = pages.find((p) => p.includes('script'));
  assert.ok(scriptPage, `stored: ${JSON.stringify(pages)}`);

  const { ctx, page, problems } = await dashboard();
  await page.goto(`${demo.url}/sites/${DEMO_SITE}?view=paths&page=/journey-xss-start&depth=2&period=day`);
  await page.waitForSelector('.gh-sankey svg path');
  await page.click('#paths-table summary');
  const shown = (await pathRows(page)).map((r) => r.page);
  for (const p of pages) assert.ok(shown.includes(p), `${p} is shown as text among ${JSON.stringify(shown)}`);
  const labels = await page.$$eval('.gh-sankey svg text', (ts) => ts.map((t) => t.textContent).join(' '));
  assert.ok(labels.includes('<script>') || labels.includes('<img'), `the diagram labels show the names as text: ${labels}`);

  // A funnel whose name and steps hold markup.
  const created = await send('POST', 'funnels', {
    site_id: DEMO_SITE,
    name: '<img src=x onerror=window.__xss=1> funnel',
    steps: [{ page: '/journey-xss-start' }, { page: scriptPage }, { event: hostile.event }],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await page.goto(`${demo.url}/sites/${DEMO_SITE}?view=funnels&funnel=${created.body.funnel.id}&period=day`);
  await page.waitForSelector('#funnel-table');
  assert.equal(await page.textContent('#funnel-results h2'), '<img src=x onerror=window.__xss=1> funnel');
  assert.equal(await page.textContent('#funnel-list .gh-funnel-list__link[aria-current]'), '<img src=x onerror=window.__xss=1> funnel');
  const steps = await page.$$eval('#funnel-table tbody th', (ths) => ths.map((th) => th.textContent));
  assert.deepEqual(steps, ['1. /journey-xss-start', `2. ${scriptPage}`, `3. Event: ${hostile.event}`]);
  const expected = await funnelStats([{ page: '/journey-xss-start' }, { page: scriptPage }, { event: hostile.event }], { period: 'day' });
  expectFunnel(await funnelRows(page), expected.results, 'current');
  assert.ok(expected.results[2].visits >= 1, `the hostile event counts: ${JSON.stringify(expected.results)}`);

  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.equal(await page.$$eval('#app img, #app script, #app iframe', (els) => els.length), 0);
  await send('DELETE', `funnels/${created.body.funnel.id}?site_id=${DEMO_SITE}`);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('both views fit a phone screen and pass axe there', async () => {
  const ctx = await newContext(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await ctx.newPage();
  const problems = watchProblems(page);
  await signIn(page, demo);
  const created = await send('POST', 'funnels', {
    site_id: DEMO_SITE,
    name: 'Passport renewals',
    steps: [{ page: '/apply-renew-passport' }, { event: 'Start now' }],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));

  await page.goto(`${demo.url}/sites/${DEMO_SITE}?view=paths&page=/universal-credit`);
  await page.waitForSelector('.gh-sankey svg path');
  await page.waitForFunction(() => !document.querySelector('#journey-paths[aria-busy]'));
  // Against the screen's width: a phone browser widens its layout viewport to fit wide content.
  let overflow = await page.evaluate(() => document.documentElement.scrollWidth - 390);
  assert.ok(overflow <= 0, `the paths view scrolls sideways by ${overflow}px`);
  // The diagram scrolls within its own box, which the keyboard can reach.
  assert.equal(await page.getAttribute('.gh-sankey-scroll', 'tabindex'), '0');
  assert.deepEqual(await axeProblems(page), []);
  await page.screenshot({ path: join(RESULTS_DIR, 'paths-phone.png'), fullPage: true });

  await page.goto(`${demo.url}/sites/${DEMO_SITE}?view=funnels&funnel=${created.body.funnel.id}`);
  await page.waitForSelector('#funnel-results .gh-funnel-chart svg');
  overflow = await page.evaluate(() => document.documentElement.scrollWidth - 390);
  assert.ok(overflow <= 0, `the funnels view scrolls sideways by ${overflow}px`);
  assert.deepEqual(await axeProblems(page), []);
  await page.screenshot({ path: join(RESULTS_DIR, 'funnels-phone.png'), fullPage: true });
  await send('DELETE', `funnels/${created.body.funnel.id}?site_id=${DEMO_SITE}`);
  assert.deepEqual(problems, []);
  await ctx.close();
});
