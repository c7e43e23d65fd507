import type { ResolvedAdversarialTraining } from './adversarial-training';
import { fgsmRsTraining } from './fgsm-rs-training';
import { fgsmTraining } from './fgsm-training';
import { freeTraining } from './free-training';
import { pgdTraining } from './pgd-training';
import { tradesTraining } from './trades-training';
import type { TrainingContext, TrainingMethod } from './training-method';

export function adversarialTrainingMethod(context: TrainingContext, settings: ResolvedAdversarialTraining): TrainingMethod {
  switch (settings.method) {
    case 'fgsm':
      return fgsmTraining(context, settings);
    case 'fgsm-rs':
      return fgsmRsTraining(context, settings);
    case 'pgd':
      return pgdTraining(context, settings);
    case 'trades':
      return tradesTraining(context, settings);
    case 'free':
      return freeTraining(context, settings);
  }
}
