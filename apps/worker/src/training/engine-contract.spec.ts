import {
  DATASET_INPUT_SHAPES,
  DATASET_NAMES as CONTRACT_DATASETS,
  DEFAULT_MAHALANOBIS_SHRINKAGE,
  DEFAULT_SQUEEZERS,
  MODEL_NAMES as CONTRACT_MODELS,
} from '@bulwark/queue';
import { DATASET_NAMES as ENGINE_DATASETS, loadMnistDigits } from '@bulwark/data';
import { DEFAULT_SHRINKAGE, defaultSqueezers } from '@bulwark/defenses';
import { MODEL_NAMES as ENGINE_MODELS } from '@bulwark/models';

/** The API accepts what @bulwark/queue lists; the worker must be able to execute every one of them. */
describe('job contract vs compute engine', () => {
  it('a run may ask for exactly the models of the zoo', () => {
    expect([...ENGINE_MODELS].sort()).toEqual([...CONTRACT_MODELS].sort());
  });

  it('a run may ask for exactly the datasets the engine loads', () => {
    expect([...ENGINE_DATASETS].sort()).toEqual([...CONTRACT_DATASETS].sort());
  });

  it('the detector defaults the API stores are the engine\'s own, and MNIST inputs have the shape the API checks', () => {
    expect(DEFAULT_SQUEEZERS).toEqual(defaultSqueezers().map((s) => s.spec));
    expect(DEFAULT_MAHALANOBIS_SHRINKAGE).toBe(DEFAULT_SHRINKAGE);
    expect(DATASET_INPUT_SHAPES.mnist).toEqual(loadMnistDigits().shape);
  });
});
