/**
 * {@link MergeQueue}: the agenda of BPE merge candidates, a binary max-heap (struct of typed arrays,
 * no allocation per entry) ordered by score, then by position.
 */

/**
 * Candidate merges of adjacent symbols `left`/`right` whose concatenation (`size` code units) is a
 * piece with score `score`. {@link MergeQueue.pop} yields the highest score first and, among equal
 * scores, the leftmost (smallest `left`), as the C++ library's agenda does. Entries are not removed
 * when they go stale: the caller checks them when they come out (lazy invalidation).
 */
export class MergeQueue {
  #score = new Float64Array(64);
  #left = new Int32Array(64);
  #right = new Int32Array(64);
  #size = new Int32Array(64);
  #length = 0;
  /** `left` of the entry returned by the last successful {@link MergeQueue.pop}. */
  left = -1;
  /** `right` of that entry. */
  right = -1;
  /** `size` of that entry. */
  size = 0;

  /** Number of queued entries. */
  get length(): number {
    return this.#length;
  }

  /** Queues a candidate. */
  push(score: number, left: number, right: number, size: number): void {
    if (this.#length === this.#score.length) this.#grow();
    let i = this.#length++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(score, left, parent)) break;
      this.#move(parent, i);
      i = parent;
    }
    this.#set(i, score, left, right, size);
  }

  /** Takes the best entry into {@link left}/{@link right}/{@link size}; false when the queue is empty. */
  pop(): boolean {
    if (this.#length === 0) return false;
    this.left = this.#left[0];
    this.right = this.#right[0];
    this.size = this.#size[0];
    const n = --this.#length;
    if (n === 0) return true;
    // Sift the last entry down from the root.
    const score = this.#score[n];
    const left = this.#left[n];
    const right = this.#right[n];
    const size = this.#size[n];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.#before(this.#score[child + 1], this.#left[child + 1], child)) child++;
      if (!this.#precedes(child, score, left)) break;
      this.#move(child, i);
      i = child;
    }
    this.#set(i, score, left, right, size);
    return true;
  }

  /** Whether (score, left) comes out before entry `j`. */
  #before(score: number, left: number, j: number): boolean {
    const s = this.#score[j];
    return score > s || (score === s && left < this.#left[j]);
  }

  /** Whether entry `j` comes out before (score, left). */
  #precedes(j: number, score: number, left: number): boolean {
    const s = this.#score[j];
    return s > score || (s === score && this.#left[j] < left);
  }

  #move(from: number, to: number): void {
    this.#set(to, this.#score[from], this.#left[from], this.#right[from], this.#size[from]);
  }

  #set(i: number, score: number, left: number, right: number, size: number): void {
    this.#score[i] = score;
    this.#left[i] = left;
    this.#right[i] = right;
    this.#size[i] = size;
  }

  #grow(): void {
    const n = this.#score.length * 2;
    const score = new Float64Array(n);
    const left = new Int32Array(n);
    const right = new Int32Array(n);
    const size = new Int32Array(n);
    score.set(this.#score);
    left.set(this.#left);
    right.set(this.#right);
    size.set(this.#size);
    [this.#score, this.#left, this.#right, this.#size] = [score, left, right, size];
  }
}
