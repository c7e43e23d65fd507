/** Largest |a − b| over the largest |a|: the error relative to the tensor's scale. */
export function relativeError(expected: number[], actual: number[]): number {
  let diff = 0;
  let scale = 0;
  expected.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(v - actual[i]));
    scale = Math.max(scale, Math.abs(v));
  });
  return diff / (scale || 1);
}

/** Whether an optional package (here `webgpu`, Dawn for Node) is installed: the webgpu specs skip, saying so, where it is not. */
export function installed(id: string): boolean {
  try {
    require.resolve(id);
    return true;
  } catch {
    return false;
  }
}
