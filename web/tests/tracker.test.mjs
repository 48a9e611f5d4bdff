// The tracker (crates/server/assets/glasshouse.js) in a real browser, posting
// to the real glasshouse server, with every count read back through the
// Stats API.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  TRACKER_PATH,
  launchBrowser,
  newContext,
  startServer,
  startSite,
  waitFor,
  watchEvents,
} from './support/server.mjs';

const MAX_GZIP = 2048;

test('tracker is at most 2 KB gzipped', async () => {
  const src = await readFile(TRACKER_PATH);
  const size = gzipSync(src, { level: 9 }).length;
  assert.ok(size <= MAX_GZIP, `glasshouse.js is ${size} bytes gzipped; the limit is ${MAX_GZIP}`);
});

let gh, site, browser;

before(async () => {
  gh = await startServer();
  site = await startSite(gh.url);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.stop();
  await gh?.stop();
});

const SITE = 'site_id=test.example&period=day';

async function breakdown(property, metric) {
  const r = await gh.statsApi(
    `/api/v1/stats/breakdown?${SITE}&property=${encodeURIComponent(property)}&metrics=${metric}`,
  );
  assert.ok(Array.isArray(r.results), `breakdown ${property}: ${JSON.stringify(r)}`);
  return r.results;
}

async function pageviews(path) {
  const rows = await breakdown('event:page', 'pageviews');
  return rows.find((row) => row.page === path)?.pageviews ?? 0;
}

async function eventsNamed(name) {
  const rows = await breakdown('event:name', 'events');
  return rows.find((row) => row.name === name)?.events ?? 0;
}

/** Events whose prop equals `value` (a string) or passes `value` (a function). */
async function propCount(prop, value) {
  const rows = await breakdown(`event:props:${prop}`, 'events');
  const match = typeof value === 'function' ? value : (v) => v === value;
  return rows.filter((row) => match(row[prop])).reduce((n, row) => n + row.events, 0);
}

/** Waits until the Stats API shows `expected` pageviews for `path`. */
async function expectPageviews(path, expected) {
  let got;
  try {
    await waitFor(async () => (got = await pageviews(path)) === expected, {
      timeout: 5000,
      message: `${expected} pageviews of ${path}`,
    });
  } catch (e) {
    assert.fail(`expected ${expected} pageviews of ${path}, got ${got} (${e.message})\n--- server log ---\n${gh.log().slice(-4000)}`);
  }
}

let controls = 0;
/**
 * Proves a negative: loads a control page in an ordinary context and waits
 * until it is counted, so that anything sent before it has been stored too,
 * then checks `path` was not counted.
 */
async function expectNotCounted(path) {
  const control = `/control-${++controls}`;
  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  await page.goto(site.url + control);
  await expectPageviews(control, 1);
  await ctx.close();
  assert.equal(await pageviews(path), 0, `${path} should not have been counted`);
}

/** Opens `path` on the customer site in a fresh ordinary context. */
async function visit(path, options = {}) {
  const ctx = await newContext(browser, options.context);
  if (options.init) await ctx.addInitScript(options.init);
  if (options.cookies) await ctx.addCookies(options.cookies);
  const page = await ctx.newPage();
  const events = watchEvents(page);
  await page.goto(site.url + path);
  return { ctx, page, events };
}

test('the server serves the tracker as it is in the source tree', async () => {
  const r = await fetch(`${gh.url}/js/glasshouse.js`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /javascript/);
  assert.equal(await r.text(), await readFile(TRACKER_PATH, 'utf8'));
});

test('a pageview is sent on load, without a CORS preflight, and counted', async () => {
  const { ctx, page, events } = await visit('/load?q=tax&email=someone%40example.com');
  await expectPageviews('/load', 1);
  assert.equal(events.length, 1);
  const { request, body } = events[0];
  assert.equal(request.method(), 'POST');
  assert.match(request.headers()['content-type'], /^text\/plain/);
  assert.equal(body.n, 'pageview');
  assert.equal(body.d, 'test.example');
  assert.equal(body.u, `${site.url}/load?q=tax&email=someone%40example.com`);
  assert.equal(body.r, null);
  for (const absent of ['p', 'i', '$', 'title', 'w', 'h', 'screen']) assert.ok(!(absent in body), `${absent} sent`);
  await waitFor(() => events[0].response, { message: 'collector response' });
  assert.equal(events[0].response.status(), 202);
  const visitors = await gh.statsApi(`/api/v1/stats/aggregate?${SITE}&metrics=pageviews,events,visitors`);
  assert.ok(visitors.results.pageviews.value >= 1, JSON.stringify(visitors));
  assert.ok(visitors.results.visitors.value >= 1, JSON.stringify(visitors));
  assert.equal(page.url(), `${site.url}/load?q=tax&email=someone%40example.com`);
  await ctx.close();
});

