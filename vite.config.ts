import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'screen',
  plugins: [vue()],
  // one bundle for a wall that loads once and runs for weeks: ECharts, the map and Vue, ~1 MB (350 kB gzipped)
  build: { outDir: '../dist/screen', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: { proxy: { '/api': 'http://localhost:8080', '/socket.io': { target: 'ws://localhost:8080', ws: true } } },
});
