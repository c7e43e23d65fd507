// What this API serves, read once from its public OpenAPI document: the page offers a model
// export or uploaded datasets only where the API it talks to has those routes.
let paths;

export async function apiPaths() {
  paths ??= fetch('/docs/openapi.json')
    .then((res) => (res.ok ? res.json() : { paths: {} }))
    .then((doc) => new Set(Object.keys(doc.paths ?? {})))
    .catch(() => new Set());
  return paths;
}

export const MODEL_EXPORT_PATH = '/runs/{id}/checkpoints/{checkpointId}/model.json';
export const MODEL_ARCHIVE_PATH = '/runs/{id}/checkpoints/{checkpointId}/model.tar.gz';
export const DATASETS_PATH = '/datasets';
