// A person signs in to the dashboard over HTTPS, through Debian's nginx
// configured from the shipped deploy/nginx.conf with a self-signed
// certificate: the pages work behind the proxy and the session cookie is
// Secure, HttpOnly and SameSite=Strict.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, RESULTS_DIR, freePort, launchBrowser, newContext, waitFor } from './support/server.mjs';
import { signIn, startDemo } from './support/dashboard.mjs';

const NGINX = '/usr/sbin/nginx';

/** nginx in front of `upstream` on 127.0.0.1:`port`, with TLS; resolves to { stop }. */
async function startNginx(port, upstream) {
  assert.ok(existsSync(NGINX), "Debian's nginx is needed (apt-get install nginx); .ci/run installs it");
  const dir = await mkdtemp(join(tmpdir(), 'glasshouse-nginx-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  const shipped = readFileSync(join(REPO_ROOT, 'deploy', 'nginx.conf'), 'utf8');
  const server = shipped
    .slice(shipped.lastIndexOf('server {'))
    .replace('listen 443 ssl http2;', `listen 127.0.0.1:${port} ssl http2;`)
    .replace('listen [::]:443 ssl http2;', '')
    .replace('/etc/ssl/certs/analytics.example.gov.uk.pem', join(dir, 'cert.pem'))
    .replace('/etc/ssl/private/analytics.example.gov.uk.key', join(dir, 'key.pem'))
    .replace('127.0.0.1:8080', `127.0.0.1:${upstream}`);
  const temps = ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];
  for (const t of temps) await mkdir(join(dir, t));
  const root = process.getuid?.() === 0 ? 'user root;\n' : '';
  await writeFile(
    join(dir, 'nginx.conf'),
    `${root}worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n` +
      temps.map((t) => ` ${t === 'body' ? 'client_body' : t}_temp_path ${dir}/${t};\n`).join('') +
      `${server}\n}\n`,
  );
  const out = openSync(join(dir, 'out.log'), 'a');
  const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', out, out] });
  let exited = null;
  child.on('exit', (code) => (exited = code));
  await waitFor(
    async () => {
      if (exited !== null) throw new Error(`nginx exited: ${readFileSync(join(dir, 'out.log'), 'utf8')}`);
      try {
        execFileSync('curl', ['-sk', '-o', '/dev/null', `https://127.0.0.1:${port}/health`]);
        return true;
      } catch {
        return false;
      }
    },
    { timeout: 20_000, message: 'nginx to answer' },
  );
  return {
    async stop() {
      if (exited === null) {
        const gone = new Promise((res) => child.once('exit', res));
        child.kill('SIGTERM');
        await gone;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

test('a person signs in over HTTPS through nginx and the session cookie is Secure', async () => {
  const demo = await startDemo({ days: 3, events: 3000 });
  const port = await freePort();
  const nginx = await startNginx(port, demo.port);
  const browser = await launchBrowser();
  try {
    const context = await newContext(browser, { ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const https = `https://127.0.0.1:${port}`;
    await signIn(page, { ...demo, url: https });
    assert.ok(page.url().startsWith(`${https}/sites/`), page.url());
    const cookies = await context.cookies(https);
    assert.ok(cookies.length > 0, 'signed in with a cookie');
    for (const c of cookies) {
      assert.equal(c.secure, true, `${c.name} is Secure`);
      assert.equal(c.httpOnly, true, `${c.name} is HttpOnly`);
      assert.equal(c.sameSite, 'Strict', `${c.name} is SameSite=Strict`);
    }
    await page.screenshot({ path: join(RESULTS_DIR, 'https-dashboard.png'), fullPage: false });
  } finally {
    await browser.close();
    await nginx.stop();
    await demo.stop();
  }
});
