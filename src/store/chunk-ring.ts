/**
 * The bytes of request chunks on their way to the writer thread: a ring in a SharedArrayBuffer
 * both threads see. The forwarding thread encodes each chunk's JSON into it as UTF-8 and the
 * batch message names only the byte ranges; the writer thread binds them in place (SQLite copies
 * what it binds) and its answer to the batch frees them. A message carrying the text itself cost
 * the writer thread more per row than the JSON parse: V8 copied each ~50 KB string into its heap
 * (fresh pages, then garbage) and better-sqlite3 converted it to UTF-8 again.
 *
 * Ranges are taken and freed in the same order (batches are written one at a time), so the free
 * space is the span from the last range taken round to the first one not yet freed.
 */

/** Where one chunk's UTF-8 JSON is in the ring; `end` is exclusive. */
export interface ChunkRange {
  start: number;
  end: number;
}

export class ChunkRing {
  readonly buffer: SharedArrayBuffer;
  private readonly bytes: Uint8Array;
  private readonly encoder = new TextEncoder();
  /** Taken and not yet freed, oldest first. */
  private readonly taken: ChunkRange[] = [];
  /** Where the next range starts, unless it has to go round to 0. */
  private head = 0;

  constructor(capacityBytes: number) {
    this.buffer = new SharedArrayBuffer(capacityBytes);
    this.bytes = new Uint8Array(this.buffer);
  }

  /** Ranges taken and not yet freed. */
  get pending(): number {
    return this.taken.length;
  }

  /**
   * Copies `text` in as UTF-8 and returns where, or undefined when the free space cannot hold it
   * (the writer thread is behind); nothing is taken then.
   */
  put(text: string): ChunkRange | undefined {
    const first = this.taken[0];
    if (first === undefined) this.head = 0;
    // Without a wrap the space runs to the end of the buffer, then on from 0 to the oldest range.
    const wrapped = first !== undefined && this.head <= first.start;
    const room = wrapped ? first.start - this.head : this.bytes.length - this.head;
    let range = this.encode(text, this.head, room);
    if (range === undefined && !wrapped && first !== undefined) range = this.encode(text, 0, first.start);
    if (range === undefined) return undefined;
    this.taken.push(range);
    this.head = range.end;
    return range;
  }

  /** Frees the `count` oldest ranges (the writer thread is done with them). */
  free(count: number): void {
    this.taken.splice(0, count);
  }

  private encode(text: string, start: number, room: number): ChunkRange | undefined {
    // Enough room for any text is 3 bytes per UTF-16 unit; try whatever room there is.
    if (room < text.length) return undefined;
    const { read, written } = this.encoder.encodeInto(text, this.bytes.subarray(start, start + room));
    return read === text.length ? { start, end: start + written } : undefined;
  }
}
