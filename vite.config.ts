import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'screen',
  plugins: [vue()],
  build: { outDir: '../dist/screen', emptyOutDir: true },
  server: { proxy: { '/api': 'http://localhost:8080' } },
});
