import { DATASET_NAMES as CONTRACT_DATASETS, MODEL_NAMES as CONTRACT_MODELS } from '@bulwark/jobs';
import { DATASET_NAMES as ENGINE_DATASETS, MODEL_NAMES as ENGINE_MODELS } from '@bulwark/training';

/** The API accepts what @bulwark/jobs lists; the worker must be able to execute every one of them. */
describe('job contract vs compute engine', () => {
  it('a run may ask for exactly the models of the zoo', () => {
    expect([...ENGINE_MODELS].sort()).toEqual([...CONTRACT_MODELS].sort());
  });

  it('a run may ask for exactly the datasets the engine loads', () => {
    expect([...ENGINE_DATASETS].sort()).toEqual([...CONTRACT_DATASETS].sort());
  });
});
