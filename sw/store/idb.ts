/** IndexedDB's requests and transactions as promises: what every file of the store awaits. */

export function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * Resolves when `tx` commits; rejects when it fails or is aborted, with the failing request's
 * error: Firefox tells the transaction of a request's error (a QuotaExceededError) before it
 * sets the transaction's own, so `tx.error` is still null then.
 */
export function completion(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = (event) => reject((event.target as IDBRequest | null)?.error ?? tx.error);
    tx.onabort = () => reject(tx.error ?? new DOMException('The transaction was aborted.', 'AbortError'));
  });
}
