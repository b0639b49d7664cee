import type { RuntimePlugin } from '@tinyllama/core';
import { pytorchLoader, safetensorsLoader } from './loaders.js';

/** Checkpoint loaders: safetensors preferred over PyTorch pickles when both are present. */
export const checkpointLoadersPlugin: RuntimePlugin = {
  name: 'loader-pytorch',
  register(rt) {
    rt.loaders.register(safetensorsLoader.name, safetensorsLoader, 10);
    rt.loaders.register(pytorchLoader.name, pytorchLoader, 5);
  },
};
