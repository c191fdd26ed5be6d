import type { Freshness } from './freshness.js';

/** The record the store keeps for each file: whose it is, how much of it is stored, and since when it is fresh. */
export interface StoredFile extends Freshness {
  /** Session, homeserver and media ID: another session never finds it. */
  key: string;
  sessionId: string;
  size: number;
  /** How many bytes from the start of the file are stored. */
  stored: number;
  /** Content-Type and the other headers worth answering with again. */
  headers: Record<string, string>;
  lastUsed: number;
  /**
   * Which copy of the file this is: new each time the file is stored from nothing (records of
   * versions before it have none). A reader checks it with every chunk, so that bytes stored
   * after a deletion are never taken for the ones that were there before (see readChunk).
   */
  generation?: string;
}

/** A fresh value for StoredFile.generation. */
export const newGeneration = (): string => crypto.randomUUID();
