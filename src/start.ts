// The server process's entry (built as `dist/main.js`, what `npm start` runs). The heap is sized
// first, before the server's modules load: loading them alone would grow the young generation to
// V8's maximum (see core/heap.ts), so the server itself is imported only after.
import { tuneHeap } from "./core/heap.ts";

tuneHeap();
await import("./main.ts");
