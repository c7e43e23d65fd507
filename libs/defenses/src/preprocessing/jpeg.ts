import * as tf from '@tensorflow/tfjs';
import { decode, encode } from 'jpeg-js';
import { assertBatchImages, assertInteger, identityTransform, type Preprocessing } from './preprocessing';

/** JPEG's largest side; a strip of tiles is cut into several images beyond it. */
const MAX_JPEG_SIDE = 65535;

/**
 * Re-encodes every image as a baseline JPEG at `quality` (1–100) and decodes it again, as the
 * JPEG defenses of Dziugaite et al. (2016) and Das et al. (2017) do. Pixels are rounded to
 * uint8 first (what a JPEG holds); single-channel images are encoded as grey RGB and read
 * back as the mean of the decoded channels.
 *
 * This leaves tfjs: each forward pass downloads the batch (a device sync on a GPU), runs
 * jpeg-js (pure JavaScript) and uploads the result. jpeg-js spends ~35 ms building its
 * tables for every encode call, so the batch is encoded as one image: a vertical strip of
 * tiles, each image edge-padded to whole 8×8 blocks exactly as the encoder pads a lone
 * image. The encoder samples colour 4:4:4 and every block lies inside one tile, so each
 * image decodes exactly as if encoded alone (checked in the spec), for one table build per
 * batch plus the DCTs, a few µs per 8×8 block. Still JavaScript: it costs in an evaluation
 * times the attack's iterations, and has no place in a training loop.
 *
 * The output depends on x only through uint8 codes, so its true gradient is zero almost
 * everywhere. It is expressed as x·0 + JPEG(x) so that gradient attacks see that zero (and
 * fail, as naive attacks on JPEG did) rather than crash on a disconnected graph.
 */
export function jpegRecompress(inputs: tf.Tensor, quality: number): tf.Tensor4D {
  assertBatchImages(inputs, 'jpegRecompress');
  assertInteger(quality, 1, 100, 'quality');
  refuseWebGpu();
  const [batch, height, width, channels] = inputs.shape;
  if (channels !== 1 && channels !== 3) throw new Error(`jpegRecompress: images need 1 or 3 channels, got ${channels}`);
  const codesTensor = tf.tidy(() => tf.round(tf.mul(tf.clipByValue(inputs, 0, 1), 255)));
  const codes = codesTensor.dataSync();
  codesTensor.dispose();
  const out = new Float32Array(batch * height * width * channels);
  const tileHeight = Math.ceil(height / 8) * 8;
  const tileWidth = Math.ceil(width / 8) * 8;
  const perStrip = Math.max(1, Math.floor(MAX_JPEG_SIDE / tileHeight));
  for (let first = 0; first < batch; first += perStrip) {
    const count = Math.min(perStrip, batch - first);
    const rgba = new Uint8Array(count * tileHeight * tileWidth * 4);
    for (let e = 0; e < count; e += 1) {
      for (let ty = 0; ty < tileHeight; ty += 1) {
        const source = ((first + e) * height + Math.min(ty, height - 1)) * width;
        for (let tx = 0; tx < tileWidth; tx += 1) {
          const pixel = (source + Math.min(tx, width - 1)) * channels;
          const target = ((e * tileHeight + ty) * tileWidth + tx) * 4;
          for (let k = 0; k < 3; k += 1) rgba[target + k] = codes[pixel + (channels === 1 ? 0 : k)];
          rgba[target + 3] = 255;
        }
      }
    }
    const decoded = decode(encode({ data: rgba, width: tileWidth, height: count * tileHeight }, quality).data, { useTArray: true, formatAsRGBA: true }).data;
    for (let e = 0; e < count; e += 1) {
      for (let y = 0; y < height; y += 1) {
        for (let x = 0; x < width; x += 1) {
          const from = ((e * tileHeight + y) * tileWidth + x) * 4;
          const to = (((first + e) * height + y) * width + x) * channels;
          if (channels === 1) out[to] = (decoded[from] + decoded[from + 1] + decoded[from + 2]) / (3 * 255);
          else for (let k = 0; k < 3; k += 1) out[to + k] = decoded[from + k] / 255;
        }
      }
    }
  }
  return tf.tidy(() => tf.add<tf.Tensor4D>(tf.mul(inputs, 0), tf.tensor4d(out, [batch, height, width, channels])));
}

/**
 * JPEG needs the pixels in JavaScript inside a forward pass that attacks differentiate, so it
 * reads them synchronously: something webgpu in Node cannot do (no OffscreenCanvas). Refused by
 * name, when the defense is built and when it is applied, rather than failing mid-attack.
 */
function refuseWebGpu(): void {
  if (tf.getBackend() === 'webgpu') {
    throw new Error(
      "the jpeg defense cannot run on the webgpu backend: it reads pixels synchronously inside the model's forward pass, " +
        'which webgpu in Node cannot do; run it on a worker with another backend (BULWARK_BACKEND=wasm, cpu, node or node-gpu)',
    );
  }
}

/** JPEG compression as a defense; BPDA with the identity, since JPEG(x) ≈ x (Athalye et al. 2018). */
export function jpegPreprocessing({ quality }: { quality: number }): Preprocessing {
  assertInteger(quality, 1, 100, 'quality');
  refuseWebGpu();
  return {
    spec: { kind: 'jpeg', quality },
    apply: (x) => jpegRecompress(x, quality),
    treatment: 'bpda',
    approximation: identityTransform,
    masksGradients: false,
    cost: 'a jpeg-js encode and decode of the whole batch per forward pass, in JavaScript outside tfjs kernels (a device sync per batch)',
  };
}
