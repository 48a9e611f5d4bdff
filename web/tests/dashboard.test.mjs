// The dashboard and the sign-in page, served by the real glasshouse binary
// (`glasshouse demo`, with its demo data, user and tokens), in a real browser.
// Every figure on the page is checked against the Stats API's answer.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CHROME_UA, REPO_ROOT, RESULTS_DIR, launchBrowser, newContext, waitFor } from './support/server.mjs';
import { DEMO_SITE, axeProblems, signIn, startDemo, waitForFigures, watchProblems } from './support/dashboard.mjs';


const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const METRICS = ['visitors', 'visits', 'pageviews', 'views_per_visit', 'bounce_rate', 'visit_duration'];
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

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
 * The Stats API with the operator token; fails the test on any error. The
 * demo site has an imported history, which the dashboard shows unless told
 * not to: so is it asked for here.
 */
async function api(endpoint, params) {
  const q = new URLSearchParams({ site_id: DEMO_SITE, with_imported: 'true', ...params });
  const { status, body } = await demo.api(`/api/v1/stats/${endpoint}?${q}`);
  assert.equal(status, 200, `${endpoint}?${q} → ${status}: ${JSON.stringify(body)}`);
  return body;
}

/** A signed-in page on the dashboard (desktop size unless told), watched for problems. */
async function dashboard(options = {}) {
  const ctx = await newContext(browser, { viewport: DESKTOP, acceptDownloads: true, ...options.context });
  const page = await ctx.newPage();
  const problems = watchProblems(page);
  await signIn(page, demo);
  return { ctx, page, problems };
}

