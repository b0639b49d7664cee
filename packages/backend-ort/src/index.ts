/**
 * `@tinyllama/backend-ort`: shared ONNX Runtime glue. Import the runtime-specific entry points
 * `@tinyllama/backend-ort/node` (onnxruntime-node) or `@tinyllama/backend-ort/web` (onnxruntime-web);
 * this root entry imports neither runtime.
 * @packageDocumentation
 */
export { OrtInferenceSession, fromOrtTensor, toOrtTensor, toOrtOptions, type OrtModule } from './common.js';
