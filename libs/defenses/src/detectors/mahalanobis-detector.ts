import * as tf from '@tensorflow/tfjs';
import { readAndDispose } from '@bulwark/attacks';
import { makeBatch, sequentialBatches, type Dataset } from '@bulwark/data';
import { DEFAULT_MAHALANOBIS_SHRINKAGE } from '@bulwark/spec';
import type { ScoreFunctions } from './detector';
import { detectorPaths } from './detector-paths';
import type { Preprocessing } from '../preprocessing/preprocessing';

/**
 * The network up to its penultimate layer: by default the input of the layer named
 * 'logits' (every zoo model has one), else of the last layer; or the output of `layer`.
 * It shares the classifier's weights: never dispose it, disposing would free them.
 */
export function penultimateFeatures(model: tf.LayersModel, layer?: string): tf.LayersModel {
  const outputs =
    layer !== undefined ? model.getLayer(layer).output : (model.layers.find((l) => l.name === 'logits') ?? model.layers[model.layers.length - 1]).input;
  if (Array.isArray(outputs)) throw new Error(`mahalanobis: the feature layer of ${model.name} has several inputs or outputs`);
  return tf.model({ name: `${model.name}-features`, inputs: model.inputs, outputs });
}

export interface MahalanobisOptions {
  model: tf.LayersModel;
  preprocessing: readonly Preprocessing[];
  /** Labelled clean data for the class means and the shared covariance (training data, ideally). */
  statistics: Dataset;
  /** Name of the layer whose output is the feature vector; default the penultimate. */
  featureLayer?: string;
  /** Ridge added to the covariance, relative to its mean variance (default DEFAULT_MAHALANOBIS_SHRINKAGE: dead ReLU units make it singular). */
  shrinkage?: number;
  batchSize: number;
  seed: number;
}

/**
 * Lee et al. (2018)'s detector at one layer: class-conditional Gaussians with a shared
 * covariance on penultimate features, score = min over classes of the Mahalanobis distance
 * (f − μ_c)ᵀ Σ⁻¹ (f − μ_c). Chosen over k-nearest neighbours because it is a closed-form,
 * differentiable function of the input (the detector-aware attack descends it directly,
 * where a k-NN distance changes its neighbours as it moves), it keeps C·d + d² numbers
 * instead of the whole reference set, and it has no k to tune. Lee et al.'s input
 * preprocessing and multi-layer ensemble are left out: one layer, no tuning on attacks.
 */
export async function mahalanobisScores(options: MahalanobisOptions): Promise<ScoreFunctions> {
  const { model, preprocessing, statistics, batchSize, seed } = options;
  const shrinkage = options.shrinkage ?? DEFAULT_MAHALANOBIS_SHRINKAGE;
  if (!(Number.isFinite(shrinkage) && shrinkage >= 0)) throw new Error(`shrinkage must be a finite number >= 0, got ${shrinkage}`);
  const featureModel = penultimateFeatures(model, options.featureLayer);
  const features = (inputs: tf.Tensor) =>
    tf.tidy(() => {
      const out = featureModel.apply(inputs, { training: false }) as tf.Tensor;
      return tf.reshape<tf.Rank.R2>(out, [out.shape[0], -1]);
    });
  const classes = statistics.classNames.length;
  const paths = detectorPaths(features, preprocessing, seed);
  // The statistics are of what the classifier sees: features of the preprocessed inputs.
  const { means, precision, dimension } = await classStatistics({ features: paths.exact, statistics, classes, shrinkage, batchSize });
  const distance = (f: tf.Tensor2D) => minMahalanobis(f, means, precision);
  return {
    score: (inputs) => distance(paths.exact(inputs)),
    attackScore: (inputs) => distance(paths.attack(inputs)),
    params: {
      featureLayer: options.featureLayer ?? 'input of the logits layer',
      featureDimension: dimension,
      shrinkage,
      statistics: { name: statistics.name, n: statistics.size },
      score: 'min over classes of the Mahalanobis distance with a shared covariance',
    },
    dispose: () => tf.dispose([means, precision]),
  };
}

/** min_c (f − μ_c)ᵀ P (f − μ_c) per row of f: [B]. Computed on the differences (not expanded) so it never goes negative. */
export function minMahalanobis(features: tf.Tensor2D, means: tf.Tensor2D, precision: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const [batch, dimension] = features.shape;
    const classes = means.shape[0];
    const differences = tf.reshape(tf.sub(tf.expandDims(features, 1), tf.expandDims(means, 0)), [batch * classes, dimension]);
    const quadratic = tf.sum(tf.mul(tf.matMul(differences, precision), differences), 1);
    return tf.min<tf.Tensor1D>(tf.reshape(quadratic, [batch, classes]), 1);
  });
}

