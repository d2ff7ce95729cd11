import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { ComposerOptions } from "./composer.tsx";
import { Icon } from "./icons.tsx";

type Tool = NonNullable<ComposerOptions["tools"]>[number];

/**
 * The composer's tool menu (`composer.tools`): a button that opens a menu of the agent's tools;
 * the one picked shows on the button (for the next message) and can be cleared. Arrow keys move
 * in the open menu, Escape or a click elsewhere closes it.
 */
export function ToolMenu({ tools, chosen, onChoose }: { tools: Tool[]; chosen: string | undefined; onChoose: (id: string | undefined) => void }): JSX.Element {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const picked = tools.find((tool) => tool.id === chosen);

  useEffect(() => {
    if (!open) return;
    const items = () => Array.from(box.current?.querySelectorAll<HTMLElement>("[role=menuitemradio]") ?? []);
    (items().find((item) => item.getAttribute("aria-checked") === "true") ?? items()[0])?.focus();
    const outside = (e: PointerEvent) => {
      if (!box.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("pointerdown", outside);
    return () => document.removeEventListener("pointerdown", outside);
  }, [open]);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const items = Array.from(box.current?.querySelectorAll<HTMLElement>("[role=menuitemradio]") ?? []);
    const at = items.indexOf(document.activeElement as HTMLElement);
    const move = (to: number) => {
      e.preventDefault();
      items[(to + items.length) % items.length]?.focus();
    };
    if (e.key === "Escape") {
      e.preventDefault();
      close();
    } else if (e.key === "ArrowDown") move(at + 1);
    else if (e.key === "ArrowUp") move(at - 1);
    else if (e.key === "Home") move(0);
    else if (e.key === "End") move(items.length - 1);
    else if (e.key === "Tab") setOpen(false);
  };

  return (
    <div class="ck-tool-menu" ref={box} onKeyDown={open ? onKeyDown : undefined}>
      <button
        ref={button}
        type="button"
        class={`ck-chip${picked ? " active" : ""}`}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label={picked ? `Tool: ${picked.label}` : "Tools"}
        onClick={() => setOpen(!open)}
      >
        <Icon name="tool" size={15} />
        <span>{picked ? picked.shortLabel ?? picked.label : "Tools"}</span>
        <Icon name="chevron" size={14} />
      </button>
      {picked && (
        <button type="button" class="ck-icon-button ck-chip-clear" aria-label={`Stop using ${picked.label}`} onClick={() => onChoose(undefined)}>
          <Icon name="close" size={14} />
        </button>
      )}
      {open && (
        <ul class="ck-menu" role="menu" aria-label="Tools">
          {tools.map((tool) => (
            <li role="none">
              <button
                type="button"
                role="menuitemradio"
                aria-checked={tool.id === chosen}
                class="ck-menu-item"
                onClick={() => {
                  onChoose(tool.id === chosen ? undefined : tool.id);
                  close();
                }}
              >
                <span class="ck-menu-check">{tool.id === chosen && <Icon name="check" size={14} />}</span>
                {tool.label}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
