import { readFile } from 'node:fs/promises';
import { createEvaluationRequestSchema, createRunRequestSchema, datasetRefSchema, parseWithMessages } from '@bulwark/spec';
import { evaluationBody, type PlannedEvaluation, type PlannedTraining } from './plan';
import type { PlanEntries } from './report-schedule';

/**
 * A user's own plan (`report:robustness -- --plan FILE`): the same entries as plan.ts, as JSON,
 * checked whole before anything is submitted so a typo costs a message, not a queued run. The
 * bodies it will submit are checked with the API's own request schemas; what depends on the
 * deployment (epoch limits, whether a model takes the images) is still the API's to refuse.
 */

/** A plan file the report cannot run; the message names the file, the entry and the field of every problem. */
export class PlanFileError extends Error {}

type Json = Record<string, unknown>;

const TRAINING_FIELDS = ['id', 'dataset', 'defense', 'body', 'parent', 'rationale'];
const EVALUATION_FIELDS = ['id', 'source', 'defense', 'epsilons', 'extra', 'examples', 'rationale'];
const PARENT_FIELDS: Array<NonNullable<PlannedTraining['parent']>['field']> = ['teacherCheckpoint', 'fromCheckpoint'];
/**
 * POST /evaluations fields the plan sets itself, so `extra` may not: the suite is fixed because
 * the report names its rows after the standard suite (lighter attacks go in extra.params).
 */
const SET_BY_THE_PLAN: Record<string, string> = {
  runId: 'the source training run',
  epsilons: "the entry's epsilons",
  examples: "the entry's examples",
  suite: 'the standard suite, which the rows are named after (lighter attack settings go in extra.params)',
  attacks: 'the standard suite, which the rows are named after (lighter attack settings go in extra.params)',
};
/** Ids go into idempotency keys (at most 255 printable characters with the fingerprint) and the store's file names. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
/** Stands for the ids only known once the runs exist (a parent's checkpoint, an evaluation's source run) while a body is checked. */
const NOT_YET_KNOWN = '00000000-0000-4000-8000-000000000000';

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const quoted = (value: unknown) => JSON.stringify(value);

/** Reads and checks a plan file; throws a PlanFileError listing every problem. */
export async function loadPlanFile(path: string): Promise<PlanEntries> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PlanFileError(`${path}: cannot be read (${error instanceof Error ? error.message : String(error)})`);
  }
  return parsePlan(text, path);
}

