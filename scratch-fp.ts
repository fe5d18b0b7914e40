import { readNabCorpus } from './alerts/quality/nab-corpus.js';
import { detections } from './alerts/quality/detector-quality.js';
import { detectorOf } from './alerts/detectors/index.js';
import { detectorSchema } from './config/alert-schema.js';
import { probationaryLength } from './alerts/quality/nab-score.js';
const corpus = readNabCorpus('../shared/datasets/nab-dev');
const d = () => detectorOf(detectorSchema.parse({ kind: 'auto' }));
const gaps: number[] = []; let fps = 0, afterTp = 0, afterFp = 0;
for (const s of corpus) {
  const det = detections(d(), s);
  const prob = probationaryLength(s.timestamps.length);
  let lastDet = -1e9; let lastWasTp = false;
  for (let i = prob; i < det.length; i++) {
    if (!det[i]) continue;
    const t = s.timestamps[i]!;
    const inWin = s.windows.some(([a, b]) => t >= a && t <= b);
    if (!inWin) {
      fps++;
      const since = i - lastDet;
      gaps.push(since);
      if (since < 300) { if (lastWasTp) afterTp++; else afterFp++; }
    }
    lastDet = i; lastWasTp = inWin;
  }
}
gaps.sort((a, b) => a - b);
console.log({ fps, afterTpWithin300: afterTp, afterFpWithin300: afterFp, q: [0.1, 0.25, 0.5, 0.75].map((q) => gaps[Math.floor(q * gaps.length)]) });
