import { closeQuietly, type LazyTensor, type OpenedFile } from './checkpoint.js';
import { RandomAccessFile } from './file.js';
import { readSafetensorsHeader } from './safetensors-format.js';

/**
 * Opens one `.safetensors` file: validates the header, keeps the handle, and reads each tensor later
 * with a single positioned read.
 */
export async function openSafetensorsFile(file: string): Promise<OpenedFile> {
  const f = await RandomAccessFile.open(file);
  try {
    const header = await readSafetensorsHeader(f);
    const tensors = new Map<string, LazyTensor>();
    for (const e of header.entries) {
      const info = { name: e.name, dtype: e.dtype, shape: e.shape, byteLength: e.byteLength };
      tensors.set(e.name, { info, read: () => f.read(e.start, e.byteLength, `tensor '${e.name}'`) });
    }
    return { file: f, tensors };
  } catch (e) {
    await closeQuietly([f]);
    throw e;
  }
}
