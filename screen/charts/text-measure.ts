// ECharts measures every label's width on one canvas it never draws on (zrender's platform
// measureText). Chromium keeps each distinct string measured on a canvas shaped for as long as
// that canvas lives — up to 32 768 of them at ~1.4 KB each — and a wall whose figures change all
// day measures new strings all day. A fresh measuring canvas every `perCanvas` measurements lets
// the old one, and all it holds, be collected. (zrender keeps the last 500 widths per font itself,
// so what reaches this is mostly text it has not seen lately.)

/** measurements on one canvas before the next; ~2.8 MB of shaped text at most */
export const MEASURES_PER_CANVAS = 2000;
/** zrender's default label font */
const DEFAULT_FONT = '12px sans-serif';

export function rotatingTextMeasure(createCanvas: () => HTMLCanvasElement, perCanvas = MEASURES_PER_CANVAS) {
  let context: CanvasRenderingContext2D | null = null;
  let font = '';
  let measured = 0;
  return (text: string, wanted: string = DEFAULT_FONT): { width: number } => {
    if (!context || measured >= perCanvas) {
      context = createCanvas().getContext('2d');
      font = '';
      measured = 0;
      if (!context) return { width: 0 };
    }
    if (wanted !== font) context.font = font = wanted;
    measured++;
    return { width: context.measureText(text).width };
  };
}
