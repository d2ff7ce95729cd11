import { sniffMimeType } from "../attachments/content-types.ts";
import type { ThreadStreamEvent } from "../protocol/events.ts";
import type { GeneratedImageItem } from "../protocol/items.ts";
import { hostedTask } from "./hosted.ts";
import type { ModelEvent } from "./runner.ts";
import type { WorkflowTracker } from "./workflow.ts";
import { newGeneratedImage, newSdkHostedCall } from "../protocol/new-items.ts";

/** Stores a generated image's bytes (base64) for the thread's owner; answers the image as items carry it. */
export type SaveImage = (itemId: string, base64: string) => Promise<{ id: string; url: string }>;


/**
 * Shows hosted tools the ChatKit way while the model streams: searches and code runs as
 * workflow tasks, generated images as `generated_image` items (partial images as
 * `generated_image.updated` with a data URL, never stored; the final one saved as a file).
 * Each finished call is kept as a hidden item for the next turns.
 */
export class HostedDisplay {
  private readonly tasks = new Map<string, number>();
  private readonly images = new Map<string, GeneratedImageItem>();

  constructor(
    private readonly threadId: string,
    private readonly workflow: WorkflowTracker,
    private readonly saveImage: SaveImage | undefined,
  ) {}

  /** The workflow was closed (the answer's text began): later calls start a new one. */
  workflowEnded(): void {
    this.tasks.clear();
  }

  *call(event: Extract<ModelEvent, { type: "hosted_call" }>): Generator<ThreadStreamEvent> {
    const task = hostedTask(event.call);
    const index = this.tasks.get(event.call.id);
    if (index === undefined) {
      const started = this.workflow.addTask(task);
      this.tasks.set(event.call.id, started.index);
      yield* started.events;
    } else {
      yield* this.workflow.updateTask(index, task);
    }
    if (event.record) yield* this.keep(event.record);
  }

  /** Yields the image's events; returns how many visible items it finished. */
  async *image(event: Extract<ModelEvent, { type: "image" }>): AsyncGenerator<ThreadStreamEvent, number> {
    let item = this.images.get(event.id);
    if (!item) {
      yield* this.workflow.end();
      this.workflowEnded();
      item = newGeneratedImage(this.threadId);
      this.images.set(event.id, item);
      yield { type: "thread.item.added", item };
    }
    if (event.partial) {
      const mime = sniffMimeType(Buffer.from(event.base64.slice(0, 32), "base64")) ?? "image/png";
      yield { type: "thread.item.updated", item_id: item.id, update: { type: "generated_image.updated", image: { id: `${event.id}_partial`, url: `data:${mime};base64,${event.base64}` } } };
      return 0;
    }
    if (!this.saveImage) throw new Error("generated images cannot be stored here");
    const image = await this.saveImage(item.id, event.base64);
    yield { type: "thread.item.done", item: { ...item, image } };
    if (event.record) yield* this.keep(event.record);
    return 1;
  }

  private *keep(call: Record<string, unknown>): Generator<ThreadStreamEvent> {
    yield { type: "thread.item.done", item: newSdkHostedCall(this.threadId, call) };
  }
}
