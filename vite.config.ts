import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';
import { compression } from 'vite-plugin-compression2';

export default defineConfig({
  root: 'screen',
  // each file also as .br and .gz, compressed once here at the highest settings: the server sends
  // them as they are to a browser that accepts them (a phone on a mobile network), no CPU per request
  plugins: [vue(), compression({ algorithms: ['brotliCompress', 'gzip'] })],
  // one bundle for a wall that loads once and runs for weeks: ECharts, the map and Vue, ~1 MB (350 kB gzipped)
  build: { outDir: '../dist/screen', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: { proxy: { '/api': 'http://localhost:8080', '/socket.io': { target: 'ws://localhost:8080', ws: true } } },
});
