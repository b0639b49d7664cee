import type { RuntimePlugin } from '@tinyllama/core';
import { sentencePieceLoader } from './loader.js';

/** The SentencePiece tokenizer loader (`tokenizer.model`). */
export const sentencePiecePlugin: RuntimePlugin = {
  name: 'tokenizer-sentencepiece',
  register(rt) {
    rt.tokenizers.register(sentencePieceLoader.name, sentencePieceLoader);
  },
};
