// Runs one streaming request (a chat turn, a rejoined one, or a manual run) and folds its UI message stream into
// a message.

import { ApiError } from "./api.ts";
import { readEventStream } from "./sse.ts";
import { MessageReducer, type DataListener } from "./stream.ts";
import type { UIMessage } from "./types.ts";

export interface StreamOptions {
  /** Sends the request (a POST that starts the work, or a GET that rejoins it). */
  open: (signal: AbortSignal) => Promise<Response>;
  message: UIMessage;
  signal: AbortSignal;
  /** Called after every chunk (the caller coalesces re-renders). */
  onUpdate: () => void;
  onData?: DataListener;
}

export async function streamInto(opts: StreamOptions): Promise<UIMessage> {
  const reducer = new MessageReducer(opts.message, opts.onData);
  opts.onUpdate();
  const aborted = () => opts.signal.aborted;
  let res: Response;
  try {
    res = await opts.open(opts.signal);
  } catch (e) {
    if (aborted()) reducer.endWithoutFinish("stopped");
    else reducer.fail(e instanceof ApiError ? e.message : `Request failed: ${(e as Error).message}`);
    opts.onUpdate();
    return reducer.message;
  }
  if (!res.body) {
    reducer.fail("The server sent an empty response.");
    opts.onUpdate();
    return reducer.message;
  }
  try {
    const { sawDone } = await readEventStream(
      res.body,
      (chunk) => {
        reducer.apply(chunk);
        opts.onUpdate();
      },
      (payload) => console.warn("cellblock: skipped a malformed stream chunk", payload.slice(0, 200)),
    );
    if (!reducer.finished) {
      if (aborted()) reducer.endWithoutFinish("stopped");
      else reducer.endWithoutFinish(sawDone ? "done" : "interrupted");
    }
  } catch (e) {
    if (aborted()) reducer.endWithoutFinish("stopped");
    else {
      console.warn("cellblock: stream broken", e);
      reducer.endWithoutFinish("interrupted");
    }
  }
  opts.onUpdate();
  return reducer.message;
}
