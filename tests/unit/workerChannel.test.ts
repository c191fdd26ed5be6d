import { describe, expect, it } from 'vitest';
import type { EncryptedFile } from '../../src/encryptedFile.js';
import type { PageToWorkerMessage } from '../../src/protocol.js';
import { sendKey } from '../../src/workerChannel.js';

/** A worker that records what it is sent, or fails every post when `fails`. */
function fakeWorker(fails = false) {
  const sent: PageToWorkerMessage[] = [];
  const worker = {
    postMessage: (message: PageToWorkerMessage) => {
      if (fails) throw new DOMException('The worker is gone.', 'InvalidStateError');
      sent.push(structuredClone(message));
    },
  } as unknown as ServiceWorker;
  return { sent, worker: () => worker };
}

const entry = (fileId: string) => ({ fileId, file: { url: `mxc://hs.example/${fileId}` } as EncryptedFile, mimetype: null });
const endOfTask = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('sendKey', () => {
  it('sends the keys handed out in one task as one message, in order', async () => {
    const { sent, worker } = fakeWorker();
    for (const id of ['a', 'b', 'c']) sendKey(worker, 's1', 'k1', entry(id));
    expect(sent).toEqual([]);
    await endOfTask();
    expect(sent).toEqual([{ type: 'mms/keys', sessionId: 's1', key: 'k1', files: [entry('a'), entry('b'), entry('c')] }]);
    sendKey(worker, 's1', 'k1', entry('d'));
    await endOfTask();
    expect(sent.map((m) => m.type === 'mms/keys' && m.files.map((f) => f.fileId))).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('keeps the keys of two sessions apart', async () => {
    const { sent, worker } = fakeWorker();
    sendKey(worker, 's1', 'k1', entry('a'));
    sendKey(worker, 's2', 'k2', entry('b'));
    sendKey(worker, 's1', 'k1', entry('c'));
    await endOfTask();
    expect(sent).toEqual([
      { type: 'mms/keys', sessionId: 's1', key: 'k1', files: [entry('a'), entry('c')] },
      { type: 'mms/keys', sessionId: 's2', key: 'k2', files: [entry('b')] },
    ]);
  });

  it('survives a worker that is gone, and sends the next batch', async () => {
    const gone = fakeWorker(true);
    const { sent, worker } = fakeWorker();
    sendKey(gone.worker, 's1', 'k1', entry('a'));
    sendKey(worker, 's2', 'k2', entry('b'));
    await endOfTask();
    sendKey(worker, 's1', 'k1', entry('c'));
    await endOfTask();
    expect(sent.map((m) => m.type === 'mms/keys' && m.sessionId)).toEqual(['s2', 's1']);
  });
});
