// Builds the dashboard, the all-sites overview and the sign-in page into web/dist, which the server
// embeds (crates/server/src/web_assets.rs). Files under /static/ have hashed
// names, so the server may cache them for ever.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  base: '/',
  publicDir: false,
  css: {
    preprocessorOptions: {
      scss: {
        loadPaths: [resolve(root, 'node_modules')],
        quietDeps: true,
        // govuk-frontend 5 still uses @import and global functions.
        silenceDeprecations: ['import', 'global-builtin', 'color-functions', 'slash-div', 'if-function'],
      },
    },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'static',
    emptyOutDir: true,
    target: 'es2020',
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
    chunkSizeWarningLimit: 700,
    rollupOptions: {
      input: {
        dashboard: resolve(root, 'dashboard.html'),
        login: resolve(root, 'login.html'),
        overview: resolve(root, 'overview.html'),
        transparency: resolve(root, 'transparency.html'),
      },
    },
  },
});