interface ClassStatisticsOptions {
  features: (inputs: tf.Tensor) => tf.Tensor2D;
  statistics: Dataset;
  classes: number;
  shrinkage: number;
  batchSize: number;
}

/**
 * Class means and the inverse of the shared (pooled, maximum-likelihood) covariance of the
 * features, in one pass: per-class sums and the second moment accumulate in tfjs batch by
 * batch; only the d×d covariance comes back to JavaScript, to be inverted once in float64
 * (tfjs has no matrix inverse). The float32 cancellation in E[ffᵀ] − μμᵀ is orders of
 * magnitude below the ridge that shrinkage adds.
 */
async function classStatistics({ features, statistics, classes, shrinkage, batchSize }: ClassStatisticsOptions): Promise<{
  means: tf.Tensor2D;
  precision: tf.Tensor2D;
  dimension: number;
}> {
  const counts = new Array<number>(classes).fill(0);
  statistics.labels.forEach((label) => (counts[label] += 1));
  const missing = counts.flatMap((c, k) => (c === 0 ? [k] : []));
  if (missing.length) throw new Error(`mahalanobis: no statistics examples of class ${missing.join(', ')}`);

  // Per-class feature sums and the second moment, summed over the batches.
  let totals: [tf.Tensor2D, tf.Tensor2D] | undefined;
  for (const { indices } of sequentialBatches(statistics, batchSize)) {
    const { x, y } = makeBatch(statistics, indices);
    const batchTotals = tf.tidy((): [tf.Tensor2D, tf.Tensor2D] => {
      const f = features(x);
      return [tf.matMul(tf.cast(tf.oneHot(y, classes), 'float32'), f, true, false), tf.matMul(f, f, true, false)];
    });
    tf.dispose([x, y]);
    const previous = totals;
    totals =
      previous === undefined
        ? batchTotals
        : tf.tidy((): [tf.Tensor2D, tf.Tensor2D] => [tf.add(previous[0], batchTotals[0]), tf.add(previous[1], batchTotals[1])]);
    if (previous !== undefined) tf.dispose([...previous, ...batchTotals]);
  }
  if (totals === undefined) throw new Error('mahalanobis: no statistics examples');
  const [sums, moments] = totals;
  const n = statistics.size;
  const [means, covariance] = tf.tidy((): tf.Tensor2D[] => {
    const m = tf.div<tf.Tensor2D>(sums, tf.tensor2d(counts, [classes, 1]));
    // Pooled within-class covariance: E[ffᵀ] − Σ_c (n_c/n) μ_c μ_cᵀ.
    const between = tf.matMul(
      tf.mul(
        m,
        tf.tensor2d(
          counts.map((c) => c / n),
          [classes, 1],
        ),
      ),
      m,
      true,
      false,
    );
    return [m, tf.sub(tf.div(moments, n), between)];
  });
  tf.dispose([sums, moments]);
  const dimension = covariance.shape[0];
  const values = Float64Array.from(await readAndDispose(covariance));
  let trace = 0;
  for (let i = 0; i < dimension; i += 1) trace += values[i * dimension + i];
  const ridge = Math.max((shrinkage * trace) / dimension, 1e-6);
  for (let i = 0; i < dimension; i += 1) values[i * dimension + i] += ridge;
  const precision = tf.tensor2d(Float32Array.from(invertSymmetricPositiveDefinite(values, dimension)), [dimension, dimension]);
  return { means, precision, dimension };
}

/** A⁻¹ for a symmetric positive definite d×d A (row-major, float64) via Cholesky A = LLᵀ, A⁻¹ = L⁻ᵀL⁻¹. */
export function invertSymmetricPositiveDefinite(a: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i += 1) {
    for (let j = 0; j <= i; j += 1) {
      let sum = a[i * d + j];
      for (let k = 0; k < j; k += 1) sum -= l[i * d + k] * l[j * d + k];
      if (i === j) {
        if (!(sum > 0)) throw new Error('mahalanobis: the feature covariance is not positive definite (raise shrinkage)');
        l[i * d + i] = Math.sqrt(sum);
      } else {
        l[i * d + j] = sum / l[j * d + j];
      }
    }
  }
  // L⁻¹, lower triangular, by forward substitution column by column.
  const inverse = new Float64Array(d * d);
  for (let j = 0; j < d; j += 1) {
    inverse[j * d + j] = 1 / l[j * d + j];
    for (let i = j + 1; i < d; i += 1) {
      let sum = 0;
      for (let k = j; k < i; k += 1) sum -= l[i * d + k] * inverse[k * d + j];
      inverse[i * d + j] = sum / l[i * d + i];
    }
  }
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i += 1) {
    for (let j = 0; j <= i; j += 1) {
      let sum = 0;
      for (let k = i; k < d; k += 1) sum += inverse[k * d + i] * inverse[k * d + j];
      out[i * d + j] = sum;
      out[j * d + i] = sum;
    }
  }
  return out;
}
