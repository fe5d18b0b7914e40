// Which layout the screen draws: the wall's 1920×1080 canvas for TVs and desks, or the phone
// layout (one column, touch) for a portrait or narrow viewport. `?layout=wall|phone` forces one.
import { ref, type Ref } from 'vue';

export type Layout = 'wall' | 'phone';

/** narrower than this, the wall's canvas would shrink its text below reading size */
export const PHONE_MAX_WIDTH = 900;

export function layoutFor(width: number, height: number, forced: string | null): Layout {
  if (forced === 'wall' || forced === 'phone') return forced;
  return width < PHONE_MAX_WIDTH || height > width ? 'phone' : 'wall';
}

let current: Ref<Layout> | null = null;

/** The layout for this window, following it when the phone turns or the window is resized. */
export function useLayout(): Ref<Layout> {
  if (current) return current;
  const forced = new URLSearchParams(location.search).get('layout');
  const layout = ref<Layout>(layoutFor(window.innerWidth, window.innerHeight, forced));
  window.addEventListener('resize', () => (layout.value = layoutFor(window.innerWidth, window.innerHeight, forced)));
  current = layout;
  return layout;
}
