/*
 * Dev server proxies /api and /ws to a gateway on :8080 (`npm start`); the production build is
 * served by the gateway itself at `/`. The contracts package is read from source so the few
 * shared constants bundle as ESM; manualChunks keeps the heavy libraries in their own chunks,
 * loaded only by the routes that use them (the login route must stay under 250 KB gzipped).
 */
import { fileURLToPath, URL } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

const gateway = process.env.AGENTYARD_GATEWAY ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [vue()],
  resolve: {
    alias: {
      '@': fileURLToPath(new URL('./src', import.meta.url)),
      '@agentyard/contracts': fileURLToPath(new URL('../contracts/src/index.ts', import.meta.url)),
    },
  },
  server: {
    proxy: {
      '/api': { target: gateway, changeOrigin: true },
      '/ws': { target: gateway.replace(/^http/, 'ws'), ws: true },
    },
  },
  build: {
    manifest: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1200,
  },
  test: {
    environment: 'happy-dom',
    environmentOptions: { happyDOM: { url: 'http://127.0.0.1:5173/' } },
    include: ['src/**/*.unit.spec.ts'],
    restoreMocks: true,
  },
});
