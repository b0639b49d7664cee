import type { RuntimePlugin } from '@tinyllama/core';
import { gqaAttention } from './attention/gqa.js';
import { portableAttention } from './attention/portable.js';
import { llama2Architecture } from './llama.js';

/** The Llama-2 architecture and its attention strategies (GroupQueryAttention preferred). */
export const llama2Plugin: RuntimePlugin = {
  name: 'arch-llama2',
  register(rt) {
    rt.architectures.register(llama2Architecture.name, llama2Architecture);
    rt.attention.register(gqaAttention.name, gqaAttention, 10);
    rt.attention.register(portableAttention.name, portableAttention, 0);
  },
};
