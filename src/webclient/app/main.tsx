import { render } from "preact";
import { App, type ClientOptions, type PageInfo } from "./app.tsx";
import { setAttachmentsBase } from "./items.tsx";
import "uplot/dist/uPlot.min.css";
import "./styles.css";

/**
 * Mounts the built-in client into `#chatkit-app`, configured by the page's `#chatkit-bootstrap`
 * JSON: the same options object the official `<openai-chatkit>` element would receive.
 */
function mount(): void {
  const root = document.getElementById("chatkit-app");
  const bootstrap = document.getElementById("chatkit-bootstrap");
  if (!root || !bootstrap?.textContent) return;
  const { options, page } = JSON.parse(bootstrap.textContent) as { options: ClientOptions; page?: PageInfo };
  setAttachmentsBase(options.api.url);
  // The server drew a frame with a loading line for the first paint; the app takes its place.
  root.textContent = "";
  render(<App options={options} root={root} page={page} fallbackNotice={root.dataset.fallbackNotice} />, root);
  root.dispatchEvent(new CustomEvent("chatkit.ready", { bubbles: true }));
}

mount();
