import { MODEL_NAMES as CONTRACT_MODELS } from '@bulwark/jobs';
import { MODEL_NAMES as ENGINE_MODELS } from '@bulwark/training';

/** The API accepts what @bulwark/jobs lists; the worker must be able to build every one of them. */
describe('job contract vs compute engine', () => {
  it('every model a run may ask for exists in the model zoo', () => {
    expect(ENGINE_MODELS).toEqual(expect.arrayContaining([...CONTRACT_MODELS]));
  });
});
