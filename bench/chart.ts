// A hand-written SVG: /fast latency (p99 per half-second window, log scale)
// over a load window, one line per slow route.
import type { Timed } from './load.js';
import { percentile } from './numbers.js';

const COLORS: Record<string, string> = { slow: '#d62728', slow_threaded: '#1f77b4', slow_pool: '#2ca02c' };

export function latencyChart(series: Record<string, Timed[]>, seconds: number, title: string): string {
  const width = 760;
  const height = 320;
  const m = { left: 60, right: 150, top: 36, bottom: 44 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const bucketMs = 500;
  const points: Record<string, [number, number][]> = {};
  let top = 1;
  for (const [route, samples] of Object.entries(series)) {
    const buckets = new Map<number, number[]>();
    for (const { at, latency } of samples) {
      const key = Math.floor(at / bucketMs);
      if (!buckets.has(key)) buckets.set(key, []);
      buckets.get(key)!.push(latency);
    }
    points[route] = [...buckets].sort(([a], [b]) => a - b).map(([key, values]) => [((key + 0.5) * bucketMs) / 1000, percentile(values.sort((a, b) => a - b), 99)]);
    for (const [, y] of points[route]!) top = Math.max(top, y);
  }
  const bottomExp = -1;
  const topExp = Math.ceil(Math.log10(top));
  const x = (s: number) => m.left + (Math.min(s, seconds) / seconds) * plotW;
  const y = (ms: number) => m.top + plotH - ((Math.log10(Math.max(ms, 0.1)) - bottomExp) / (topExp - bottomExp)) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${m.left}" y="20" font-size="14" font-weight="bold">${title}</text>`,
  ];
  for (let e = bottomExp; e <= topExp; e += 1) {
    const value = 10 ** e;
    parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${y(value)}" y2="${y(value)}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.left - 6}" y="${y(value) + 4}" text-anchor="end">${value >= 1 ? value : value.toFixed(1)} ms</text>`);
  }
  for (let s = 0; s <= seconds; s += seconds <= 4 ? 1 : 2) {
    parts.push(`<text x="${x(s)}" y="${m.top + plotH + 18}" text-anchor="middle">${s} s</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${m.left + plotW / 2}" y="${height - 6}" text-anchor="middle">time in the load window (p99 of /fast per 0.5 s)</text>`);
  Object.entries(points).forEach(([route, pts], i) => {
    const color = COLORS[route] ?? '#000';
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([s, ms]) => `${x(s).toFixed(1)},${y(ms).toFixed(1)}`).join(' ')}"/>`);
    parts.push(`<line x1="${m.left + plotW + 12}" x2="${m.left + plotW + 32}" y1="${m.top + 14 + i * 20}" y2="${m.top + 14 + i * 20}" stroke="${color}" stroke-width="3"/>`);
    parts.push(`<text x="${m.left + plotW + 38}" y="${m.top + 18 + i * 20}">/${route}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
