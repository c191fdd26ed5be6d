// Workbox's development logger reads navigator.userAgent, which Node 20 lacks.
(globalThis as { __WB_DISABLE_DEV_LOGS?: boolean }).__WB_DISABLE_DEV_LOGS = true;

// The worker's media store names key ranges; fake-indexeddb provides the class, Node does not.
import { IDBKeyRange } from 'fake-indexeddb';
(globalThis as { IDBKeyRange?: unknown }).IDBKeyRange = IDBKeyRange;
