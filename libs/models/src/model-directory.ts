import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { WEIGHTS_FILE, toLayersModelFiles } from './layers-model-files';
import { isList, type Unverified } from './unverified-json';

/** File names tfjs-node's `file://` handler writes, so either side reads the other's output. */
export const MODEL_JSON_FILE = 'model.json';
export { WEIGHTS_FILE };

const BYTES_PER_ELEMENT: Partial<Record<string, number>> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

/**
 * Reads a TensorFlow.js model directory (model.json plus the weight files its
 * weightsManifest lists), as `model.save('file://…')` or the tfjs converter writes it: the
 * `file://` scheme needs tfjs-node, which this project cannot count on.
 *
 * `path` is the directory or the model.json in it. Weight paths must stay inside that
 * directory: a user's model.json decides which files are read.
 */
export function directoryReader(path: string): tf.io.IOHandler & Required<Pick<tf.io.IOHandler, 'load'>> {
  const modelJsonPath = path.endsWith('.json') ? resolve(path) : resolve(path, MODEL_JSON_FILE);
  const directory = dirname(modelJsonPath);
  return {
    load: async () => {
      const modelJson = parseModelJson(modelJsonPath, await readOrExplain(modelJsonPath, 'model.json'));
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const weightSpecs = tf.io.getWeightSpecs(manifest);
        const files = manifest.flatMap((group) => group.paths.map((weightPath) => insideDirectory(directory, weightPath, modelJsonPath)));
        const chunks = await Promise.all(files.map((file) => readOrExplain(file, `weight file listed in ${modelJsonPath}`)));
        const data = Buffer.concat(chunks);
        const expected = expectedWeightBytes(weightSpecs);
        if (expected !== undefined && data.length !== expected) {
          throw new Error(
            `weight files ${files.map((file) => relative(directory, file)).join(', ')} in ${directory} hold ${data.length} bytes, ` +
              `but the weightsManifest of ${modelJsonPath} declares ${expected}`,
          );
        }
        return [weightSpecs, data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)];
      });
    },
  };
}

/**
 * Writes `model.save()`'s artifacts as model.json + one weights.bin in `directory`
 * (created if missing), the layout `tf.loadLayersModel` and tfjs-node read. The weights go
 * first and model.json is renamed into place last, so a reader never finds a model.json
 * whose weights are not all there.
 */
export function directoryWriter(directory: string): tf.io.IOHandler {
  const root = resolve(directory);
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      const { modelJson, weights } = toLayersModelFiles(artifacts);
      await mkdir(root, { recursive: true });
      await writeFile(join(root, WEIGHTS_FILE), weights);
      const partial = join(root, `${MODEL_JSON_FILE}.partial`);
      await writeFile(partial, JSON.stringify(modelJson));
      await rename(partial, join(root, MODEL_JSON_FILE));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
  };
}

async function readOrExplain(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason = code === 'ENOENT' ? 'it does not exist' : error instanceof Error ? error.message : String(error);
    throw new Error(`cannot read ${what} ${file}: ${reason}`);
  }
}

function parseModelJson(path: string, bytes: Buffer): tf.io.ModelJSON {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new Error(`${path} is not JSON`);
  }
  const json = (parsed ?? {}) as Unverified<tf.io.ModelJSON>;
  if (typeof json.modelTopology !== 'object' || json.modelTopology === null) {
    throw new Error(`${path} has no modelTopology: expected a TensorFlow.js model.json`);
  }
  const manifest = json.weightsManifest;
  const validManifest =
    isList(manifest) &&
    manifest.every((item) => {
      const group = (item ?? {}) as Unverified<tf.io.WeightsManifestConfig[number]>;
      return (
        isList(group.paths) &&
        group.paths.every((p) => typeof p === 'string') &&
        isList(group.weights) &&
        group.weights.every((weight) => {
          const w = (weight ?? {}) as Unverified<tf.io.WeightsManifestEntry>;
          return typeof w.name === 'string' && Array.isArray(w.shape) && typeof w.dtype === 'string';
        })
      );
    });
  if (!validManifest) {
    throw new Error(`${path} has no valid weightsManifest (a list of { paths: string[], weights: { name, shape, dtype }[] })`);
  }
  return json as tf.io.ModelJSON;
}

function insideDirectory(directory: string, weightPath: string, modelJsonPath: string): string {
  const file = resolve(directory, weightPath);
  const rel = relative(directory, file);
  if (isAbsolute(weightPath) || rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new Error(`${modelJsonPath} lists weight file '${weightPath}' outside its directory ${directory}`);
  }
  return file;
}

/** Undefined when the size cannot be known up front (string tensors). */
function expectedWeightBytes(specs: tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const spec of specs) {
    const dtype = spec.quantization?.dtype ?? spec.dtype;
    const bytes = BYTES_PER_ELEMENT[dtype];
    if (bytes === undefined) {
      return undefined;
    }
    total += spec.shape.reduce((product, dim) => product * dim, 1) * bytes;
  }
  return total;
}