test('single-page navigation with pushState counts the new path once', async () => {
  const { ctx, page, events } = await visit('/spa/start');
  await waitFor(() => events.length === 1, { message: 'first pageview' });
  await page.click('#spa');
  await waitFor(() => events.length === 2, { message: 'pageview after pushState' });
  assert.equal(events[1].body.n, 'pageview');
  assert.equal(events[1].body.u, `${site.url}/spa/next`);
  // pushState to the same URL again: not a new pageview.
  await page.click('#spa-same');
  await sleep(300);
  assert.equal(events.length, 2);
  await expectPageviews('/spa/next', 1);
  // Back button: first to the same URL (not counted), then to /spa/start,
  // which is a new pageview of that page.
  await page.goBack();
  await sleep(200);
  assert.equal(events.length, 2);
  await page.goBack();
  await waitFor(() => events.length === 3, { message: 'pageview after popstate' });
  assert.equal(events[2].body.u, `${site.url}/spa/start`);
  await expectPageviews('/spa/start', 2);
  await ctx.close();
});

test('how a page was read is reported when it is left, and read back per page', async () => {
  const { ctx, page, events } = await visit('/spa/long?tall=1');
  await waitFor(() => events.length === 1, { message: 'first pageview' });
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight / 2));
  await sleep(1200);
  // Leaving the page in a single-page app reports it, then counts the next.
  await page.click('#spa');
  await waitFor(() => events.length === 2 && events.engagement.length === 1, { message: 'engagement on navigation' });
  const report = events.engagement[0].body;
  assert.equal(report.u, `${site.url}/spa/long?tall=1`);
  assert.equal(report.d, 'test.example');
  assert.ok(report.sd > 20 && report.sd < 100, `scroll depth ${report.sd}`);
  assert.ok(Number.isInteger(report.e) && report.e >= 0, `engaged ${report.e}`);
  await waitFor(() => events.engagement[0].response, { message: 'collector response' });
  assert.equal(events.engagement[0].response.status(), 202);
  // Hiding the page reports the page it went to.
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await waitFor(() => events.engagement.length === 2, { message: 'engagement on hide' });
  assert.equal(events.engagement[1].body.u, `${site.url}/spa/next`);
  // Neither report is a page view or an event; both are read per page.
  await expectPageviews('/spa/long', 1);
  assert.equal(await eventsNamed('engagement'), 0);
  const rows = (await gh.statsApi(
    `/api/v1/stats/breakdown?${SITE}&property=event:page&metrics=visitors,scroll_depth,time_on_page&filters=${encodeURIComponent('event:page==/spa/long')}`,
  )).results;
  assert.equal(rows.length, 1, JSON.stringify(rows));
  assert.equal(rows[0].scroll_depth, report.sd);
  assert.equal(rows[0].time_on_page, Math.round(report.e / 1000));
  await ctx.close();
});

test('a custom event is counted with its props, and its callback gets the answer', async () => {
  const { ctx, page, events } = await visit('/event');
  await waitFor(() => events.length === 1);
  await page.click('#event');
  await waitFor(() => events.length === 2, { message: 'custom event' });
  assert.deepEqual(
    { n: events[1].body.n, p: events[1].body.p },
    { n: 'Form submitted', p: { form: 'visa' } },
  );
  await waitFor(async () => (await eventsNamed('Form submitted')) === 1, { message: 'Form submitted counted' });
  assert.equal(await propCount('form', 'visa'), 1);
  const cb = await waitFor(() => page.evaluate(() => window.lastCallback), { message: 'callback' });
  assert.deepEqual(cb, { status: 202 }, 'callback should see the 202 (needs CORS with credentials)');
  await ctx.close();
});

test('non-interactive events and revenue use the short keys', async () => {
  const { ctx, page, events } = await visit('/revenue');
  await waitFor(() => events.length === 1);
  await page.evaluate(() =>
    glasshouse('event', 'Fee paid', { interactive: false, revenue: { amount: 10, currency: 'GBP' } }),
  );
  await waitFor(() => events.length === 2);
  assert.equal(events[1].body.i, false);
  assert.deepEqual(events[1].body.$, { amount: 10, currency: 'GBP' });
  assert.ok(!('p' in events[1].body));
  await waitFor(async () => (await eventsNamed('Fee paid')) === 1, { message: 'Fee paid counted' });
  await ctx.close();
});