const whole = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });
/** How the dashboard writes a metric in a tile. */
function formatted(metric, v) {
  switch (metric) {
    case 'views_per_visit':
      return v.toLocaleString('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    case 'bounce_rate':
      return `${whole.format(v)}%`;
    case 'visit_duration': {
      const s = Math.round(v);
      if (s < 60) return `${s}s`;
      if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
      return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
    }
    default:
      return whole.format(v);
  }
}

/** The tiles as shown: { metric: { value, text, change } }. */
async function tiles(page) {
  return page.$$eval('.gh-tile', (els) =>
    Object.fromEntries(
      els.map((b) => [
        b.dataset.metric,
        {
          value: b.dataset.value === undefined ? null : Number(b.dataset.value),
          text: b.querySelector('.gh-tile__value').textContent,
          change: b.dataset.change === undefined ? null : Number(b.dataset.change),
        },
      ]),
    ),
  );
}

async function expectTilesEqualApi(page, params, label) {
  const expected = (await api('aggregate', { metrics: METRICS.join(','), ...params })).results;
  const shown = await tiles(page);
  for (const m of METRICS) {
    assert.equal(shown[m].value, expected[m].value, `${label}: ${m} tile shows ${shown[m].value}, the API says ${expected[m].value}`);
    assert.equal(shown[m].text, formatted(m, expected[m].value), `${label}: ${m} is written ${shown[m].text}`);
    if ('change' in expected[m]) assert.equal(shown[m].change, expected[m].change, `${label}: ${m} change`);
  }
  return expected;
}

/** Rows of a breakdown table: [{ value, metric: number, ... }]. */
async function tableRows(page, selector) {
  return page.$$eval(`${selector} table.gh-breakdown tbody tr`, (trs) =>
    trs.map((tr) => {
      const name = tr.querySelector('th');
      const button = name.querySelector('button');
      const row = { value: button ? button.dataset.value : name.textContent, text: name.textContent };
      for (const td of tr.querySelectorAll('td[data-metric]')) row[td.dataset.metric] = Number(td.dataset.value);
      return row;
    }),
  );
}

async function downloaded(page, click) {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  const text = await readFile(await download.path(), 'utf8');
  return { name: download.suggestedFilename(), text: text.replace(/^\ufeff/, '') };
}

/** Parses CSV (RFC 4180) into rows of strings. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}

// ---------------------------------------------------------------------------

test('the sign-in page works without JavaScript, under the CSP, and passes axe', async () => {
  const ctx = await newContext(browser, { viewport: DESKTOP, javaScriptEnabled: false });
  const page = await ctx.newPage();
  const response = await page.goto(`${demo.url}/login`);
  assert.equal(response.status(), 200);
  assert.equal(response.headers()['content-security-policy'], CSP);
  assert.equal(await page.title(), 'Sign in – glasshouse');
  const html = await response.text();
  assert.ok(!html.includes('<!--glasshouse:'), 'every marker is filled in');
  assert.equal(await page.getAttribute('form', 'method'), 'post');
  assert.equal(await page.getAttribute('form', 'action'), '/login');
  assert.equal(await page.getAttribute('#username', 'autocomplete'), 'username');
  assert.equal(await page.getAttribute('#password', 'autocomplete'), 'current-password');
  assert.ok(await page.$('form input[type=hidden][name=csrf]'), 'the form carries a CSRF token');
  assert.equal(await page.$('.govuk-error-summary'), null);
  // The stylesheet is served from /static/ with a hashed name, cached for ever.
  const css = await page.getAttribute('link[rel=stylesheet]', 'href');
  assert.match(css, /^\/static\/login-[\w-]+\.css$/);
  const r = await fetch(demo.url + css);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/css/);
  assert.match(r.headers.get('cache-control'), /immutable/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');

  // Signing in without JavaScript.
  await page.fill('#username', demo.username);
  await page.fill('#password', demo.password);
  await Promise.all([page.waitForURL(/\/sites\/www\.gov\.uk/), page.click('button[type=submit]')]);
  await ctx.close();

  const js = await newContext(browser, { viewport: DESKTOP });
  const p2 = await js.newPage();
  const problems = watchProblems(p2);
  await p2.goto(`${demo.url}/login`);
  assert.deepEqual(await axeProblems(p2), []);
  await p2.screenshot({ path: join(RESULTS_DIR, 'login-desktop.png'), fullPage: true });
  await p2.setViewportSize(PHONE);
  await p2.screenshot({ path: join(RESULTS_DIR, 'login-phone.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await js.close();
});

test('a wrong password is refused with an error summary', async () => {
  const ctx = await newContext(browser, { viewport: DESKTOP });
  const page = await ctx.newPage();
  const problems = watchProblems(page);
  await page.goto(`${demo.url}/login`);
  await page.fill('#username', demo.username);
  await page.fill('#password', `${demo.password}-wrong`);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login'),
    page.click('button[type=submit]'),
  ]);
  assert.equal(response.status(), 401);
  await page.waitForSelector('.govuk-error-summary');
  assert.equal(new URL(page.url()).pathname, '/login');
  assert.ok(await page.evaluate(() => document.activeElement?.classList.contains('govuk-error-summary')), 'focus moves to the error summary');
  assert.deepEqual(await axeProblems(page), []);
  await page.screenshot({ path: join(RESULTS_DIR, 'login-error-desktop.png'), fullPage: true });
  // Still signed out.
  const r = await page.evaluate(async (site) => (await fetch(`/api/v1/stats/aggregate?site_id=${site}`)).status, DEMO_SITE);
  assert.equal(r, 401);
  // 401 responses are expected here; nothing else may go wrong.
  assert.deepEqual(problems.filter((p) => !/401/.test(p)), []);
  await ctx.close();
});

test('signed in, the figures and tables equal the Stats API answers', async () => {
  const { ctx, page, problems } = await dashboard();
  const url = new URL(page.url());
  assert.equal(url.pathname, `/sites/${DEMO_SITE}`);
  assert.equal(url.searchParams.get('period'), '30d', 'the URL holds the state');
  const response = await page.reload();
  assert.equal(response.headers()['content-security-policy'], CSP);
  await waitForFigures(page);

  assert.equal(await page.textContent('h1'), DEMO_SITE);
  assert.equal(await page.textContent('.gh-header__service'), 'glasshouse');
  assert.match(await page.textContent('.govuk-phase-banner'), /Beta/);
  assert.match(await page.textContent('#account'), new RegExp(demo.username));

  const totals = await expectTilesEqualApi(page, { period: '30d' }, '30 days');
  assert.ok(totals.visitors.value > 100, `the demo has visitors (${totals.visitors.value})`);

  // Top pages, with visitors and page views.
  const pages = (await api('breakdown', { period: '30d', property: 'event:page', metrics: 'visitors,pageviews,scroll_depth,time_on_page', limit: '10' })).results;
  const shown = await tableRows(page, '#pages');
  assert.deepEqual(
    shown.map((r) => [r.value, r.visitors, r.pageviews]),
    pages.map((r) => [r.page, r.visitors, r.pageviews]),
  );
  // Other tabs: sources, then browsers, each equal to the API's rows.
  await page.click('#sources [role=tab]:text-is("Sources")');
  await page.waitForFunction(() => document.querySelector('#sources table')?.dataset.property === 'visit:source');
  const sources = (await api('breakdown', { period: '30d', property: 'visit:source', limit: '10' })).results;
  assert.deepEqual(
    (await tableRows(page, '#sources')).map((r) => [r.value, r.visitors]),
    sources.map((r) => [r.source, r.visitors]),
  );
  await page.click('#devices [role=tab]:text-is("Device types")');
  await page.waitForFunction(() => document.querySelector('#devices table')?.dataset.property === 'visit:device');
  const devices = (await api('breakdown', { period: '30d', property: 'visit:device', limit: '10' })).results;
  assert.deepEqual(
    (await tableRows(page, '#devices')).map((r) => [r.value, r.visitors]),
    devices.map((r) => [r.device, r.visitors]),
  );
  assert.equal(await page.getAttribute('#devices [role=tab]:text-is("Device types")', 'aria-selected'), 'true');

  // Custom events: everything but page views.
  const events = (
    await api('breakdown', { period: '30d', property: 'event:name', metrics: 'visitors,events', filters: 'event:name!=pageview', limit: '20' })
  ).results;
  assert.ok(events.length > 0, 'the demo has custom events');
  assert.deepEqual(
    (await tableRows(page, '.gh-events__list')).map((r) => [r.value, r.visitors, r.events]),
    events.map((r) => [r.name, r.visitors, r.events]),
  );

  // Locations: countries, regions, and the map drawn on demand.
  await page.click('#countries [role=tab]:text-is("Countries")');
  const countries = (await api('breakdown', { period: '30d', property: 'visit:country', limit: '10' })).results;
  assert.deepEqual(
    (await tableRows(page, '#countries')).map((r) => [r.value, r.visitors]),
    countries.map((r) => [r.country, r.visitors]),
  );
  await page.click('#countries [role=tab]:text-is("Regions")');
  await page.waitForSelector('#countries table.gh-breakdown th:has-text("Region")');
  const regions = (await api('breakdown', { period: '30d', property: 'visit:region', limit: '10' })).results;
  const shownRegions = await tableRows(page, '#countries');
  assert.deepEqual(
    shownRegions.map((r) => [r.value, r.visitors]),
    regions.map((r) => [r.region, r.visitors]),
  );
  // The demo's visitors include Scots and Welsh, named as people read them.
  assert.ok(shownRegions.some((r) => r.value === 'GB-SCT' && r.text.endsWith('Scotland, United Kingdom')), JSON.stringify(shownRegions));
  assert.ok(shownRegions.some((r) => r.value === 'GB-WLS'));
  // The UK's nations drawn above the table, each with the API's count.
  await page.waitForSelector('#countries .gh-map--nations svg path');
  const nationsLabel = await page.getAttribute('#countries .gh-map--nations', 'aria-label');
  for (const [code, nation] of [['GB-SCT', 'Scotland'], ['GB-WLS', 'Wales'], ['GB-ENG', 'England']]) {
    const row = regions.find((r) => r.region === code);
    assert.ok(row, `${code} in ${JSON.stringify(regions)}`);
    assert.ok(nationsLabel.includes(`${nation} ${whole.format(row.visitors)}`), nationsLabel);
  }
  // The four nations are drawn as shapes (islands make more paths).
  assert.ok((await page.$$('#countries .gh-map--nations svg path')).length >= 4);
  // DB-IP's licence asks for a credit where its places are shown.
  assert.match(await page.textContent('#countries .gh-card__credit'), /IP geolocation by DB-IP\. Outlines: Natural Earth\./);
  await page.locator('#countries').screenshot({ path: join(RESULTS_DIR, 'dashboard-regions.png') });
  await page.click('#countries [role=tab]:text-is("Map")');
  await page.waitForSelector('#countries .gh-map svg path');
  assert.match(await page.getAttribute('#countries .gh-map', 'aria-label'), /World map/);

  // Goals: each configured goal with conversions, its visitors, completions
  // and conversion rate, as the API gives them.
  const goals = (await api('breakdown', { period: '30d', property: 'event:goal', metrics: 'visitors,events,conversion_rate', limit: '10' })).results;
  assert.ok(goals.length >= 3, JSON.stringify(goals));
  assert.deepEqual(
    (await tableRows(page, '#goals')).map((r) => [r.value, r.visitors, r.events, r.conversion_rate]),
    goals.map((r) => [r.goal, r.visitors, r.events, r.conversion_rate]),
  );
  assert.match(await page.textContent('#goals tbody'), /\d\.\d%/);

  // The chart of visitors, with a table of the same figures.
  const series = (await api('timeseries', { period: '30d', metrics: 'visitors' })).results;
  await page.waitForSelector('#timeseries .gh-chart svg');
  const chartRows = await page.$$eval('#timeseries .gh-chart-table tbody tr', (trs) => trs.map((tr) => tr.querySelector('td').textContent));
  assert.deepEqual(chartRows, series.map((r) => whole.format(r.visitors)));

  // Selecting a tile charts that metric; the URL says so.
  await page.click('.gh-tile[data-metric=pageviews]');
  await page.waitForFunction(() => document.querySelector('#timeseries h2')?.textContent.startsWith('Total page views'));
  assert.equal(await page.getAttribute('.gh-tile[data-metric=pageviews]', 'aria-pressed'), 'true');
  assert.equal(new URL(page.url()).searchParams.get('metric'), 'pageviews');
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
  const pvSeries = (await api('timeseries', { period: '30d', metrics: 'pageviews' })).results;
  assert.deepEqual(
    await page.$$eval('#timeseries .gh-chart-table tbody tr', (trs) => trs.map((tr) => tr.querySelector('td').textContent)),
    pvSeries.map((r) => whole.format(r.pageviews)),
  );

  // Current visitors, from the realtime endpoint.
  await page.waitForSelector('#live:not([hidden])');
  assert.match(await page.textContent('#live'), /^\d[\d,]* current visitors?/);

  assert.deepEqual(await axeProblems(page), []);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('the imported history is shown where it can answer, marked, and can be left out', async () => {
  const { ctx, page, problems } = await dashboard();
  await page.goto(`${demo.url}/sites/${DEMO_SITE}?period=12mo`);
  await waitForFigures(page);
  const all = await expectTilesEqualApi(page, { period: '12mo' }, '12 months with the imported history');
  const own = (await api('aggregate', { period: '12mo', metrics: 'visitors', with_imported: 'false' })).results.visitors.value;
  assert.ok(all.visitors.value > own * 2, `eleven months of history add to the demo's own (${all.visitors.value} against ${own})`);
  assert.equal(await page.isChecked('#imported'), true);
  assert.match(await page.textContent('#imported-hint'), /^Daily totals from Plausible, \d+ \w+ \d{4} to \d+ \w+ \d{4}$/);
  assert.match(await page.textContent('#timeseries .gh-legend'), /Imported from Plausible: up to/);
  assert.match(await page.getAttribute('#timeseries .gh-chart', 'aria-label'), /imported from Plausible/);
  assert.ok((await page.$$eval('#timeseries .gh-chart-table tbody th', (ths) => ths.filter((th) => th.textContent.endsWith('(imported)')).length)) > 0);
  await page.screenshot({ path: join(RESULTS_DIR, 'dashboard-imported.png') });
  assert.deepEqual(await axeProblems(page), []);

  // Left out: the tiles are the site's own figures, and the URL says so.
  await page.click('label[for=imported]');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('imported') === '0');
  await waitForFigures(page);
  assert.equal((await tiles(page)).visitors.value, own);
  assert.doesNotMatch(await page.textContent('#timeseries .gh-legend'), /Imported/);

  // Filtered, daily totals cannot answer: the chart says so.
  await page.goto(`${demo.url}/sites/${DEMO_SITE}?period=12mo&filters=visit:browser==Chrome`);
  await waitForFigures(page);
  assert.match(await page.textContent('#timeseries'), /Imported data is not included: it holds daily totals only, which cannot be filtered/);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('annotations are added, shown on the chart and its table, changed and deleted', async () => {
  const { ctx, page, problems } = await dashboard();
  await page.goto(`${demo.url}/sites/${DEMO_SITE}?period=30d`);
  await waitForFigures(page);
  await page.click('#annotations summary');
  const day = await page.inputValue('#annotation-date');
  assert.match(day, /^\d{4}-\d{2}-\d{2}$/);
  const text = 'Press campaign <b>launched</b>';
  await page.fill('#annotation-text', text);
  await page.click('#annotation-form button[type=submit]');
  await page.waitForSelector('#annotations-list [data-annotation]');
  assert.equal(await page.textContent('#annotations-list .gh-notes__note'), text, 'shown as text');
  assert.equal(await page.$('#annotations-list b'), null);
  assert.match(await page.textContent('#annotations summary'), /Annotations in this period \(1\)/);
  const saved = (await demo.api(`/api/v1/annotations?site_id=${DEMO_SITE}`)).body.results;
  assert.deepEqual(saved.map((n) => [n.date, n.text]), [[day, text]]);
  // In the chart's table, on the annotated day's row.
  const cells = await page.$$eval('#timeseries .gh-chart-table tbody td:last-child', (tds) => tds.map((td) => td.textContent));
  assert.ok(cells.some((c) => c.endsWith(text)), JSON.stringify(cells));
  await page.screenshot({ path: join(RESULTS_DIR, 'dashboard-annotations.png') });
  assert.deepEqual(await axeProblems(page), []);

  await page.click('#annotations-list button:has-text("Change")');
  await page.fill('#annotation-text', 'Press campaign');
  await page.click('#annotation-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#annotations-list .gh-notes__note')?.textContent === 'Press campaign');
  await page.click('#annotations-list button:has-text("Delete")');
  await page.waitForSelector('#annotations-list .gh-notes__empty');
  assert.deepEqual((await demo.api(`/api/v1/annotations?site_id=${DEMO_SITE}`)).body.results, []);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('clicking a row filters the whole dashboard; the chip removes the filter', async () => {
  const { ctx, page, problems } = await dashboard();
  const before = await tiles(page);
  const button = page.locator('#pages table tbody tr:nth-child(3) .gh-row-button');
  const value = await button.getAttribute('data-value');
  await button.click();
  await page.waitForSelector('.gh-chip');
  await waitForFigures(page);
  assert.equal((await page.textContent('.gh-chip .gh-chip__text')).trim(), `Page is ${value}`);
  assert.equal(new URL(page.url()).searchParams.get('filters'), `event:page==${value}`);
  const filtered = await expectTilesEqualApi(page, { period: '30d', filters: `event:page==${value}` }, `filtered by ${value}`);
  assert.ok(filtered.visitors.value < before.visitors.value, 'the filter narrows the figures');
  // The other cards follow the filter too.
  const sources = (await api('breakdown', { period: '30d', property: 'visit:source', limit: '10', filters: `event:page==${value}` })).results;
  assert.deepEqual(
    (await tableRows(page, '#sources')).map((r) => [r.value, r.visitors]),
    sources.map((r) => [r.source, r.visitors]),
  );
  // A second filter, from another card: the browser.
  const browserButton = page.locator('#devices table tbody tr:first-child .gh-row-button');
  const browserName = await browserButton.getAttribute('data-value');
  await browserButton.click();
  await page.waitForFunction(() => document.querySelectorAll('.gh-chip').length === 2);
  await waitForFigures(page);
  await expectTilesEqualApi(page, { period: '30d', filters: `event:page==${value};visit:browser==${browserName}` }, 'two filters');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'filters-heading', 'focus moves to the filters');
  assert.deepEqual(await axeProblems(page), []);
  await page.screenshot({ path: join(RESULTS_DIR, 'dashboard-filtered-desktop.png'), fullPage: true });

  // Back: one filter again.
  await page.goBack();
  await page.waitForFunction(() => document.querySelectorAll('.gh-chip').length === 1);
  await waitForFigures(page);
  await expectTilesEqualApi(page, { period: '30d', filters: `event:page==${value}` }, 'after Back');

  // Removing the chip shows everything again.
  await page.click('.gh-chip');
  await page.waitForFunction(() => !document.querySelector('.gh-chip'));
  await waitForFigures(page);
  assert.equal(new URL(page.url()).searchParams.get('filters'), null);
  await expectTilesEqualApi(page, { period: '30d' }, 'filter removed');

  // Filters written in the URL are applied on load, with the chip.
  await page.goto(`${demo.url}/sites/${DEMO_SITE}?period=7d&filters=visit:device==Mobile&metric=visitors`);
  await waitForFigures(page);
  assert.equal((await page.textContent('.gh-chip .gh-chip__text')).trim(), 'Device is Mobile');
  await expectTilesEqualApi(page, { period: '7d', filters: 'visit:device==Mobile' }, 'filter from the URL');
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('"Add a filter" offers every operator; "goal is not" keeps the visits without the goal', async () => {
  const { ctx, page, problems } = await dashboard();
  await page.click('#filter-add summary');
  await page.selectOption('#filter-prop', 'event:goal');
  // The suggestions are the view's own goals.
  const goals = (await api('breakdown', { period: '30d', property: 'event:goal', limit: '30' })).results.map((r) => r.goal);
  await page.waitForFunction((n) => document.querySelectorAll('#filter-suggestions option').length === n, goals.length);
  assert.deepEqual(await page.$$eval('#filter-suggestions option', (os) => os.map((o) => o.value)), goals);
  assert.deepEqual(await axeProblems(page), []);
  await page.selectOption('#filter-op', '!=');
  await page.fill('#filter-value', goals[0]);
  await page.click('#filter-form button[type=submit]');
  await page.waitForSelector('.gh-chip');
  await waitForFigures(page);
  assert.equal((await page.textContent('.gh-chip .gh-chip__text')).trim(), `Goal is not ${goals[0]}`);
  assert.equal(new URL(page.url()).searchParams.get('filters'), `event:goal!=${goals[0]}`);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'filters-heading', 'focus moves to the filters');
  const missed = await expectTilesEqualApi(page, { period: '30d', filters: `event:goal!=${goals[0]}` }, 'goal is not');
  // The visitors who did and did not complete the goal are the visitors, or
  // more (one visitor may have visits of both kinds).
  // (Imported days answer no filter: compared without them.)
  const all = (await api('aggregate', { period: '30d', metrics: 'visits', with_imported: 'false' })).results.visits.value;
  const done = (await api('aggregate', { period: '30d', metrics: 'visits', filters: `event:goal==${goals[0]}` })).results.visits.value;
  assert.equal(missed.visits.value + done, all, 'visits with and without the goal make up every visit');
  // A second filter on another property keeps the first; on the same one replaces it.
  await page.click('#filter-add summary');
  await page.selectOption('#filter-prop', 'event:page');
  await page.selectOption('#filter-op', '!~');
  await page.fill('#filter-value', '/guidance');
  await page.click('#filter-form button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('.gh-chip').length === 2);
  await waitForFigures(page);
  await expectTilesEqualApi(page, { period: '30d', filters: `event:goal!=${goals[0]};event:page!~/guidance` }, 'two filters');
  // A custom property, named by the person: its values are offered once named.
  await page.click('#filter-add summary');
  await page.selectOption('#filter-prop', 'event:props');
  assert.equal(await page.isVisible('#filter-key'), true);
  await page.fill('#filter-key', 'form');
  await page.press('#filter-key', 'Tab');
  const forms = (await api('breakdown', { period: '30d', property: 'event:props:form', limit: '30', filters: `event:goal!=${goals[0]};event:page!~/guidance` })).results
    .map((r) => r.form)
    .filter((v) => v !== '(none)');
  assert.ok(forms.length > 0, 'the demo sends forms');
  await page.waitForFunction(() => document.querySelectorAll('#filter-suggestions option').length > 0);
  assert.ok((await page.$$eval('#filter-suggestions option', (os) => os.map((o) => o.value))).includes(forms[0]));
  await page.fill('#filter-value', forms[0]);
  await page.click('#filter-form button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('.gh-chip').length === 3);
  await waitForFigures(page);
  const chips = await page.$$eval('.gh-chip .gh-chip__text', (cs) => cs.map((c) => c.textContent.trim()));
  assert.equal(chips[2], `Property ‘form’ is ${forms[0]}`);
  await expectTilesEqualApi(page, { period: '30d', filters: `event:goal!=${goals[0]};event:page!~/guidance;event:props:form==${forms[0]}` }, 'a custom property');
  // Places are offered by name and filtered by code.
  await page.click('.gh-chip'); // one filter fewer: the goal's
  await page.waitForFunction(() => document.querySelectorAll('.gh-chip').length === 2);
  await page.click('#filter-add summary');
  await page.selectOption('#filter-prop', 'visit:country');
  await page.waitForSelector('#filter-suggestions option[label]', { state: 'attached' });
  const [code, name] = await page.$eval('#filter-suggestions option', (o) => [o.value, o.label]);
  assert.notEqual(name, code, 'a country is offered by its name');
  await page.fill('#filter-value', name);
  await page.click('#filter-form button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('.gh-chip').length === 3);
  await waitForFigures(page);
  assert.equal(new URL(page.url()).searchParams.get('filters'), `event:page!~/guidance;event:props:form==${forms[0]};visit:country==${code}`);
  const shown = await page.$$eval('.gh-chip .gh-chip__text', (cs) => cs.map((c) => c.textContent.trim()));
  assert.equal(shown[2], `Country is ${name}`);
  await page.screenshot({ path: join(RESULTS_DIR, 'dashboard-filter-form-desktop.png'), fullPage: false });
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('the sources card shows the channels visits came through, and a channel filters', async () => {
  const { ctx, page, problems } = await dashboard();
  await page.click('#sources [role=tab]:text-is("Channels")');
  await page.waitForFunction(() => document.querySelector('#sources table')?.dataset.property === 'visit:channel');
  const channels = (await api('breakdown', { period: '30d', property: 'visit:channel', limit: '10' })).results;
  const names = channels.map((r) => r.channel);
  for (const expected of ['Direct', 'Organic Search', 'Email', 'Organic Social', 'Referral']) {
    assert.ok(names.includes(expected), `the demo arrives through ${expected}: ${names}`);
  }
  assert.deepEqual(
    (await tableRows(page, '#sources')).map((r) => [r.value, r.visitors]),
    channels.map((r) => [r.channel, r.visitors]),
  );
  await page.locator('#sources').screenshot({ path: join(RESULTS_DIR, 'dashboard-channels.png') });
  const button = page.locator('#sources table tbody tr:nth-child(2) .gh-row-button');
  const value = await button.getAttribute('data-value');
  await button.click();
  await page.waitForSelector('.gh-chip');
  await waitForFigures(page);
  assert.equal((await page.textContent('.gh-chip .gh-chip__text')).trim(), `Channel is ${value}`);
  assert.equal(new URL(page.url()).searchParams.get('filters'), `visit:channel==${value}`);
  await expectTilesEqualApi(page, { period: '30d', filters: `visit:channel==${value}` }, `filtered by ${value}`);
  assert.deepEqual(await axeProblems(page), []);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('the period and the comparison are kept in the URL, through reloads and Back', async () => {
  const { ctx, page, problems } = await dashboard();
  await page.selectOption('#period', '7d');
  await page.waitForURL(/period=7d/);
  await waitForFigures(page);
  await expectTilesEqualApi(page, { period: '7d' }, '7 days');

  await page.check('#compare');
  await page.waitForURL(/compare=1/);
  await waitForFigures(page);
  await expectTilesEqualApi(page, { period: '7d', compare: 'previous_period' }, '7 days compared');
  // The change is written with an arrow and words, not colour alone.
  const change = await page.$eval('.gh-tile[data-metric=visitors] .gh-tile__change', (el) => el.textContent);
  assert.match(change, /(up|down) [\d,]+% on the previous period|no change/);
  // The chart has the previous period as a second (dashed) line and in its table.
  await page.waitForSelector('.gh-legend__swatch--previous');
  assert.equal(await page.$$eval('#timeseries .gh-chart-table thead th', (ths) => ths.length), 4);

  await page.reload();
  await waitForFigures(page);
  assert.equal(await page.inputValue('#period'), '7d');
  assert.equal(await page.isChecked('#compare'), true);
  await expectTilesEqualApi(page, { period: '7d', compare: 'previous_period' }, 'after reload');

  await page.goBack();
  await page.waitForFunction(() => !new URLSearchParams(location.search).has('compare'));
  await waitForFigures(page);
  assert.equal(await page.isChecked('#compare'), false);
  assert.equal(await page.inputValue('#period'), '7d');

  // The same days last year instead (compare=year_over_year).
  await page.check('#compare');
  await page.waitForURL(/compare=1/);
  await page.selectOption('#compare-with', 'year_over_year');
  await page.waitForURL(/compare=year/);
  await waitForFigures(page);
  await expectTilesEqualApi(page, { period: '7d', compare: 'year_over_year' }, '7 days against last year');
  assert.match(
    await page.$eval('.gh-tile[data-metric=visitors] .gh-tile__change', (el) => el.textContent),
    /(up|down) [\d,]+% on the same days last year|no change/,
  );
  await page.uncheck('#compare');
  await page.waitForFunction(() => !new URLSearchParams(location.search).has('compare'));

  // Today, by the hour.
  await page.selectOption('#period', 'day');
  await page.waitForURL(/period=day/);
  await waitForFigures(page);
  await expectTilesEqualApi(page, { period: 'day' }, 'today');
  assert.equal(await page.inputValue('#interval'), 'hour');

  // Custom dates: the last 3 days.
  const day = (n) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
  await page.selectOption('#period', 'custom');
  await page.fill('#from', day(3));
  await page.fill('#to', day(1));
  await page.click('#custom-dates button[type=submit]');
  await page.waitForURL(/period=custom/);
  assert.equal(new URL(page.url()).searchParams.get('date'), `${day(3)},${day(1)}`);
  await waitForFigures(page);
  await expectTilesEqualApi(page, { period: 'custom', date: `${day(3)},${day(1)}` }, 'custom dates');
  // Dates the wrong way round are refused with a message.
  await page.fill('#from', day(1));
  await page.fill('#to', day(3));
  await page.click('#custom-dates button[type=submit]');
  await page.waitForSelector('#custom-error:not([hidden])');
  assert.match(await page.textContent('#custom-error'), /before/);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('CSV downloads hold what the page shows', async () => {
  const { ctx, page, problems } = await dashboard();
  const pages = (await api('breakdown', { period: '30d', property: 'event:page', metrics: 'visitors,pageviews,scroll_depth,time_on_page', limit: '10' })).results;
  const card = await downloaded(page, () => page.click('#pages [data-download=pages]'));
  assert.match(card.name, /^www\.gov\.uk-top-pages-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.csv$/);
  assert.ok(card.text.endsWith('\r\n'));
  assert.deepEqual(parseCsv(card.text), [
    ['Page', 'Visitors', 'Page views', 'Scroll depth', 'Time on page'],
    ...pages.map((r) => [r.page, String(r.visitors), String(r.pageviews), String(r.scroll_depth ?? ''), String(r.time_on_page ?? '')]),
  ]);

  const all = await downloaded(page, () => page.click('#download-all'));
  const rows = parseCsv(all.text);
  assert.deepEqual(rows[0], ['section', 'item', 'metric', 'value']);
  const totals = (await api('aggregate', { period: '30d', metrics: METRICS.join(',') })).results;
  for (const m of METRICS) {
    assert.deepEqual(rows.find((r) => r[0] === 'Summary' && r[2] === m), ['Summary', '', m, String(totals[m].value)]);
  }
  assert.ok(rows.some((r) => r[0] === 'Top pages' && r[1] === pages[0].page && r[3] === String(pages[0].visitors)));
  assert.ok(rows.some((r) => r[0] === 'Timeseries'));
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('current visitors update without reloading', async () => {
  const { ctx, page, problems } = await dashboard();
  const answers = [];
  page.on('response', async (r) => {
    if (new URL(r.url()).pathname === '/api/v1/stats/realtime/visitors') answers.push(await r.json());
  });
  // A new visitor arrives; within one poll (15 s) the page shows the new count.
  const r = await fetch(`${demo.url}/api/event`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'User-Agent': CHROME_UA, 'X-Forwarded-For': '198.51.100.77' },
    body: JSON.stringify({ name: 'pageview', url: 'https://www.gov.uk/live-visitor-test', domain: DEMO_SITE }),
  });
  assert.equal(r.status, 202);
  await waitFor(() => answers.length >= 1, { timeout: 20_000, interval: 250, message: 'a realtime poll' });
  const polled = answers[0];
  const api = (await demo.api(`/api/v1/stats/realtime/visitors?site_id=${DEMO_SITE}`)).body;
  assert.ok(Math.abs(api - polled) <= 2, `the page polled ${polled}; the API now says ${api}`);
  await waitFor(async () => Number(await page.getAttribute('#live', 'data-value')) === polled, { message: `the live count ${polled}` });
  assert.match(await page.textContent('#live'), new RegExp(`${polled.toLocaleString('en-GB')} current visitors?`));
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('text from browsers is shown as text, never run as markup', async () => {
  const payloads = {
    page: '/<img src=x onerror=window.__xss=1>/"><script>window.__xss=1</script>',
    referrer: 'https://evil.example/"><script>window.__xss=1</script><img src=x onerror=alert(1)>',
    name: '<img src=x onerror=window.__xss=1>',
    form: '"><script>window.__xss=1</script>',
    service: '<svg onload=window.__xss=1>',
    formula: '=HYPERLINK("https://evil.example","click")',
  };
  const post = async (body) => {
    const r = await fetch(`${demo.url}/api/event`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': CHROME_UA, 'X-Forwarded-For': '198.51.100.23' },
      body: JSON.stringify({ domain: DEMO_SITE, url: `https://www.gov.uk${payloads.page}`, ...body }),
    });
    assert.equal(r.status, 202, await r.text());
    assert.equal(r.headers.get('x-glasshouse-dropped'), null);
  };
  await post({ name: 'pageview', referrer: payloads.referrer });
  await post({ name: payloads.name, props: { form: payloads.form, service: payloads.service } });
  await post({ name: 'Form submitted', props: { form: payloads.formula } });

  const filters = 'event:page~__xss';
  const q = { period: 'day', filters };
  const stored = {
    pages: (await api('breakdown', { ...q, property: 'event:page' })).results.map((r) => r.page),
    referrers: (await api('breakdown', { ...q, property: 'visit:referrer' })).results.map((r) => r.referrer),
    names: (await api('breakdown', { ...q, property: 'event:name', filters: `${filters};event:name!=pageview` })).results.map((r) => r.name),
    forms: (await api('breakdown', { ...q, property: 'event:props:form', filters: `${filters};event:name!=pageview` })).results
      .map((r) => r.form)
      .filter((v) => v !== '(none)'),
  };
  assert.ok(stored.pages.length === 1 && stored.pages[0].includes('__xss'), `stored page: ${JSON.stringify(stored.pages)}`);
  assert.ok(stored.names.includes(payloads.name), `stored names: ${JSON.stringify(stored.names)}`);

  const { ctx, page, problems } = await dashboard();
  await page.goto(`${demo.url}/sites/${DEMO_SITE}?period=day&filters=${encodeURIComponent(filters)}&metric=visitors`);
  await waitForFigures(page);
  const texts = (sel) => page.$$eval(`${sel} table.gh-breakdown tbody th`, (ths) => ths.map((th) => th.querySelector('.gh-row-button__text, .gh-row-text').textContent));
  assert.deepEqual(await texts('#pages'), stored.pages);
  await page.click('#sources [role=tab]:text-is("Referrers")');
  await page.waitForFunction(() => document.querySelector('#sources table')?.dataset.property === 'visit:referrer' || document.querySelector('#sources .gh-card__message'));
  assert.deepEqual(await texts('#sources'), stored.referrers);
  assert.deepEqual(await texts('.gh-events__list'), stored.names);
  await page.click('.gh-events__props [role=tab]:text-is("form")');
  assert.deepEqual((await texts('.gh-events__props')).sort(), [...stored.forms].sort());

  // Clicking the event with a hostile name filters by it, and the chip shows it as text.
  await page.click(`.gh-events__list .gh-row-button[data-value="${payloads.name.replace(/"/g, '\\"')}"]`);
  await page.waitForFunction(() => document.querySelectorAll('.gh-chip').length === 2);
  await waitForFigures(page);
  assert.match(await page.textContent('.gh-filters'), /Event is <img src=x onerror=window.__xss=1>/);

  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.equal(await page.$$eval('#app img, #app script, #app iframe, #app svg[onload]', (els) => els.length), 0);

  // A cell that a spreadsheet would run as a formula is written as text.
  await page.click('.gh-chip:has-text("Event is")');
  await page.waitForFunction(() => document.querySelectorAll('.gh-chip').length === 1);
  await waitForFigures(page);
  await page.click('.gh-events__props [role=tab]:text-is("form")');
  const props = await downloaded(page, () => page.click('[data-download=properties]'));
  const formulaRow = parseCsv(props.text).find((r) => r[0].includes('HYPERLINK'));
  assert.ok(formulaRow, props.text);
  assert.equal(formulaRow[0], `'${payloads.formula}`);
  assert.ok(props.text.includes(`"'=HYPERLINK(""https://evil.example"",""click"")"`), props.text);

  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('a user cannot open another organisation\'s site, by URL or by API', async () => {
  const { ctx, page } = await dashboard();
  // The demo's analyst belongs to the Cabinet Office (www.gov.uk).
  const other = 'www.mygov.scot';
  const response = await page.goto(`${demo.url}/sites/${other}`);
  assert.equal(response.status(), 403);
  const status = await page.evaluate(async (site) => (await fetch(`/api/v1/stats/aggregate?site_id=${site}`)).status, other);
  assert.equal(status, 403);
  // The Scottish Government's token cannot read the Cabinet Office's site either.
  const byToken = await demo.api(`/api/v1/stats/aggregate?site_id=${DEMO_SITE}`, demo.orgTokens['scottish-government']);
  assert.equal(byToken.status, 403);
  assert.ok(byToken.body.error, 'a JSON reason');
  // The site picker offers only what the user may see.
  await page.goto(`${demo.url}/sites/${DEMO_SITE}`);
  await waitForFigures(page);
  const offered = await page.$$eval('a[data-site-link]', (as) => as.map((a) => a.dataset.siteLink));
  assert.ok(!offered.includes(other), `the picker offers ${offered}`);
  await ctx.close();
});

test('signing out ends the session', async () => {
  const { ctx, page, problems } = await dashboard();
  await Promise.all([page.waitForURL(/\/login$/), page.click('.gh-header__signout-button')]);
  await page.goto(`${demo.url}/sites/${DEMO_SITE}`);
  assert.equal(new URL(page.url()).pathname, '/login');
  const status = await page.evaluate(async (site) => (await fetch(`/api/v1/stats/aggregate?site_id=${site}`)).status, DEMO_SITE);
  assert.equal(status, 401);
  assert.deepEqual(problems.filter((p) => !/401/.test(p)), []);
  await ctx.close();
});

test('the dashboard is accessible, fast and looks right on a desktop and a phone', async () => {
  // Desktop.
  const { ctx, page, problems } = await dashboard();
  await page.reload();
  await waitForFigures(page);
  const timing = await page.evaluate(() => ({
    figures: performance.getEntriesByName('glasshouse:figures')[0]?.startTime,
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
  }));
  console.log(`# first contentful paint ${Math.round(timing.fcp)} ms; figures shown after ${Math.round(timing.figures)} ms`);
  assert.ok(timing.figures < 1000, `the figures took ${timing.figures} ms`);
  await page.waitForSelector('#countries .gh-map svg path');
  await page.waitForSelector('#timeseries .gh-chart svg');
  await page.waitForTimeout(400); // chart animation
  assert.deepEqual(await axeProblems(page), []);
  await page.screenshot({ path: join(RESULTS_DIR, 'dashboard-desktop.png'), fullPage: true });

  // Keyboard: the tiles and tabs are buttons; arrow keys move between tabs.
  await page.focus('#pages [role=tab][aria-selected=true]');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Entry pages');
  await page.waitForFunction(() => document.querySelector('#pages table')?.dataset.property === 'visit:entry_page');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.closest('#pages') !== null), true);
  assert.deepEqual(problems, []);
  await ctx.close();

  // Phone.
  const phone = await dashboard({ context: { viewport: PHONE, isMobile: true, hasTouch: true } });
  await phone.page.waitForSelector('#countries .gh-map svg path');
  await phone.page.waitForTimeout(400);
  const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px on a phone`);
  assert.deepEqual(await axeProblems(phone.page), []);
  await phone.page.screenshot({ path: join(RESULTS_DIR, 'dashboard-phone.png'), fullPage: true });
  assert.deepEqual(phone.problems, []);
  await phone.ctx.close();
});

test('the shipped JavaScript and CSS are small', async () => {
  const dist = join(REPO_ROOT, 'web', 'dist');
  const html = await readFile(join(dist, 'dashboard.html'), 'utf8');
  const initial = [...html.matchAll(/\/static\/[\w.-]+\.(?:js|css)/g)].map((m) => m[0]);
  let total = 0;
  for (const f of initial) {
    const gz = gzipSync(await readFile(join(dist, f)), { level: 9 }).length;
    total += gz;
    console.log(`# ${f}: ${gz} bytes gzipped`);
  }
  console.log(`# first load: ${total} bytes gzipped (the chart and map code load after)`);
  assert.ok(total < 40_000, `the first load is ${total} bytes gzipped`);
});
