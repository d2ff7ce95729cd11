import { render } from "preact";
import { App, type ClientOptions } from "./app.tsx";
import { setAttachmentsBase } from "./items.tsx";
import "./styles.css";

/**
 * Mounts the built-in client into `#chatkit-app`, configured by the page's `#chatkit-bootstrap`
 * JSON: the same options object the official `<openai-chatkit>` element would receive.
 */
function mount(): void {
  const root = document.getElementById("chatkit-app");
  const bootstrap = document.getElementById("chatkit-bootstrap");
  if (!root || !bootstrap?.textContent) return;
  const options = (JSON.parse(bootstrap.textContent) as { options: ClientOptions }).options;
  setAttachmentsBase(options.api.url);
  render(<App options={options} root={root} />, root);
  root.dispatchEvent(new CustomEvent("chatkit.ready", { bubbles: true }));
}

mount();
