/**
 * Keeps the worker alive while `response`'s body flows to the page. A browser may stop a worker
 * whose events have all settled even though a body it answered with is still streaming (Firefox
 * does, after its idle timeout): a video playing from the network would then lose its bytes
 * part way. The body's end, its error or the page's cancel releases the worker.
 */
export function whileBodyFlows(response: Response, waitUntil: (promise: Promise<unknown>) => void): Response {
  // An error's short body is not worth a stream of its own.
  if (!response.body || !response.ok) return response;
  const reader = response.body.getReader();
  let release!: () => void;
  const ended = new Promise<void>((resolve) => (release = resolve));
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          release();
        } else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
        release();
      }
    },
    cancel(reason) {
      release();
      return reader.cancel(reason);
    },
    // No read ahead: the end is seen only once the page has asked past the last chunk, so that
    // no chunk still queued here is lost with a worker stopped right after the release.
  }, { highWaterMark: 0 });
  try {
    waitUntil(ended);
  } catch {
    // The fetch event has ended (a resumed download's reader): the body flows while the worker does.
  }
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