test('data-api sends events to the given endpoint instead', async () => {
  const { ctx, events } = await visit('/custom-api?api=1');
  await waitFor(() => site.collected.length === 1, { message: 'event at data-api' });
  assert.equal(events.length, 1);
  assert.equal(events[0].request.url(), `${site.url}/collect`);
  assert.match(site.collected[0].contentType, /^text\/plain/);
  assert.equal(site.collected[0].body.n, 'pageview');
  await ctx.close();
});

test('calls queued before the script loads are sent', async () => {
  const { ctx, events } = await visit('/queued?queue=1');
  await waitFor(() => events.length === 2, { message: 'queued event and pageview' });
  assert.deepEqual(events.map((e) => e.body.n).sort(), ['Queued early', 'pageview']);
  await waitFor(async () => (await eventsNamed('Queued early')) === 1, { message: 'queued event counted' });
  await expectPageviews('/queued', 1);
  await ctx.close();
});

test('an outbound link click is counted with its url, and the link still works', async () => {
  const { ctx, page, events } = await visit('/outbound');
  await waitFor(() => events.length === 1);
  await Promise.all([page.waitForURL(/\/elsewhere$/), page.click('#outbound')]);
  assert.equal(await page.textContent('#elsewhere'), 'Another site');
  const url = `http://localhost:${site.port}/elsewhere`;
  await waitFor(() => events.length === 2, { message: 'outbound click sent' });
  assert.equal(events[1].body.n, 'Outbound Link: Click');
  assert.deepEqual(events[1].body.p, { url });
  await waitFor(async () => (await propCount('url', url)) === 1, { message: 'outbound click counted' });
  assert.equal(await eventsNamed('Outbound Link: Click'), 1);
  await ctx.close();
});

test('a file download click is counted with its url, and the download still happens', async () => {
  const { ctx, page, events } = await visit('/downloads', { context: { acceptDownloads: true } });
  await waitFor(() => events.length === 1);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.equal(download.suggestedFilename(), 'report.pdf');
  await waitFor(() => events.length === 2, { message: 'download click sent' });
  assert.equal(events[1].body.p.url, `${site.url}/files/report.pdf`);
  // The server scrubs IP addresses from props, so 127.0.0.1 may come back as [ip].
  const url = (v) => typeof v === 'string' && v.endsWith(`:${site.port}/files/report.pdf`);
  await waitFor(async () => (await propCount('url', url)) === 1, { message: 'download counted' });
  assert.equal(await eventsNamed('File Download'), 1);
  // An internal link to a page is neither outbound nor a download.
  await Promise.all([page.waitForURL(/internal-target$/), page.click('#internal')]);
  await sleep(200);
  assert.deepEqual(
    events.map((e) => e.body.n),
    ['pageview', 'File Download', 'pageview'],
  );
  await ctx.close();
});

test('Do Not Track: nothing is sent or recorded', async () => {
  const { ctx, page, events } = await visit('/dnt', {
    init: "Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' })",
  });
  await page.click('#event');
  await page.click('#spa');
  await sleep(300);
  assert.equal(events.length, 0);
  await ctx.close();
  await expectNotCounted('/dnt');
});

test('Global Privacy Control: nothing is sent or recorded', async () => {
  const { ctx, page, events } = await visit('/gpc', {
    init: "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true })",
  });
  await page.click('#event');
  await sleep(300);
  assert.equal(events.length, 0);
  await ctx.close();
  await expectNotCounted('/gpc');
});

test('a page on 127.0.0.1 without data-allow-local sends nothing', async () => {
  const { ctx, events } = await visit('/local?allowlocal=0');
  await sleep(300);
  assert.equal(events.length, 0);
  await ctx.close();
  await expectNotCounted('/local');
});

test('data-consent="required": nothing until consent, then the first pageview', async () => {
  const { ctx, page, events } = await visit('/consent?consent=required');
  await page.click('#event'); // before consent: dropped for good
  await sleep(300);
  assert.equal(events.length, 0);
  await page.click('#consent');
  await waitFor(() => events.length === 1, { message: 'pageview after consent' });
  assert.equal(events[0].body.n, 'pageview');
  assert.equal(events[0].body.u, `${site.url}/consent?consent=required`);
  await expectPageviews('/consent', 1);
  // After consent, events flow.
  await page.evaluate(() => glasshouse('event', 'After consent'));
  await waitFor(async () => (await eventsNamed('After consent')) === 1, { message: 'event after consent' });
  assert.equal(events.length, 2);
  await ctx.close();
});

function cookiesPolicy(usage) {
  return {
    name: 'cookies_policy',
    value: encodeURIComponent(JSON.stringify({ essential: true, settings: false, usage, campaigns: false })),
    domain: '127.0.0.1',
    path: '/',
  };
}

