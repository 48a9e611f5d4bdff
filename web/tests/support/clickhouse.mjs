// Test support: a real ClickHouse server (Debian's clickhouse-server, which
// .ci/run installs) on 127.0.0.1 with free ports and a temporary directory,
// for running the page tests with the demo on ClickHouse
// (GLASSHOUSE_TEST_STORE=clickhouse).
import { spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './server.mjs';

/** Which store the page tests run the demo on: 'duckdb' (default) or 'clickhouse'. */
export const TEST_STORE = process.env.GLASSHOUSE_TEST_STORE || 'duckdb';

function serverProgram() {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/bin']) {
    if (existsSync(join(dir, 'clickhouse-server'))) return [join(dir, 'clickhouse-server'), []];
  }
  for (const dir of ['/usr/bin', '/usr/local/bin']) {
    if (existsSync(join(dir, 'clickhouse'))) return [join(dir, 'clickhouse'), ['server']];
  }
  throw new Error('no ClickHouse server found: apt-get install clickhouse-server (as .ci/run does)');
}

/** Starts a server; resolves to { httpPort, storeUrl(database), stop }. */
export async function startClickHouse() {
  const [program, args] = serverProgram();
  const dir = await mkdtemp(join(tmpdir(), 'glasshouse-clickhouse-'));
  const [httpPort, tcpPort] = [await freePort(), await freePort()];
  await mkdir(join(dir, 'log'), { recursive: true });
  await writeFile(
    join(dir, 'users.xml'),
    `<?xml version="1.0"?><yandex><profiles><default></default></profiles>
<users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
<quotas><default></default></quotas></yandex>\n`,
  );
  await writeFile(
    join(dir, 'config.xml'),
    `<?xml version="1.0"?><yandex>
<logger><level>warning</level><log>${dir}/log/server.log</log><errorlog>${dir}/log/error.log</errorlog><size>10M</size><count>1</count></logger>
<listen_host>127.0.0.1</listen_host><http_port>${httpPort}</http_port><tcp_port>${tcpPort}</tcp_port>
<path>${dir}/data/</path><tmp_path>${dir}/tmp/</tmp_path><user_files_path>${dir}/user_files/</user_files_path>
<format_schema_path>${dir}/format_schemas/</format_schema_path><users_config>${dir}/users.xml</users_config>
<default_profile>default</default_profile><default_database>default</default_database><timezone>UTC</timezone>
<mark_cache_size>67108864</mark_cache_size><uncompressed_cache_size>67108864</uncompressed_cache_size>
<mlock_executable>false</mlock_executable></yandex>\n`,
  );
  const out = openSync(join(dir, 'log', 'stdout.log'), 'a');
  const child = spawn(program, [...args, `--config-file=${join(dir, 'config.xml')}`], {
    cwd: dir,
    stdio: ['ignore', out, out],
  });
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  await waitFor(
    async () => {
      if (exited) throw new Error(`clickhouse-server exited (${JSON.stringify(exited)}); see ${dir}/log`);
      try {
        const r = await fetch(`http://127.0.0.1:${httpPort}/ping`);
        return r.ok;
      } catch {
        return false;
      }
    },
    { timeout: 60_000, interval: 100, message: 'ClickHouse to answer /ping' },
  );
  async function stop() {
    if (!exited) {
      const gone = new Promise((res) => child.once('exit', res));
      child.kill('SIGKILL');
      await gone;
    }
    await rm(dir, { recursive: true, force: true });
  }
  return { httpPort, storeUrl: (db) => `clickhouse://127.0.0.1:${httpPort}/${db}`, stop };
}
