/**
 * The fault detectors. Passive ones judge the outcomes of real calls (`consecutiveFailures`,
 * `outlierDetection`, `latencyOutlier`); active ones probe or read each endpoint on a timer
 * (`heartbeat`, `metricThresholds`) or judge the heartbeats those produce (`phiAccrual`).
 */
export { consecutiveFailures } from './consecutive-failures.js';
export type { ConsecutiveFailuresOptions } from './consecutive-failures.js';
export { outlierDetection } from './outlier-detection.js';
export type {
  FailurePercentageOptions,
  OutlierDetectionOptions,
  SuccessRateOptions,
} from './outlier-detection.js';
export { latencyOutlier } from './latency-outlier.js';
export type { LatencyOutlierOptions } from './latency-outlier.js';
export { defaultEndEjections, heartbeat } from './heartbeat.js';
export type { HeartbeatOptions, HeartbeatProbe, ProbeContext } from './heartbeat.js';
export { phiAccrual, phi } from './phi-accrual.js';
export type { PhiAccrualOptions } from './phi-accrual.js';
export { metricThresholds } from './metric-thresholds.js';
export type {
  MetricReader,
  MetricThreshold,
  MetricThresholdsOptions,
} from './metric-thresholds.js';
