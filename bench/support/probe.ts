/**
 * Preloaded (`--import`) into a process under benchmark that was started with an IPC channel:
 * answers `{ probe: "stats" }` with the process's own CPU time, peak RSS and event-loop delay, so
 * those are measured inside the server rather than guessed from outside. `{ probe: "reset" }`
 * starts a new event-loop delay window. Not part of the app; the app never sees it.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

export interface ProbeStats {
  /** CPU time used since the process started, in microseconds. */
  cpuMicros: number;
  rssBytes: number;
  /** The highest RSS the process has had (getrusage), in bytes. */
  maxRssBytes: number;
  /** Event-loop delay since the last reset, in milliseconds. */
  eventLoopDelay: { p50: number; p99: number; max: number };
}

if (process.send) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const stats = (): ProbeStats => {
    const cpu = process.cpuUsage();
    return {
      cpuMicros: cpu.user + cpu.system,
      rssBytes: process.memoryUsage.rss(),
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      eventLoopDelay: { p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
    };
  };
  process.on("message", (message: { probe?: string; id?: number }) => {
    if (message?.probe === "reset") delay.reset();
    if (message?.probe === "reset" || message?.probe === "stats") process.send!({ probe: "stats", id: message.id, stats: stats() });
  });
  // The channel must not keep a server alive that was asked to stop.
  process.channel?.unref();
}
