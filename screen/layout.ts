// Which layout the screen draws: the wall's 1920×1080 canvas for TVs and desks, or the phone
// layout (one column, touch) for a portrait or narrow viewport. `?layout=wall|phone` forces one.
import { ref, type Ref } from 'vue';

export type Layout = 'wall' | 'phone';

/** narrower than this, the wall's canvas would shrink its text below reading size */
export const PHONE_MAX_WIDTH = 900;

/**
 * `replay`: the address names an instant (?at=). Replay is the wall's: the phone layout would show
 * live figures under an address that asks for a past moment, so the wall's canvas is drawn instead.
 */
export function layoutFor(width: number, height: number, forced: string | null, replay = false): Layout {
  if (forced === 'wall' || forced === 'phone') return replay ? 'wall' : forced;
  if (replay) return 'wall';
  return width < PHONE_MAX_WIDTH || height > width ? 'phone' : 'wall';
}

let current: Ref<Layout> | null = null;

/** The layout for this window, following it when the phone turns or the window is resized. */
export function useLayout(): Ref<Layout> {
  if (current) return current;
  const params = new URLSearchParams(location.search);
  const forced = params.get('layout');
  const replay = params.has('at');
  const layout = ref<Layout>(layoutFor(window.innerWidth, window.innerHeight, forced, replay));
  window.addEventListener('resize', () => (layout.value = layoutFor(window.innerWidth, window.innerHeight, forced, replay)));
  current = layout;
  return layout;
}