/** The entries of a plan file's text; `file` names it in the messages. */
export function parsePlan(text: string, file: string): PlanEntries {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PlanFileError(`${file}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!isObject(json)) throw new PlanFileError(`${file}: must be a JSON object { "trainings": [...], "evaluations": [...] }`);
  const problems: string[] = [];
  for (const key of Object.keys(json)) {
    if (key !== 'trainings' && key !== 'evaluations') problems.push(`unknown field ${quoted(key)} (a plan has "trainings" and "evaluations")`);
  }
  const list = (key: 'trainings' | 'evaluations'): unknown[] => {
    const value = json[key];
    if (Array.isArray(value) && value.length) return value;
    problems.push(`${key}: must be a non-empty array of entries`);
    return Array.isArray(value) ? value : [];
  };
  const rawTrainings = list('trainings');
  const rawEvaluations = list('evaluations');

  const ids = [...rawTrainings, ...rawEvaluations].map((entry) => (isObject(entry) && typeof entry.id === 'string' ? entry.id : undefined));
  const trainingIds = new Set(ids.slice(0, rawTrainings.length).filter((id) => id !== undefined));
  const seen = new Set<string>();
  for (const id of ids) {
    if (id !== undefined && seen.has(id)) problems.push(`id ${quoted(id)} is used by more than one entry (trainings and evaluations share one namespace)`);
    if (id !== undefined) seen.add(id);
  }

  const trainings = rawTrainings.flatMap((entry, index) => {
    const training = checkTraining(entry, `trainings[${index}]`, trainingIds, problems);
    return training ? [training] : [];
  });
  const evaluations = rawEvaluations.flatMap((entry, index) => {
    const evaluation = checkEvaluation(entry, `evaluations[${index}]`, trainingIds, problems);
    return evaluation ? [evaluation] : [];
  });
  for (const id of parentCycle(trainings)) problems.push(`trainings: ${quoted(id)} builds on itself through its parents`);
  if (problems.length) throw new PlanFileError(`${file}: ${problems.length === 1 ? problems[0] : `${problems.length} problems\n  ${problems.join('\n  ')}`}`);
  return { trainings, evaluations };
}

/** `trainings[2] ("adv")`: where an entry is, and its id where it has one. */
function entryLabel(entry: Json, position: string): string {
  return typeof entry.id === 'string' ? `${position} (${quoted(entry.id)})` : position;
}

function checkCommon(entry: unknown, position: string, fields: string[], problems: string[]): { entry: Json; label: string } | undefined {
  if (!isObject(entry)) {
    problems.push(`${position}: must be an object`);
    return undefined;
  }
  const label = entryLabel(entry, position);
  for (const key of Object.keys(entry)) {
    if (!fields.includes(key)) problems.push(`${label}: unknown field ${quoted(key)} (known: ${fields.join(', ')})`);
  }
  if (typeof entry.id !== 'string' || !ID_PATTERN.test(entry.id)) {
    problems.push(`${label}: id must be a string of letters, digits, '.', '_' and '-' (at most 200, starting with a letter or digit)`);
  }
  for (const key of ['defense', 'rationale']) {
    if (entry[key] !== undefined && (typeof entry[key] !== 'string' || !entry[key].trim())) problems.push(`${label}: ${key} must be a non-empty string`);
  }
  return { entry, label };
}

function checkTraining(raw: unknown, position: string, trainingIds: Set<string>, problems: string[]): PlannedTraining | undefined {
  const checked = checkCommon(raw, position, TRAINING_FIELDS, problems);
  if (!checked) return undefined;
  const { entry, label } = checked;
  const before = problems.length;
  const dataset = datasetRefSchema.safeParse(entry.dataset);
  if (!dataset.success) {
    // The schema's message follows a field path, here empty: " must be one of …".
    problems.push(`${label}: dataset ${entry.dataset === undefined ? 'is required' : `${quoted(entry.dataset)} ${dataset.error.issues[0].message.trim()}`}`);
  }
  const { body, parent } = entry;
  if (body === undefined) problems.push(`${label}: body is required (the POST /runs body: kind, model, epochs …)`);
  else if (!isObject(body)) problems.push(`${label}: body must be an object (the POST /runs body)`);
  else if (body.dataset !== undefined && body.dataset !== entry.dataset) {
    problems.push(
      `${label}: body.dataset ${quoted(body.dataset)} differs from the entry's dataset ${quoted(entry.dataset)} (leave it out: the entry's is used)`,
    );
  }
  if (parent !== undefined) {
    if (!isObject(parent) || typeof parent.plan !== 'string' || !PARENT_FIELDS.includes(parent.field as (typeof PARENT_FIELDS)[number])) {
      problems.push(`${label}: parent must be { "plan": <training id>, "field": ${PARENT_FIELDS.map(quoted).join(' or ')} }`);
    } else {
      if (!trainingIds.has(parent.plan)) problems.push(`${label}: parent.plan ${quoted(parent.plan)} is not a training of the plan`);
      if (isObject(body) && body[parent.field as string] !== undefined) {
        problems.push(`${label}: body.${String(parent.field)} is set by parent (the newest checkpoint of ${quoted(parent.plan)}); leave it out`);
      }
    }
  }
  if (problems.length > before || !isObject(body) || !dataset.success || typeof entry.id !== 'string') return undefined;
  const training: PlannedTraining = {
    id: entry.id,
    dataset: dataset.data,
    ...(typeof entry.defense === 'string' && { defense: entry.defense }),
    body: { ...body, dataset: dataset.data },
    ...(isObject(parent) && { parent: parent as unknown as NonNullable<PlannedTraining['parent']> }),
    rationale: typeof entry.rationale === 'string' ? entry.rationale : '',
  };
  const submitted = parseWithMessages(createRunRequestSchema, { ...training.body, ...(training.parent && { [training.parent.field]: NOT_YET_KNOWN }) });
  if (!submitted.ok) {
    problems.push(...submitted.errors.map((error) => `${label}: body: ${error}`));
    return undefined;
  }
  return training;
}

function checkEvaluation(raw: unknown, position: string, trainingIds: Set<string>, problems: string[]): PlannedEvaluation | undefined {
  const checked = checkCommon(raw, position, EVALUATION_FIELDS, problems);
  if (!checked) return undefined;
  const { entry, label } = checked;
  const before = problems.length;
  const { source, defense, epsilons, extra, examples } = entry;
  if (typeof source !== 'string') problems.push(`${label}: source is required (the id of the training it evaluates)`);
  else if (!trainingIds.has(source)) problems.push(`${label}: source ${quoted(source)} is not a training of the plan`);
  if (defense === undefined) problems.push(`${label}: defense is required (the name its rows carry in the report)`);
  if (!Array.isArray(epsilons) || !epsilons.length) {
    problems.push(`${label}: epsilons must be a non-empty array of numbers`);
  } else {
    const bad = epsilons.filter((e) => typeof e !== 'number' || !Number.isFinite(e) || e <= 0);
    if (bad.length) problems.push(`${label}: epsilons must be numbers above 0, got ${bad.map(quoted).join(', ')}`);
    else if (new Set(epsilons).size !== epsilons.length) problems.push(`${label}: epsilons must not repeat a value`);
  }
  if (extra !== undefined && !isObject(extra)) problems.push(`${label}: extra must be an object (more POST /evaluations fields)`);
  if (isObject(extra)) {
    for (const key of Object.keys(extra).filter((k) => k in SET_BY_THE_PLAN))
      problems.push(`${label}: extra.${key} is set by the plan (${SET_BY_THE_PLAN[key]})`);
  }
  if (problems.length > before || typeof entry.id !== 'string' || typeof source !== 'string' || typeof defense !== 'string') return undefined;
  const evaluation: PlannedEvaluation = {
    id: entry.id,
    source,
    defense,
    epsilons: epsilons as number[],
    ...(isObject(extra) && { extra }),
    ...(examples !== undefined && { examples: examples as number }),
    rationale: typeof entry.rationale === 'string' ? entry.rationale : '',
  };
  const submitted = parseWithMessages(createEvaluationRequestSchema, evaluationBody(evaluation, NOT_YET_KNOWN));
  if (!submitted.ok) {
    problems.push(...submitted.errors.map((error) => `${label}: the POST /evaluations body it makes: ${error}`));
    return undefined;
  }
  return evaluation;
}

/** Trainings whose parents lead back to themselves (each named once). */
function parentCycle(trainings: PlannedTraining[]): string[] {
  const parentOf = new Map(trainings.map((t) => [t.id, t.parent?.plan]));
  return trainings
    .map((t) => t.id)
    .filter((id) => {
      const visited = new Set<string>();
      for (let at = parentOf.get(id); at !== undefined && !visited.has(at); at = parentOf.get(at)) {
        if (at === id) return true;
        visited.add(at);
      }
      return false;
    });
}
