import type { InferenceSession } from 'onnxruntime-node';
import { PermanentError } from '../../shared/errors.js';
import type { ModelSpec } from './spec.js';

type Dim = number | string;

/** The facts about a loaded graph that the pipeline relies on, found by `checkContract`. */
export interface ModelContract {
  /** True when the batch dimension is symbolic, so several images can share one run. */
  dynamicBatch: boolean;
  /** Size of the map the model returns (the input size when the graph leaves it symbolic). */
  outputWidth: number;
  outputHeight: number;
  /** 4 for [N,1,H,W], 3 for [N,H,W]. */
  outputRank: 3 | 4;
}

/** The part of an InferenceSession the check reads, so tests can pass plain objects. */
export type SessionMetadata = Pick<InferenceSession, 'inputNames' | 'outputNames' | 'inputMetadata' | 'outputMetadata'>;

const isSymbolic = (d: Dim | undefined): boolean => typeof d === 'string' || (typeof d === 'number' && d < 0);
const show = (shape: readonly Dim[]): string => `[${shape.map((d) => (typeof d === 'string' ? d || '?' : String(d))).join(',')}]`;

/**
 * Check a loaded session against its spec before it serves anything: names, element
 * types, ranks and fixed dims. All problems are reported at once in one startup error
 * (code `model_contract`) so a wrong export is fixed in one round.
 * @example const contract = checkContract(session, ISNET_GENERAL_1024) // { dynamicBatch: false, outputWidth: 1024, ... }
 */
export function checkContract(session: SessionMetadata, spec: ModelSpec): ModelContract {
  const problems: string[] = [];
  const input = session.inputMetadata.find((m) => m.name === spec.input.name);
  const output = session.outputMetadata.find((m) => m.name === spec.output.name);
  let dynamicBatch = false;
  let outputWidth = spec.input.width;
  let outputHeight = spec.input.height;
  let outputRank: 3 | 4 = 4;

  if (!input) problems.push(`input "${spec.input.name}" not found (the graph's inputs: ${session.inputNames.join(', ') || 'none'})`);
  else if (!input.isTensor) problems.push(`input "${input.name}" is not a tensor`);
  else {
    if (input.type !== 'float32') problems.push(`input "${input.name}" has element type ${input.type}, expected float32`);
    const s = input.shape;
    if (s.length !== 4) problems.push(`input "${input.name}" has shape ${show(s)} (rank ${s.length}), expected rank 4 [N,3,${spec.input.height},${spec.input.width}]`);
    else {
      dynamicBatch = isSymbolic(s[0]);
      if (!dynamicBatch && s[0] !== 1) problems.push(`input "${input.name}" has a fixed batch of ${s[0]}, expected 1 or a dynamic batch`);
      const want: [number, Dim | undefined, string][] = [
        [3, s[1], 'channels'],
        [spec.input.height, s[2], 'height'],
        [spec.input.width, s[3], 'width'],
      ];
      for (const [expected, got, what] of want) {
        if (!isSymbolic(got) && got !== expected) problems.push(`input "${input.name}" ${what} is ${got}, expected ${expected} (shape ${show(s)})`);
      }
    }
  }
  if (session.inputNames.length > 1) problems.push(`the graph has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}), expected one`);

  if (!output) problems.push(`output "${spec.output.name}" not found (the graph's outputs: ${session.outputNames.join(', ') || 'none'})`);
  else if (!output.isTensor) problems.push(`output "${output.name}" is not a tensor`);
  else {
    if (output.type !== 'float32') problems.push(`output "${output.name}" has element type ${output.type}, expected float32`);
    const s = output.shape;
    if (s.length === 4 || s.length === 3) {
      outputRank = s.length;
      if (s.length === 4 && !isSymbolic(s[1]) && s[1] !== 1) problems.push(`output "${output.name}" has ${s[1]} channels, expected 1 (shape ${show(s)})`);
      const h = s[s.length - 2];
      const w = s[s.length - 1];
      if (typeof h === 'number' && h > 0) outputHeight = h;
      if (typeof w === 'number' && w > 0) outputWidth = w;
      if (!isSymbolic(s[0]) && s[0] !== 1) problems.push(`output "${output.name}" has a fixed batch of ${s[0]}, expected 1 or dynamic`);
      if (input?.isTensor && input.shape.length === 4 && isSymbolic(input.shape[0]) !== isSymbolic(s[0])) {
        problems.push(`output "${output.name}" batch dim ${show(s)} does not follow the input's ${show(input.shape)}`);
      }
    } else {
      problems.push(`output "${output.name}" has shape ${show(s)} (rank ${s.length}), expected [N,1,H,W] or [N,H,W]`);
    }
  }

  if (problems.length > 0) {
    throw new PermanentError('model_contract', `model "${spec.id}" does not match its contract: ${problems.join('; ')}`);
  }
  return { dynamicBatch, outputWidth, outputHeight, outputRank };
}
