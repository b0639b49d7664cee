/**
 * Input/output names of decoder graphs (the Hugging Face / onnxruntime-genai convention).
 * Inputs: `input_ids` int64 [B, S], `attention_mask` int64 [B, T], `position_ids` int64 [B, S],
 * `past_key_values.{i}.key|value` float32 [B, Hkv, P, D], and in graphs that have it `logits_to_keep`
 * int64 scalar K (1 ≤ K ≤ S: logits of the last K positions only, as in Hugging Face's `logits_to_keep`).
 * Outputs: `logits` float32 [B, S, V] ([B, K, V] with `logits_to_keep`), `present.{i}.key|value`
 * float32 [B, Hkv, T, D], and in graphs that have them `present_rows.{i}.key|value`, the step's own
 * rows of `present` (T-S .. T-1) as float32 [B, Hkv, S, D], for the `rows` KV cache.
 */
export const IO = {
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  positionIds: 'position_ids',
  logitsToKeep: 'logits_to_keep',
  logits: 'logits',
  pastKey: (i: number) => `past_key_values.${i}.key`,
  pastValue: (i: number) => `past_key_values.${i}.value`,
  presentKey: (i: number) => `present.${i}.key`,
  presentValue: (i: number) => `present.${i}.value`,
  presentKeyRows: (i: number) => `present_rows.${i}.key`,
  presentValueRows: (i: number) => `present_rows.${i}.value`,
} as const;

/**
 * Files of a Hugging Face model directory besides the weights (config, generation settings, tokenizer
 * files): copied along by conversions and builds when present.
 */
export const MODEL_SIDE_FILES: readonly string[] = [
  'config.json',
  'generation_config.json',
  'tokenizer.model',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
];
