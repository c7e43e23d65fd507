import type { LogitsModel } from '@bulwark/attacks';
import { evaluateRobustness } from './evaluate-robustness';
import { type EpsilonOutcome, type EvaluateRobustnessOptions, type RobustnessEvaluation } from './robustness-evaluation';
import { adaptiveView, naiveView, type AdaptiveViewOptions, type DefendedModel, type DefenseDescription } from '@bulwark/defenses';

export type DefenseView = 'naive' | 'adaptive';

export interface EvaluateDefenseOptions extends Omit<EvaluateRobustnessOptions, 'model' | 'onPoint' | 'onProgress'> {
  defended: DefendedModel;
  /** EOT settings of the adaptive view for random defenses (default 10 draws, seed 0). */
  eot?: AdaptiveViewOptions;
  onProgress?: (fraction: number) => void | Promise<void>;
  onPoint?: (view: DefenseView, point: EpsilonOutcome) => void | Promise<void>;
}

export interface DefenseEvaluation {
  description: DefenseDescription;
  /** The deployed model attacked as it is: what the defense appears to be worth. */
  naive: RobustnessEvaluation;
  /** Attacked through BPDA / EOT / the un-squashed logits: what it is worth. The naive result itself when nothing is hidden. */
  adaptive: RobustnessEvaluation;
  /** What the adaptive view did, stored next to its numbers. */
  adaptiveAttack: DefenseDescription['adaptive'] & { eotSettings: { samples: number; seed: number } | null; sameAsNaive: boolean };
}

/**
 * Naive and adaptive robustness of a preprocessing (or masking) defense side by side
 * (ARCHITECTURE.md), each with evaluateRobustness's validity flags: masking shows up as
 * flags on the naive run and as the gap between the two. A defense that hides nothing is
 * evaluated once.
 */
export async function evaluateDefense(options: EvaluateDefenseOptions): Promise<DefenseEvaluation> {
  const { defended, eot = {}, onProgress, onPoint, ...rest } = options;
  const { description } = defended;
  const run = async (view: DefenseView, model: LogitsModel, offset: number, share: number) =>
    evaluateRobustness({
      ...rest,
      model,
      onProgress: onProgress && ((fraction) => onProgress(offset + share * fraction)),
      onPoint: onPoint && ((point) => onPoint(view, point)),
    });
  const adaptiveAttack = describeAdaptiveAttack(description, eot);
  if (!description.needsAdaptiveEvaluation) {
    const naive = await run('naive', defenseView(defended, 'naive', eot), 0, 1);
    return { description, naive, adaptive: naive, adaptiveAttack };
  }
  const naive = await run('naive', defenseView(defended, 'naive', eot), 0, 0.5);
  // A stop request ends the job: the adaptive half is not started.
  if (naive.stopped) return { description, naive, adaptive: { n: naive.n, points: [], flags: [], stopped: true }, adaptiveAttack };
  const adaptive = await run('adaptive', defenseView(defended, 'adaptive', eot), 0.5, 0.5);
  return { description, naive, adaptive, adaptiveAttack };
}

/** The model one view attacks: the deployed model (naive), or its BPDA / EOT / logits view (adaptive). */
export function defenseView(defended: DefendedModel, view: DefenseView, eot: AdaptiveViewOptions = {}): LogitsModel {
  return view === 'naive' ? naiveView(defended) : adaptiveView(defended, { samples: eot.samples ?? 10, seed: eot.seed ?? 0 });
}

/** What the adaptive view does to a defense, stored next to its numbers. */
export function describeAdaptiveAttack(description: DefenseDescription, eot: AdaptiveViewOptions = {}): DefenseEvaluation['adaptiveAttack'] {
  return {
    ...description.adaptive,
    eotSettings: description.randomised ? { samples: eot.samples ?? 10, seed: eot.seed ?? 0 } : null,
    sameAsNaive: !description.needsAdaptiveEvaluation,
  };
}
