import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import './charts/echarts.js';
import { i18n } from './i18n.js';

createApp(App).use(createPinia()).use(i18n).mount('#app');
