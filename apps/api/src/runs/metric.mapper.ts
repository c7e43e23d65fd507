import type { Metric } from '@bulwark/database';
import type { MetricResponse, RunMetricsResponse } from './metric.response';

export function toMetricResponse(metric: Metric): MetricResponse {
  return { runId: metric.runId, key: metric.key, step: metric.step, value: metric.value, recordedAt: metric.recordedAt };
}

export function toRunMetricsResponse(runId: string, metrics: Metric[]): RunMetricsResponse {
  return { runId, items: metrics.map(toMetricResponse) };
}
