import { PerformanceObserver } from "node:perf_hooks";
import v8 from "node:v8";

/**
 * How the server sizes V8's heap (to keep peak RSS under `npm run bench` below 150 MB).
 *
 * Node's defaults suit a batch job more than a long-running server on a small box: the young
 * generation grows to 32 MB (two 16 MB semi-spaces), most of it while the server's own modules
 * load, and the old generation grows to two to four times what is live before a full collection.
 * Capping the young generation at 16 MB and letting the old one grow by half its live size
 * between full collections cut the peak RSS of 1,000 concurrent streams from about 220 MB to
 * about 150 MB, and that of the list and stream workloads by 30-50 MB; the CPU per request or
 * turn did not move beyond the benchmark's noise. The old generation's setting costs event-loop
 * delay with 1,000 streams at once (p99 about 70 ms against 55): bench/README.md.
 */
export interface HeapTuning {
  /** The largest the young generation may grow to, both semi-spaces together. 0 leaves V8's default. */
  youngGenerationMb: number;
  /** How far past the live size the old generation may grow before a full collection. 0 leaves V8's default. */
  oldGenerationGrowthPercent: number;
}

export const SERVER_HEAP: HeapTuning = { youngGenerationMb: 16, oldGenerationGrowthPercent: 50 };

let capObserver: PerformanceObserver | undefined;

/** An operator's own `--max-semi-space-size` or `--heap-growing-percent` (NODE_OPTIONS or argv) wins over ours. */
function operatorSets(flag: string): boolean {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].some((arg) => arg.replace(/_/g, "-").startsWith(`--${flag}`));
}

/**
 * Applies `tuning` to this process's heap, from now on. V8 fixes the semi-space's maximum when the
 * process starts, but reads its growth factor each time it grows the young generation: growing it
 * (factor 2) only while it is below the cap gives a cap no command-line flag is needed for, so
 * every way of starting the server (npm start, `node dist/main.js` under systemd) gets it.
 * The old generation's growth is a flag V8 reads after each full collection.
 */
export function tuneHeap(tuning: HeapTuning = SERVER_HEAP): void {
  if (tuning.oldGenerationGrowthPercent > 0 && !operatorSets("heap-growing-percent")) {
    v8.setFlagsFromString(`--heap-growing-percent=${tuning.oldGenerationGrowthPercent}`);
  }
  if (tuning.youngGenerationMb <= 0 || operatorSets("max-semi-space-size")) return;
  const cap = tuning.youngGenerationMb * 2 ** 20;
  let growing = true;
  const holdAtCap = () => {
    const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space");
    const grow = (young?.space_size ?? 0) < cap;
    if (grow === growing) return;
    growing = grow;
    v8.setFlagsFromString(`--semi-space-growth-factor=${grow ? 2 : 1}`);
  };
  holdAtCap();
  // Held here: an observer nothing references is collected, and stops observing with it.
  capObserver?.disconnect();
  capObserver = new PerformanceObserver(holdAtCap);
  capObserver.observe({ entryTypes: ["gc"] });
}
