/**
 * {@link PrefixMatcher}: longest-prefix matching of a set of strings (SentencePiece's user-defined
 * pieces), which both the normalizer and the BPE encoder treat as unbreakable units.
 */

/** A trie node over UTF-16 code units. */
interface TrieNode {
  readonly next: Map<number, TrieNode>;
  /** True when a key ends here. */
  end: boolean;
}

const newNode = (): TrieNode => ({ next: new Map(), end: false });

/**
 * Finds the longest key that starts at a given position of a string. Matching on UTF-16 code units
 * equals the C++ library's matching on UTF-8 bytes for well-formed keys and text: both encodings are
 * prefix-free per code point, so a key matches at a position in one iff it matches in the other.
 */
export class PrefixMatcher {
  readonly #root = newNode();
  /** Largest number of keys on one root-to-leaf path (keys that are prefixes of one another). */
  readonly maxNestedKeys: number;

  /** @param keys Non-empty strings (duplicates are ignored). */
  constructor(keys: Iterable<string>) {
    let maxNested = 0;
    // Shorter keys first, so that a key's path already marks the keys that are its prefixes.
    for (const key of [...new Set(keys)].sort((a, b) => a.length - b.length)) {
      let node = this.#root;
      let nested = 0;
      for (let i = 0; i < key.length; i++) {
        const c = key.charCodeAt(i);
        let child = node.next.get(c);
        if (!child) {
          child = newNode();
          node.next.set(c, child);
        }
        node = child;
        if (node.end) nested++;
      }
      node.end = true;
      maxNested = Math.max(maxNested, nested + 1);
    }
    this.maxNestedKeys = maxNested;
  }

  /** Length (in UTF-16 code units) of the longest key starting at `text[pos]`, or 0 when none does. */
  match(text: string, pos: number): number {
    let node: TrieNode | undefined = this.#root;
    let longest = 0;
    for (let i = pos; i < text.length; i++) {
      node = node.next.get(text.charCodeAt(i));
      if (!node) break;
      if (node.end) longest = i + 1 - pos;
    }
    return longest;
  }
}
