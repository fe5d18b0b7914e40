// What every page of the on-call console does on mount: let the document scroll (the wall's canvas
// does not) and reload its data now and every 15 s, until it is left.
import { onBeforeUnmount, onMounted } from 'vue';

const RELOAD_EVERY_MS = 15_000;

export function useConsolePage(load: () => Promise<void>): void {
  let timer: number | undefined;
  onMounted(() => {
    document.documentElement.classList.add('console');
    void load();
    timer = window.setInterval(load, RELOAD_EVERY_MS);
  });
  onBeforeUnmount(() => {
    document.documentElement.classList.remove('console');
    clearInterval(timer);
  });
}
