import { DataSource, In } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import type { EvaluationView } from '@bulwark/spec';
import { AdversarialExample } from './entities/adversarial-example.entity';
import { RobustnessResult } from './entities/robustness-result.entity';

export type RobustnessRow = Pick<RobustnessResult, 'attack' | 'n' | 'cleanCorrect' | 'robustCorrect' | 'seconds' | 'details'>;
export type GalleryExample = Omit<AdversarialExample, 'id' | 'runId' | 'view' | 'epsilon' | 'run'>;
export type AdversarialExampleWithPixels = AdversarialExample & { clean: Buffer; adversarial: Buffer };

/**
 * What an evaluation run measured: its robustness curve, keyed (run, view, ε, attack), and its
 * gallery of adversarial examples. A plain class over a DataSource, like RunRepository.
 */
export class EvaluationResultRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** One ε of a robustness curve: rows upserted and the gallery rewritten as a whole, so a re-delivered job never duplicates them. */
  async saveRobustnessPoint(runId: string, view: EvaluationView, epsilon: number, rows: RobustnessRow[], gallery: GalleryExample[]): Promise<void> {
    await this.dataSource.transaction(async (em) => {
      await em
        .createQueryBuilder()
        .insert()
        .into(RobustnessResult)
        // details is jsonb: TypeORM's deep-partial type does not model an open record.
        .values(rows.map((r) => ({ ...r, runId, view, epsilon, recordedAt: new Date() })) as QueryDeepPartialEntity<RobustnessResult>[])
        .orUpdate(['n', 'clean_correct', 'robust_correct', 'seconds', 'details', 'recorded_at'], ['run_id', 'view', 'epsilon', 'attack'])
        .execute();
      await em.delete(AdversarialExample, { runId, view, epsilon });
      if (gallery.length)
        await em.insert(
          AdversarialExample,
          gallery.map((g) => ({ ...g, runId, view, epsilon })),
        );
    });
  }

  /** One evaluation's rows, by ε then attack. */
  results(runId: string): Promise<RobustnessResult[]> {
    return this.dataSource.getRepository(RobustnessResult).find({ where: { runId }, order: { epsilon: 'ASC', attack: 'ASC' } });
  }

  /** The rows of several evaluations, in no particular order (curves sort them by ε). */
  async resultsOf(runIds: string[]): Promise<RobustnessResult[]> {
    return runIds.length ? this.dataSource.getRepository(RobustnessResult).findBy({ runId: In(runIds) }) : [];
  }

  /** One evaluation's gallery with its pixels, by ε then example. */
  gallery(runId: string): Promise<AdversarialExampleWithPixels[]> {
    return this.dataSource
      .getRepository(AdversarialExample)
      .createQueryBuilder('e')
      .addSelect(['e.clean', 'e.adversarial'])
      .where('e.run_id = :runId', { runId })
      .orderBy('e.epsilon', 'ASC')
      .addOrderBy('e.example_index', 'ASC')
      .getMany();
  }
}