test("GOV.UK cookies_policy with usage:true counts as consent", async () => {
  const { ctx, events } = await visit('/govuk-yes?consent=required', { cookies: [cookiesPolicy(true)] });
  await waitFor(() => events.length === 1, { message: 'pageview with usage consent' });
  await expectPageviews('/govuk-yes', 1);
  await ctx.close();
});

test("GOV.UK cookies_policy with usage:false does not", async () => {
  const { ctx, page, events } = await visit('/govuk-no?consent=required', { cookies: [cookiesPolicy(false)] });
  await page.click('#event');
  await sleep(300);
  assert.equal(events.length, 0);
  await ctx.close();
  await expectNotCounted('/govuk-no');
});

test('the tracker sets no cookie and stores nothing in the browser', async () => {
  const { ctx, page, events } = await visit('/clean');
  await page.click('#event');
  await page.click('#spa');
  await waitFor(() => events.length === 3, { message: 'three events' });
  await waitFor(() => events.every((e) => e.response), { message: 'answers' });
  assert.deepEqual(await ctx.cookies(), []);
  const storage = await page.evaluate(() => ({
    local: localStorage.length,
    session: sessionStorage.length,
    cookie: document.cookie,
  }));
  assert.deepEqual(storage, { local: 0, session: 0, cookie: '' });
  for (const e of events) {
    const headers = await e.response.allHeaders();
    assert.equal(headers['set-cookie'], undefined, 'the collector must not set cookies');
  }
  await ctx.close();
});

test('opting out on /optout stops counting on the customer site (cookie on the analytics host)', async () => {
  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  await page.goto(`${gh.url}/optout`);
  await page.click('#optout-button');
  await page.waitForSelector('#opted-out-panel', { state: 'visible' });
  const cookie = (await ctx.cookies(gh.url)).find((c) => c.name === 'glasshouse_optout');
  assert.equal(cookie?.value, '1');

  const events = watchEvents(page);
  await page.goto(`${site.url}/after-optout`);
  // The site's own origin knows nothing of the objection, so the tracker
  // posts; the browser sends the analytics host's cookie with it and the
  // server drops the event.
  await waitFor(() => events.length === 1 && events[0].response, { message: 'collector answer' });
  assert.equal((await events[0].request.allHeaders()).cookie, 'glasshouse_optout=1');
  assert.equal(events[0].response.status(), 202);
  assert.ok(
    'x-glasshouse-dropped' in (await events[0].response.allHeaders()),
    'the server should mark the dropped event with x-glasshouse-dropped',
  );
  await ctx.close();
  await expectNotCounted('/after-optout');
});

test('the #glasshouse-optout hand-off stores the objection on the site itself', async () => {
  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  const events = watchEvents(page);
  const back = `${site.url}/handoff?step=1`;
  await page.goto(`${gh.url}/optout?return=${encodeURIComponent(back)}`);
  await page.click('#optout-button');
  const link = page.locator('#return-link');
  await link.waitFor({ state: 'visible' });
  assert.equal(await link.textContent(), `Return to 127.0.0.1:${site.port}`);
  assert.equal(await link.getAttribute('href'), `${back}#glasshouse-optout`);
  await Promise.all([page.waitForURL(/\/handoff/), link.click()]);
  // The marker is removed from the address bar and the flag is stored.
  await waitFor(async () => page.url() === back, { message: 'marker removed from the URL' });
  assert.equal(await page.evaluate(() => localStorage.getItem('glasshouse_optout')), '1');
  // Without the analytics host's cookie, the site's flag alone stops sending.
  await ctx.clearCookies();
  await page.goto(`${site.url}/handoff-later`);
  await page.click('#event');
  await sleep(300);
  assert.equal(events.length, 0, 'nothing may be sent after the hand-off');

  // glasshouse('optin') on the site undoes it.
  await page.evaluate(() => glasshouse('optin'));
  assert.equal(await page.evaluate(() => localStorage.getItem('glasshouse_optout')), null);
  await page.goto(`${site.url}/after-optin`);
  await expectPageviews('/after-optin', 1);
  await ctx.close();
  assert.equal(await pageviews('/handoff'), 0);
  assert.equal(await pageviews('/handoff-later'), 0);
});

test("glasshouse('optout') on the site stops sending at once", async () => {
  const { ctx, page, events } = await visit('/site-optout');
  await waitFor(() => events.length === 1);
  await page.evaluate(() => glasshouse('optout'));
  await page.click('#event');
  await page.click('#spa');
  await sleep(300);
  assert.equal(events.length, 1);
  assert.equal(await page.evaluate(() => localStorage.getItem('glasshouse_optout')), '1');
  await ctx.close();
});
