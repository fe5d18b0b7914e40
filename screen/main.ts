import { createApp } from 'vue';
import LiveSummary from './LiveSummary.vue';

createApp(LiveSummary).mount('#app');
