// Plausible's own npm tracker (@plausible-analytics/tracker), unchanged,
// pointed at glasshouse in Chromium: a site that moves from Plausible
// changes the endpoint and loses nothing it counted. Page views, custom
// events with properties, and engagement read back through the Stats API.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchBrowser, newContext, startServer, startSite, waitFor, watchEvents } from './support/server.mjs';

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

async function rows(property, metrics, filters) {
  const f = filters ? `&filters=${encodeURIComponent(filters)}` : '';
  const r = await gh.statsApi(`/api/v1/stats/breakdown?${SITE}&property=${encodeURIComponent(property)}&metrics=${metrics}${f}`);
  assert.ok(Array.isArray(r.results), JSON.stringify(r));
  return r.results;
}

test("Plausible's tracker: page views, custom events and engagement are counted as Plausible counts them", async () => {
  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  const events = watchEvents(page);
  await page.goto(`${site.url}/plausible/start`);
  await waitFor(() => events.length === 1, { message: 'the pageview' });
  assert.equal(events[0].body.n, 'pageview');
  assert.equal(events[0].body.d, 'test.example');
  await waitFor(() => events[0].response, { message: 'collector response' });
  assert.equal(events[0].response.status(), 202);

  await page.evaluate(() => window.track('Signup', { props: { plan: 'basic' } }));
  await waitFor(() => events.length === 2 && events[1].response, { message: 'the custom event' });
  assert.equal(events[1].response.status(), 202);

  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight / 2));
  await page.waitForTimeout(500);
  // Single-page navigation: Plausible's tracker reports the page left, then counts the next.
  await page.click('#spa');
  await waitFor(() => events.length === 3 && events.engagement.length === 1, { message: 'engagement, then the next pageview' });
  const report = events.engagement[0].body;
  assert.equal(report.u, `${site.url}/plausible/start`);
  assert.ok(report.sd > 20 && report.sd <= 100, `scroll depth ${report.sd}`);
  await waitFor(() => events.engagement[0].response, { message: 'engagement response' });
  assert.equal(events.engagement[0].response.status(), 202, await events.engagement[0].response.text());

  // Read back: the page views, the event and its property; engagement is
  // neither, and is read per page.
  await waitFor(async () => (await rows('event:page', 'pageviews')).some((r) => r.page === '/plausible/next'), { message: 'the second pageview' });
  const pages = await rows('event:page', 'pageviews,scroll_depth,time_on_page');
  assert.equal(pages.find((r) => r.page === '/plausible/start').pageviews, 1);
  assert.equal(pages.find((r) => r.page === '/plausible/start').scroll_depth, report.sd);
  assert.equal(pages.find((r) => r.page === '/plausible/start').time_on_page, Math.round(report.e / 1000));
  const names = await rows('event:name', 'events');
  assert.equal(names.find((r) => r.name === 'Signup')?.events, 1);
  assert.ok(!names.some((r) => r.name === 'engagement'), JSON.stringify(names));
  const plans = await rows('event:props:plan', 'events');
  assert.equal(plans.find((r) => r.plan === 'basic')?.events, 1);
  await ctx.close();
});

test("the /optout hand-off stops Plausible's tracker on the site, and the opt-in starts it again", async () => {
  const ctx = await newContext(browser);
  const page = await ctx.newPage();
  const events = watchEvents(page);
  // /optout sends the visitor back with the fragment; the site's copy of
  // plausible-objection.js, loaded before the tracker, stores the objection.
  await page.goto(`${site.url}/plausible/objector#glasshouse-optout`);
  await waitFor(async () => (await page.evaluate(() => localStorage.getItem('plausible_ignore'))) === 'true', { message: 'the objection stored' });
  assert.equal(new URL(page.url()).hash, '', 'the fragment is removed');
  await page.goto(`${site.url}/plausible/objector-again`);
  await sleep(1500);
  assert.equal(events.length, 0, JSON.stringify(events.map((e) => e.body)));
  // Changing one's mind: counted again from the next page.
  await page.goto(`${site.url}/plausible/objector-back#glasshouse-optin`);
  await waitFor(() => events.length === 1, { message: 'counted again' });
  assert.equal(events[0].body.u, `${site.url}/plausible/objector-back`);
  const pages = (await gh.statsApi(`/api/v1/stats/breakdown?${SITE}&property=event:page&metrics=pageviews`)).results;
  assert.ok(!pages.some((r) => r.page.startsWith('/plausible/objector-again') || r.page === '/plausible/objector'), JSON.stringify(pages));
  await ctx.close();
});
