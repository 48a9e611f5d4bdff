// The opt-out page (/optout) served by the real glasshouse server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import AxeBuilderModule from '@axe-core/playwright';
import { RESULTS_DIR, launchBrowser, newContext, startServer, waitFor } from './support/server.mjs';

const AxeBuilder = AxeBuilderModule.default ?? AxeBuilderModule;

let gh, browser;

before(async () => {
  gh = await startServer();
  browser = await launchBrowser();
  await mkdir(RESULTS_DIR, { recursive: true });
});

after(async () => {
  await browser?.close();
  await gh?.stop();
});

/** A fresh page on /optout that fails the test on any console error or CSP violation. */
async function openOptout(query = '', contextOptions = {}) {
  const ctx = await newContext(browser, contextOptions);
  const page = await ctx.newPage();
  const problems = [];
  page.on('console', (m) => {
    // Failed loads are reported below with their URL.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') problems.push(`${r.status()} ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  const response = await page.goto(`${gh.url}/optout${query}`);
  return { ctx, page, response, problems };
}

async function axeProblems(page) {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'])
    .analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

test('/optout renders in plain English, with its CSS and JS from the same origin', async () => {
  const { ctx, page, response, problems } = await openOptout();
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-type'], /^text\/html/);
  assert.equal(await page.getAttribute('html', 'lang'), 'en-GB');
  assert.equal(await page.textContent('h1'), 'Stop counting my visits');
  assert.equal(await page.textContent('.gh-header__service'), 'glasshouse');
  const text = await page.textContent('main');
  for (const phrase of ['does not use cookies', 'personal data', 'resets', 'Do Not Track']) {
    assert.ok(text.includes(phrase), `page should mention "${phrase}"`);
  }
  // The stylesheet applied: the GOV.UK-style header is black and the button green.
  const header = await page.$eval('.gh-header', (el) => getComputedStyle(el).backgroundColor);
  assert.equal(header, 'rgb(11, 12, 12)');
  const button = page.locator('#optout-button');
  assert.ok(await button.isVisible());
  assert.equal(await button.textContent(), 'Stop counting my visits');
  assert.equal(await button.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(0, 112, 60)');
  // No inline script or style, so a strict CSP breaks nothing.
  const html = await (await fetch(`${gh.url}/optout`)).text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, 'inline <script>');
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'inline style or event handler');
  assert.deepEqual(problems, []);
  await page.screenshot({ path: join(RESULTS_DIR, 'optout.png'), fullPage: true });
  await ctx.close();
});

test('/optout is served with a strict Content-Security-Policy', async () => {
  const r = await fetch(`${gh.url}/optout`);
  const csp = r.headers.get('content-security-policy') || '';
  assert.match(csp, /default-src 'self'/, `content-security-policy: ${csp || '(none)'}`);
  for (const path of ['/js/optout.js', '/assets/page.css']) {
    const a = await fetch(gh.url + path);
    assert.equal(a.status, 200, path);
  }
});

test('the button sets the opt-out cookie on the analytics host, and can be undone', async () => {
  const { ctx, page, problems } = await openOptout();
  await page.click('#optout-button');
  await page.locator('#opted-out-panel').waitFor({ state: 'visible' });
  assert.equal(await page.textContent('.gh-panel__title'), 'Your visits are not being counted');
  assert.ok(!(await page.isVisible('#optout-button')));
  // Focus moves to the confirmation so screen readers announce it.
  assert.equal(await page.evaluate(() => document.activeElement.id), 'opted-out-panel');

  const cookies = await ctx.cookies(gh.url);
  assert.equal(cookies.length, 1, JSON.stringify(cookies));
  const [c] = cookies;
  assert.equal(c.name, 'glasshouse_optout');
  assert.equal(c.value, '1');
  assert.equal(c.path, '/');
  assert.equal(c.sameSite, 'Lax'); // plain http here; https gets SameSite=None; Secure
  // Asked for 5 years; Chromium caps every cookie at 400 days.
  const days = (c.expires * 1000 - Date.now()) / (24 * 3600 * 1000);
  assert.ok(days > 399 && days < 5 * 366, `cookie lasts ${days} days`);
  assert.equal(await page.evaluate(() => localStorage.getItem('glasshouse_optout')), '1');

  // The choice is remembered.
  await page.reload();
  await page.locator('#opted-out-panel').waitFor({ state: 'visible' });
  assert.equal(await page.textContent('#optin-button'), 'Count my visits again');

  // And undone.
  await page.click('#optin-button');
  await page.locator('#optout-button').waitFor({ state: 'visible' });
  assert.ok(await page.isVisible('#opted-in-message'));
  assert.deepEqual(await ctx.cookies(gh.url), []);
  assert.equal(await page.evaluate(() => localStorage.getItem('glasshouse_optout')), null);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('axe-core finds no serious or critical problems, before or after opting out', async () => {
  const { ctx, page } = await openOptout('?return=' + encodeURIComponent('https://www.gov.uk/apply'));
  assert.deepEqual(await axeProblems(page), []);
  await page.click('#optout-button');
  await page.locator('#return-link').waitFor({ state: 'visible' });
  assert.deepEqual(await axeProblems(page), []);
  await page.screenshot({ path: join(RESULTS_DIR, 'optout-done.png'), fullPage: true });
  await ctx.close();
});

test('keyboard only: Tab reaches the button, Enter presses it, focus is visible', async () => {
  const { ctx, page } = await openOptout();
  // The first Tab stop is the skip link, which shows itself when focused.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.className), 'gh-skip-link');
  assert.ok(await page.isVisible('.gh-skip-link'));
  let focused;
  for (let i = 0; i < 10; i++) {
    focused = await page.evaluate(() => document.activeElement.id);
    if (focused === 'optout-button') break;
    await page.keyboard.press('Tab');
  }
  assert.equal(focused, 'optout-button');
  // GOV.UK focus state: yellow button, black text.
  const style = await page.$eval('#optout-button', (el) => {
    const s = getComputedStyle(el);
    return { bg: s.backgroundColor, color: s.color };
  });
  assert.deepEqual(style, { bg: 'rgb(255, 221, 0)', color: 'rgb(11, 12, 12)' });
  await page.screenshot({ path: join(RESULTS_DIR, 'optout-focus.png') });
  await page.keyboard.press('Enter');
  await page.locator('#opted-out-panel').waitFor({ state: 'visible' });
  assert.equal((await ctx.cookies(gh.url))[0]?.value, '1');
  // The undo button is reachable too.
  for (let i = 0; i < 10; i++) {
    if ((await page.evaluate(() => document.activeElement.id)) === 'optin-button') break;
    await page.keyboard.press('Tab');
  }
  await page.keyboard.press('Enter');
  await page.locator('#optout-button').waitFor({ state: 'visible' });
  assert.deepEqual(await ctx.cookies(gh.url), []);
  await ctx.close();
});

test('?return= gives a way back to the site with the hand-off marker', async () => {
  const back = 'https://www.gov.uk/apply-visa?step=2#top';
  const { ctx, page } = await openOptout('?return=' + encodeURIComponent(back));
  await page.click('#optout-button');
  const link = page.locator('#return-link');
  await link.waitFor({ state: 'visible' });
  assert.equal(await link.textContent(), 'Return to www.gov.uk');
  assert.equal(await link.getAttribute('href'), 'https://www.gov.uk/apply-visa?step=2#glasshouse-optout');
  await page.click('#optin-button');
  assert.equal(await link.getAttribute('href'), 'https://www.gov.uk/apply-visa?step=2#glasshouse-optin');
  await ctx.close();
});

test('?return= accepts only http(s) URLs and shows the host as text', async () => {
  for (const bad of ['javascript:alert(1)', 'data:text/html,<b>x</b>', '//evil.example/', 'not a url']) {
    const { ctx, page, problems } = await openOptout('?return=' + encodeURIComponent(bad));
    await page.click('#optout-button');
    await page.locator('#opted-out-panel').waitFor({ state: 'visible' });
    assert.ok(!(await page.isVisible('#return')), `no return link for ${bad}`);
    assert.deepEqual(problems, []);
    await ctx.close();
  }
  const tricky = 'http://xn--gv-8ka.example:8080/<img src=x onerror=alert(1)>';
  const { ctx, page } = await openOptout('?return=' + encodeURIComponent(tricky));
  await page.click('#optout-button');
  await page.locator('#return-link').waitFor({ state: 'visible' });
  assert.equal(await page.textContent('#return-link'), 'Return to xn--gv-8ka.example:8080');
  assert.equal(await page.locator('#return-link img').count(), 0);
  await ctx.close();
});

test('without JavaScript the page explains itself and says the button needs JavaScript', async () => {
  const { ctx, page } = await openOptout('', { javaScriptEnabled: false });
  assert.equal(await page.textContent('h1'), 'Stop counting my visits');
  const noscript = await page.locator('main .gh-inset-text').first().textContent();
  assert.match(noscript, /needs JavaScript/);
  assert.match(noscript, /Do Not Track/);
  assert.ok(!(await page.isVisible('#optout-button')));
  assert.ok(await page.isVisible('text=What glasshouse does not do'));
  await page.screenshot({ path: join(RESULTS_DIR, 'optout-nojs.png'), fullPage: true });
  await ctx.close();
});

test('the page works on a small screen', async () => {
  const { ctx, page } = await openOptout('', { viewport: { width: 360, height: 740 } });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  assert.equal(overflow, false, 'no horizontal scrolling at 360px');
  await page.click('#optout-button');
  await waitFor(() => page.isVisible('#opted-out-panel'));
  await page.screenshot({ path: join(RESULTS_DIR, 'optout-mobile.png'), fullPage: true });
  await ctx.close();
});
